#!/usr/bin/env python3
"""Round trip `resid probe direction` -> `resid run --steer`: does steering along a probe's direction move the
model's logits the way the probed property predicts?

usage: probe_steer_check.py RESID MODEL PROBE HOOK CLASS TOKEN_ID PROMPT [ALPHA...]

Writes the probe's unit direction for CLASS, runs PROMPT with --steer HOOK=dir*alpha at every position for
each alpha (default -6 -3 0 3 6) and prints, per alpha, the log-probability of TOKEN_ID at the last position and
averaged over positions. For in_quotes, the 'yes' direction should raise the closing-quote token.
"""
import json
import math
import subprocess
import sys
import tempfile

resid, model, probe, hook, cls, token, prompt = sys.argv[1:8]
alphas = [float(a) for a in sys.argv[8:]] or [-6, -3, 0, 3, 6]
token = int(token)
with tempfile.TemporaryDirectory() as tmp:
    d = f"{tmp}/dir.npy"
    subprocess.run([resid, "probe", "direction", probe, "--class", cls, "-o", d], check=True, capture_output=True)
    print(f"{'alpha':>6} {'logp last':>10} {'logp mean':>10}")
    rows = []
    for a in alphas:
        args = [resid, "run", model, "--prompt", prompt, "--json", "--all-logits", "--top-k", "1"]
        if a != 0:
            args += ["--steer", f"{hook}={d}*{a}"]
        out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
        lps = []
        for p in out["positions"]:
            logits = p["logits"]
            m = max(logits)
            lse = m + math.log(sum(math.exp(v - m) for v in logits))
            lps.append(logits[token] - lse)
        rows.append((a, lps[-1], sum(lps) / len(lps)))
        print(f"{a:6.1f} {lps[-1]:10.3f} {sum(lps) / len(lps):10.3f}")
    # Control: random unit directions at the largest alpha should not move the token as much.
    import numpy as np
    n = len(np.load(d))
    rng = np.random.default_rng(0)
    for i in range(3):
        r = rng.standard_normal(n).astype(np.float32)
        np.save(f"{tmp}/rand.npy", r / np.linalg.norm(r))
        args = [resid, "run", model, "--prompt", prompt, "--json", "--all-logits", "--top-k", "1",
                "--steer", f"{hook}={tmp}/rand.npy*{max(alphas)}"]
        out = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
        lps = []
        for p in out["positions"]:
            logits = p["logits"]
            m = max(logits)
            lps.append(logits[token] - (m + math.log(sum(math.exp(v - m) for v in logits))))
        print(f"random direction {i} at alpha {max(alphas)}: logp last {lps[-1]:.3f}, mean {sum(lps) / len(lps):.3f}")
    mono = all(rows[i][2] < rows[i + 1][2] for i in range(len(rows) - 1))
    print("mean log-probability increases with alpha:", "yes" if mono else "no")
