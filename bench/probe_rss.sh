#!/usr/bin/env bash
# Out of core (issue 9, "Must show"): a probe fitted on a capture at least 3x larger than its --memory budget,
# with peak RSS measured, and the same result as the in-memory fit. Exits non-zero when any condition fails.
#
#   bench/probe_rss.sh [BUILD_DIR] [BUDGET]        defaults: build, 48M
#
# 1. Captures the real babyllama-tok105 model (../shared; d_mlp 352) over the TinyStories sample in windows of
#    256 tokens, hook blocks.3.mlp.hook_post with the in_quotes rule label.
# 2. Fits the same logistic probe in memory (--memory 8G) and streamed (--memory BUDGET); scores the capture
#    with `probe apply` under both budgets (apply always reads in chunks, of at most 64 MiB). Each run's peak
#    RSS comes from /usr/bin/time -v.
# 3. FAILS unless: the example matrix (the activations an in-memory fit holds once) is >= 3x BUDGET; the
#    budgeted runs streamed; their peak RSS minus the process baseline is <= BUDGET; test accuracy and
#    confusion are equal; coefficients and scores differ by <= 1e-4 relative to their largest magnitude.
#
# What the budget covers (docs/probes.md, "Out of core"): everything a fit holds that grows with the data.
# The process baseline -- the binary, its libraries, HDF5 and one open capture, no examples -- is measured
# separately (a run that reads the capture's summary and stops) and reported beside the totals.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
budget=${2:-48M}
resid=$build/cli/resid
shared=../shared
model=$shared/models/babyllama-tok105/tok105_model5000.bin
data=$shared/data/tinystories/tinystories_sample.txt
hook=blocks.3.mlp.hook_post
[ -x "$resid" ] || { echo "FAIL: no $resid (build first)"; exit 1; }
[ -f "$model" ] && [ -f "$data" ] || { echo "FAIL: needs $model and $data"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$resid" capture "$model" "$data" --tokenizer "$shared/models/babyllama-tok105/tok105.model" --kind windows \
  --max-tokens 256 --rule in_quotes --hooks "$hook" -o "$tmp/acts.h5" 2>&1 | tail -n 1

fit=(probe fit "$tmp/acts.h5" --hook "$hook" --label in_quotes --lambda 1e-3 --no-control --tol 1e-6 --json)
apply=(probe apply "$tmp/probe_mem.safetensors" "$tmp/acts.h5" --json)
timed() {  # NAME ARGS...: runs resid under /usr/bin/time -v; stdout to NAME.json
  local name=$1
  shift
  /usr/bin/time -v "$resid" "$@" >"$tmp/$name.json" 2>"$tmp/$name.time"
}
timed fit_mem "${fit[@]}" --memory 8G -o "$tmp/probe_mem.safetensors"
timed fit_stream "${fit[@]}" --memory "$budget" -o "$tmp/probe_stream.safetensors"
timed apply_mem "${apply[@]}" --memory 8G --scores "$tmp/scores_mem.npy"
timed apply_stream "${apply[@]}" --memory "$budget" --scores "$tmp/scores_stream.npy"
# Baseline: the same binary opening the capture and reading its summary, then stopping (unknown label).
/usr/bin/time -v "$resid" probe fit "$tmp/acts.h5" --hook "$hook" --label no-such-label >/dev/null \
  2>"$tmp/base.time" || true

/usr/bin/python3 - "$tmp" "$budget" "$(stat -c %s "$tmp/acts.h5")" <<'PY'
import json, re, struct, sys
import numpy as np

tmp, budget_text, file_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
units = {"K": 2**10, "M": 2**20, "G": 2**30}
budget = int(float(budget_text[:-1]) * units[budget_text[-1].upper()]) if budget_text[-1].upper() in units \
    else int(budget_text)
MiB = 2**20


def peak(name):  # bytes
    text = open(f"{tmp}/{name}.time").read()
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) * 1024


