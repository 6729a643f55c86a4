#!/usr/bin/env python3
"""resid probes vs scikit-learn on the same data, side by side, one run (needs python3-sklearn).

usage: bench_probes.py BUILD_DIR [--quick]

1. Logistic regression, 50,000 x 768 float32, 10 classes, fixed lambda: resid (bench_probes) vs
   LogisticRegression(solver="lbfgs", C = 1/(n lambda)) with 2 BLAS threads, on the same standardised data
   (both times include standardising the raw matrix). Prints both times, the ratio, train accuracy of both, the
   max relative coefficient difference, and how far each result lies from the optimum (a resid fit to
   --tol 1e-9); then resid at --tol 1e-2, the quick setting.
2. Ridge: statistics, one eigendecomposition and a 20-value lambda path, 50,000 x 768.
3. A 12-hook sweep (12 x 20,000 x 768, binary): resid with threads inside each fit and with 2 hooks at once,
   vs 12 sequential sklearn fits.
resid's time in 1 is the faster of two runs, in 3 the faster of its two ways of running; scikit-learn's the
faster of a run with numpy's huge-page advice on and one with it off (see sklearn_fastest). scikit-learn is an
anchor only on a fast BLAS: install libopenblas0-pthread (the BLAS in use is printed). With Debian's reference
BLAS alone, the same sklearn fits ran 5x slower (20.4 s instead of 3.8 s for item 1).
Both sides start from arrays written in user space: numpy's are, and bench_probes copies each .npy through a small
buffer (on a Zen 5 guest the first touch of pages the kernel filled during read() cost 4.5 us a page, which would
have landed in resid's clock alone; docs/probes.md, *Speed*).
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

build = sys.argv[1]
quick = "--quick" in sys.argv
exe = os.path.join(build, "bench", "bench_probes")
n, d, k = (10000, 256, 10) if quick else (50000, 768, 10)
lam = 1e-4


def data(n, d, k, seed):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((k, d)).astype(np.float32) * 0.08
    y = rng.integers(0, k, n)
    x = rng.standard_normal((n, d)).astype(np.float32) * (1 + np.arange(d) % 3) + centres[y] * (1 + np.arange(d) % 3)
    x += (np.arange(d) % 7).astype(np.float32)  # offsets the standardiser removes
    return x.astype(np.float32), y


def from_optimum(w, ref):
    """||W - W*|| / ||W*||: how far coefficients w lie from the reference optimum ref."""
    return np.linalg.norm(w.astype(np.float64) - ref) / np.linalg.norm(ref)


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ours(*args, runs=1):
    """Runs bench_probes (the fastest of `runs`); adds the process's CPU seconds (user + sys, reading the .npy
    files included)."""
    best = None
    for _ in range(runs):
        c0 = child_cpu()
        out = json.loads(subprocess.run([exe, *map(str, args)], check=True, capture_output=True, text=True).stdout)
        out["cpu_seconds"] = child_cpu() - c0
        if best is None or out["seconds"] < best["seconds"]:
            best = out
    return best


def sklearn_fastest(fit):
    """Times fit() twice, with numpy's huge-page advice on and off, and returns the faster (seconds, CPU
    seconds, result, mode). numpy asks for transparent huge pages on its large arrays; on a long-running VM
    (THP defrag = madvise) each such page fault may compact memory, and the same 10-class fit took 3.3 s one
    hour and 10-11.5 s the next, 9.7 s of it system time. The anchor is scikit-learn at its best."""
    # A private numpy function (numpy/core in 1.x, numpy/_core in 2.x); without it, one run as numpy stands.
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    set_huge = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    best = None
    for huge in (True, False) if set_huge else (None,):
        previous = set_huge(huge) if set_huge else None
        t0, c0 = time.perf_counter(), time.process_time()
        result = fit()
        run = (time.perf_counter() - t0, time.process_time() - c0, result,
               "numpy's default pages" if huge is None else "huge pages" if huge else "no huge pages")
        if set_huge:
            set_huge(previous)
        # Keep only the faster result: at most one finished run's arrays are held while the next one runs.
        if best is None or run[0] < best[0]:
            best = run
        del result, run
    return best


with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=2):
    print(f"machine: {os.cpu_count()} cores, shared with other jobs (load {os.getloadavg()[0]:.1f})")
    # The anchor is only as fast as numpy's BLAS: Debian's reference BLAS (libblas3 alone) runs sklearn several
    # times slower than OpenBLAS (libopenblas0-pthread), and the ratios printed below with it.
    from threadpoolctl import threadpool_info
    blas = [f"{i.get('internal_api')} ({i.get('filepath')}, {i.get('num_threads')} threads)"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    print("numpy/scikit-learn BLAS:", ", ".join(blas) or "not reported (reference BLAS?)")
    x, y = data(n, d, k, 0)
    np.save(f"{tmp}/x.npy", x)
    np.save(f"{tmp}/y.npy", y.astype(np.float32))
    r = ours("logistic", tmp, lam, runs=2)
    ours_w = np.load(f"{tmp}/ours_coef.npy")

    # Both times include standardising the raw matrix (resid's own standardiser; StandardScaler here), as in 3.
    def sklearn_logistic():
        xs = StandardScaler().fit_transform(x.astype(np.float64))
        return xs, LogisticRegression(solver="lbfgs", C=1 / (n * lam), max_iter=1000).fit(xs, y)

    t_sk, c_sk, (xs, m), sk_mode = sklearn_fastest(sklearn_logistic)
    # How far each result is from the optimum: a reference fit run to --tol 1e-9 (float64 passes at the end).
    loose = ours("logistic", tmp, lam, 1e-2, runs=2)
    loose_w = np.load(f"{tmp}/ours_coef.npy")
    ours("logistic", tmp, lam, 1e-9)
    ref = np.load(f"{tmp}/ours_coef.npy").astype(np.float64)

    rel = np.abs(ours_w - m.coef_).max() / np.abs(m.coef_).max()
    print(f"\n1. logistic {n} x {d}, {k} classes, lambda {lam} (C = {1 / (n * lam):g})")
    print(f"   resid   {r['seconds']:7.2f} s (process CPU {r['cpu_seconds']:.2f} s)  {r['iterations']} iterations ({r['evaluations']} passes), "
          f"converged {r['converged']}, train accuracy {r['train_accuracy']:.4f}, {from_optimum(ours_w, ref):.1e} from the optimum")
    print(f"   sklearn {t_sk:7.2f} s (CPU {c_sk:.2f} s, {sk_mode})  {int(np.max(m.n_iter_))} iterations, train accuracy {m.score(xs, y):.4f}, "
          f"{from_optimum(m.coef_, ref):.1e} from the optimum")
    print(f"   ratio sklearn/resid wall {t_sk / r['seconds']:.1f}x, CPU {c_sk / r['cpu_seconds']:.1f}x; max relative coefficient difference {rel:.2e}")
    print(f"   resid --tol 1e-2 {loose['seconds']:.2f} s ({loose['evaluations']} passes), train accuracy {loose['train_accuracy']:.4f}, "
          f"{from_optimum(loose_w, ref):.1e} from the optimum: ratio {t_sk / loose['seconds']:.1f}x")
    print("   (distance from the optimum: ||W - W*|| / ||W*||, W* from resid at --tol 1e-9)")

    t = (x[:, :20] @ np.linspace(-1, 1, 20).astype(np.float32) + np.random.default_rng(1).standard_normal(n)).astype(np.float32)
    np.save(f"{tmp}/t.npy", t)
    r = ours("ridge", tmp)
    print(f"\n2. ridge {n} x {d}: standardise {r['standardise_seconds']:.3f} s, statistics {r['gram_seconds']:.3f} s, "
          f"eigendecomposition {r['eigen_seconds']:.3f} s, 20-lambda path {r['path20_seconds']:.4f} s; "
          f"total {r['total_seconds']:.3f} s")

    hooks, nh = 12, (5000 if quick else 20000)
    for h in range(hooks):
        xh, yh = data(nh, d, 2, 100 + h)
        np.save(f"{tmp}/x{h}.npy", xh)
        np.save(f"{tmp}/y{h}.npy", yh.astype(np.float32))
    del x, xs
    r1 = ours("sweep", tmp, hooks, 1, lam)
    r2 = ours("sweep", tmp, hooks, 2, lam)
    loose = min(ours("sweep", tmp, hooks, 1, lam, 1e-2), ours("sweep", tmp, hooks, 2, lam, 1e-2),
                key=lambda r: r["seconds"])
    # Read before the clock starts, as bench_probes reads its arrays before timing.
    sweep_x = [np.load(f"{tmp}/x{h}.npy") for h in range(hooks)]
    sweep_y = [np.load(f"{tmp}/y{h}.npy") for h in range(hooks)]

    def sklearn_sweep():
        coefs = []
        for xh, yh in zip(sweep_x, sweep_y):
            xs = StandardScaler().fit_transform(xh.astype(np.float64))
            coefs.append(LogisticRegression(solver="lbfgs", C=1 / (nh * lam), max_iter=1000).fit(xs, yh).coef_)
        return coefs

    t_sk, c_sk, sk_coef, sk_mode = sklearn_fastest(sklearn_sweep)
    best_run = min(r1, r2, key=lambda r: r["seconds"])
    best = best_run["seconds"]
    # Distance from the optimum on hook 0, as in 1.
    os.makedirs(f"{tmp}/h0", exist_ok=True)
    os.replace(f"{tmp}/x0.npy", f"{tmp}/h0/x.npy")
    os.replace(f"{tmp}/y0.npy", f"{tmp}/h0/y.npy")
    coef_at_tol = {}
    for tol in (1e-4, 1e-2, 1e-9):
        ours("logistic", f"{tmp}/h0", lam, tol)
        coef_at_tol[tol] = np.load(f"{tmp}/h0/ours_coef.npy").astype(np.float64)
    ref = coef_at_tol.pop(1e-9)

    print(f"\n3. sweep, {hooks} hooks x {nh} x {d}, binary: resid threads-inside {r1['seconds']:.2f} s "
          f"(process CPU {r1['cpu_seconds']:.2f} s), 2 hooks at once {r2['seconds']:.2f} s (process CPU "
          f"{r2['cpu_seconds']:.2f} s); sklearn sequential "
          f"{t_sk:.2f} s (CPU {c_sk:.2f} s, {sk_mode}; scaling included); ratio wall {t_sk / best:.1f}x, "
          f"CPU {c_sk / best_run['cpu_seconds']:.1f}x (faster resid run)")
    print(f"   resid --tol 1e-2 {loose['seconds']:.2f} s ({loose['jobs']} hooks at once): ratio {t_sk / loose['seconds']:.1f}x")
    print(f"   hook 0 from the optimum: resid {from_optimum(coef_at_tol[1e-4], ref):.1e} (--tol 1e-2: {from_optimum(coef_at_tol[1e-2], ref):.1e}), "
          f"sklearn {from_optimum(sk_coef[0], ref):.1e}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
