# Reads a census file the way docs/census.md shows, with h5py only, and prints what it found as JSON for
# tests/census/test_census_cli.cpp to compare.
import json
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["format"] == "resid-census", f.attrs["format"]
    assert f.attrs["format_version"] == 1
    out = {
        "firing_rule": f.attrs["firing_rule"],
        "threshold": float(f.attrs["threshold"]),
        "accuracy": float(f.attrs["n_correct"]) / float(f.attrs["n_labelled"]),
        "edges": f["histogram_edges_log10"][:].tolist(),
        "layers": [],
    }
    for name in sorted(f["layers"], key=int):
        g = f["layers"][name]
        fires = g["fires"][:]
        density = g["density"][:]
        assert np.allclose(density, fires / g.attrs["n_tokens"])
        assert np.isnan(g["mean_active"][:][fires == 0]).all()
        out["layers"].append({
            "hook": g.attrs["hook"],
            "fires": fires.tolist(),
            "dead_ids": g["dead_ids"][:].tolist(),
            "mean": g["mean"][:].tolist(),
            "histogram": g["histogram"][:].tolist(),
        })
print(json.dumps(out))
