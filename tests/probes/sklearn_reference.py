#!/usr/bin/env python3
"""Fits scikit-learn's LogisticRegression / Ridge on the arrays test_probes_sklearn writes, for comparison.

usage: sklearn_reference.py DIR   (DIR holds xtr.npy ytr.npy xte.npy yte.npy params.json; writes DIR/sklearn.json)
"""
import json
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge

d = sys.argv[1]
p = json.load(open(f"{d}/params.json"))
xtr, ytr, xte, yte = (np.load(f"{d}/{n}.npy").astype(np.float64) for n in ("xtr", "ytr", "xte", "yte"))
out = {}
if p["task"] == "logistic":
    m = LogisticRegression(C=p["C"], solver="lbfgs", tol=1e-10, max_iter=100000)
    m.fit(xtr, ytr.astype(int))
    out = {"coef": m.coef_.tolist(), "intercept": m.intercept_.tolist(),
           "test_accuracy": float((m.predict(xte) == yte.astype(int)).mean()), "n_iter": int(np.max(m.n_iter_))}
else:
    m = Ridge(alpha=p["alpha"])
    m.fit(xtr, ytr)
    out = {"coef": np.atleast_2d(m.coef_).tolist(), "intercept": np.atleast_1d(m.intercept_).tolist()}
json.dump(out, open(f"{d}/sklearn.json", "w"))
