#!/usr/bin/env bash
# Out-of-core probes: fits the same probe on one hook of a capture in memory and streamed under a --memory
# budget, measures each run's peak RSS (/usr/bin/time -v), and compares the saved coefficients.
# usage: bench/probe_rss.sh RESID ACTS.h5 HOOK LABEL BUDGET (e.g. 16M)
set -euo pipefail
resid=$1 acts=$2 hook=$3 label=$4 budget=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(probe fit "$acts" --hook "$hook" --label "$label" --lambda 1e-3 --no-control --tol 1e-6 --json)
peak() { grep "Maximum resident set size" "$1" | awk '{print $NF}'; }
/usr/bin/time -v "$resid" "${common[@]}" --memory 4G -o "$tmp/mem.safetensors" >"$tmp/mem.json" 2>"$tmp/mem.time"
/usr/bin/time -v "$resid" "${common[@]}" --memory "$budget" -o "$tmp/stream.safetensors" >"$tmp/stream.json" 2>"$tmp/stream.time"
# Baseline: the same binary reading the capture's summary only (libraries, HDF5), no examples.
/usr/bin/time -v "$resid" probe fit "$acts" --hook "$hook" --label no-such-label >/dev/null 2>"$tmp/base.time" || true
/usr/bin/python3 - "$tmp" "$(peak "$tmp/mem.time")" "$(peak "$tmp/stream.time")" "$(peak "$tmp/base.time")" "$budget" <<'PY'
import json, struct, sys
import numpy as np
tmp, mem_kb, stream_kb, base_kb, budget = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
def weight(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    e = h["weight"]
    lo, hi = e["data_offsets"]
    return np.frombuffer(b[8 + n + lo:8 + n + hi], dtype=np.float32).reshape(e["shape"])
a, s = json.load(open(f"{tmp}/mem.json")), json.load(open(f"{tmp}/stream.json"))
wa, ws = weight(f"{tmp}/mem.safetensors"), weight(f"{tmp}/stream.safetensors")
data_mib = a["n_examples"] * a["d"] * 4 / 2**20
print(f"examples {a['n_examples']} x d {a['d']}: {data_mib:.1f} MiB of float32 (x2 for the in-memory path)")
print(f"in memory: streamed={a['streamed']} peak RSS {mem_kb / 1024:.1f} MiB, {a['seconds']:.2f} s, test accuracy {a['metrics']['test']['accuracy']:.4f}")
print(f"--memory {budget}: streamed={s['streamed']} peak RSS {stream_kb / 1024:.1f} MiB, {s['seconds']:.2f} s, test accuracy {s['metrics']['test']['accuracy']:.4f}")
print(f"process baseline (summary only, no examples): {base_kb / 1024:.1f} MiB; streamed RSS above baseline {(stream_kb - base_kb) / 1024:.1f} MiB")
units = {"K": 2**10, "M": 2**20, "G": 2**30}
budget_mib = float(budget[:-1]) * units[budget[-1].upper()] / 2**20 if budget[-1].upper() in units else float(budget) / 2**20
above = (stream_kb - base_kb) / 1024
print(f"budget {budget} = {budget_mib:.1f} MiB (index {a['n_examples']} examples included); streamed peak - baseline "
      f"= {above:.1f} MiB: {'within' if above <= budget_mib else 'OVER'} the budget")
print(f"max |w_mem - w_stream| = {np.abs(wa - ws).max():.2e} (max |w| {np.abs(wa).max():.3f})")
PY