def seconds(name):
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)",
                  open(f"{tmp}/{name}.time").read())
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def weight(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    e = json.loads(b[8:8 + n])["weight"]
    lo, hi = e["data_offsets"]
    return np.frombuffer(b[8 + n + lo:8 + n + hi], dtype=np.float32).reshape(e["shape"]).astype(np.float64)


mem, stream = (json.load(open(f"{tmp}/{n}.json")) for n in ("fit_mem", "fit_stream"))
amem, astream = (json.load(open(f"{tmp}/{n}.json")) for n in ("apply_mem", "apply_stream"))
base = peak("base")
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


n, d = mem["n_examples"], mem["d"]
matrix = n * d * 4
print(f"capture: {file_bytes / MiB:.1f} MiB file; {n} examples x d {d} = {matrix / MiB:.1f} MiB of float32 "
      f"activations used; budget --memory {budget_text} = {budget / MiB:.1f} MiB; process baseline "
      f"{base / MiB:.1f} MiB")
check(matrix >= 3 * budget, f"example matrix {matrix / MiB:.1f} MiB >= 3 x budget ({matrix / budget:.2f}x)")
check(not mem["streamed"] and stream["streamed"], "in-memory fit held the examples; budgeted fit streamed")
for name, label in (("fit_mem", "fit, in memory"), ("fit_stream", f"fit, --memory {budget_text}"),
                    ("apply_mem", "apply, --memory 8G"), ("apply_stream", f"apply, --memory {budget_text}")):
    print(f"      {label:24s} peak RSS {peak(name) / MiB:7.1f} MiB ({(peak(name) - base) / MiB:7.1f} MiB above "
          f"baseline), {seconds(name):6.1f} s wall")
for name in ("fit_stream", "apply_stream"):
    above = peak(name) - base
    check(above <= budget, f"{name}: peak RSS {peak(name) / MiB:.1f} MiB - baseline {base / MiB:.1f} MiB = "
          f"{above / MiB:.1f} MiB <= budget {budget / MiB:.1f} MiB")
    print(f"      {name}: the whole process, baseline included, peaked at {peak(name) / MiB:.1f} MiB: "
          f"{'within' if peak(name) <= budget else 'above'} the budget itself (not required)")
conv = stream["convergence"]
for label, c in (("in-memory", mem["convergence"]), ("streamed", conv)):
    print(f"      {label} L-BFGS: {c['iterations']} iterations ({c['float64_iterations']} in float64), "
          f"{c['evaluations']} passes over the examples, converged {c['converged']} ({c['stop_reason']})")
check(mem["convergence"]["converged"] and conv["converged"], "both fits converged")
ta, tb = mem["metrics"]["test"], stream["metrics"]["test"]
check(ta["accuracy"] == tb["accuracy"] and ta["confusion"] == tb["confusion"],
      f"test accuracy {ta['accuracy']:.6f} (in memory) == {tb['accuracy']:.6f} (streamed), same confusion")
wa, wb = weight(f"{tmp}/probe_mem.safetensors"), weight(f"{tmp}/probe_stream.safetensors")
rel = np.abs(wa - wb).max() / np.abs(wa).max()
check(rel <= 1e-4, f"coefficients: max |w_mem - w_stream| / max |w_mem| = {rel:.2e} <= 1e-4")
check(astream["chunks"] > 1,
      f"apply read the capture in {astream['chunks']} chunks of <= {astream['chunk_bytes'] / MiB:.1f} MiB "
      f"under the budget ({amem['chunks']} of <= {amem['chunk_bytes'] / MiB:.1f} MiB under 8G)")
sa, sb = np.load(f"{tmp}/scores_mem.npy"), np.load(f"{tmp}/scores_stream.npy")
srel = np.abs(sa - sb).max() / np.abs(sa).max()
check(sa.shape == sb.shape and srel <= 1e-4, f"apply scores: max relative difference {srel:.2e} <= 1e-4")
print("PASS" if not failures else f"FAIL: {len(failures)} condition(s)")
sys.exit(1 if failures else 0)
PY
