#!/usr/bin/python3
"""Training throughput of the same MLPs in PyTorch (CPU), for comparison with bench_train, run side by side.

One step is what bench_train times: forward, cross-entropy, backward and an Adam update (lr 0.01) over a
mini-batch of random inputs, 16 distinct batches cycled. Shapes 2-64-64-3 (batch 32) and 784-500-10 (batch 64).
The fastest of R rounds counts, in wall time and in CPU time, like bench_train.

    bench/bench_train_torch.py BUILD_DIR [--steps N] [--rounds R] [--threads T]

With BUILD_DIR it runs BUILD_DIR/bench/bench_train and this script's PyTorch loop in interleaved rounds and
prints the ratio resid / PyTorch per shape. PyTorch needs Debian's python3-torch; its BLAS must be OpenBLAS
(libopenblas0-pthread): with Debian's reference BLAS it is no anchor (torch.__config__.show() is printed).
"""
import argparse
import re
import subprocess
import sys
import time

SHAPES = [([2, 64, 64, 3], 32), ([784, 500, 10], 64)]


def torch_rate(torch, widths, batch, steps, rounds):
    torch.manual_seed(1)
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    xs = [torch.randn(batch, widths[0]) for _ in range(16)]
    ys = [torch.randint(0, widths[-1], (batch,)) for _ in range(16)]
    loss_fn = torch.nn.CrossEntropyLoss()
    best_wall = best_cpu = float("inf")
    for _ in range(rounds):
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        w0, c0 = time.perf_counter(), time.process_time()
        for s in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[s % 16]), ys[s % 16])
            loss.backward()
            opt.step()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return steps * batch / best_wall, steps * batch / best_cpu


def resid_rate(build, widths, batch, steps, rounds, threads):
    shape = "-".join(map(str, widths)) + ":" + str(batch)
    out = subprocess.run([build + "/bench/bench_train", "--steps", str(steps), "--rounds", str(rounds),
                          "--threads", str(threads), "--shapes", shape],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"([0-9.]+) examples/s \(wall\)\s+([0-9.]+) examples/s \(cpu\)", out)
    return float(m.group(1)), float(m.group(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?", help="resid build directory (omit to time PyTorch alone)")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("bench_train_torch: PyTorch is missing (apt-get install python3-torch libopenblas0-pthread)")
        return 0
    torch.set_num_threads(args.threads)
    info = re.search(r"BLAS_INFO=([^,]*)", torch.__config__.show())
    blas = info.group(1) if info else "not reported"
    if blas == "generic":  # Debian's torch: libblas.so.3, whichever implementation the alternatives select
        import os
        blas += " -> " + os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    print("PyTorch", torch.__version__, "| BLAS", blas, "| threads", args.threads)
    for widths, batch in SHAPES:
        name = "-".join(map(str, widths))
        t_wall, t_cpu = torch_rate(torch, widths, batch, args.steps, args.rounds)
        line = f"{name:<12} batch {batch:3d}  PyTorch {t_wall:9.0f} ex/s wall {t_cpu:9.0f} ex/s cpu"
        if args.build:
            r_wall, r_cpu = resid_rate(args.build, widths, batch, args.steps, args.rounds, args.threads)
            # A second PyTorch measurement after resid's, so both saw the same machine.
            t_wall2, t_cpu2 = torch_rate(torch, widths, batch, args.steps, args.rounds)
            t_wall, t_cpu = max(t_wall, t_wall2), max(t_cpu, t_cpu2)
            line = (f"{name:<12} batch {batch:3d}  resid {r_wall:9.0f} ex/s  PyTorch {t_wall:9.0f} ex/s  "
                    f"ratio {r_wall / t_wall:5.2f}x wall  ({r_cpu / t_cpu:5.2f}x per CPU second)")
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
