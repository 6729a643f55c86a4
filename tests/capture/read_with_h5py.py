#!/usr/bin/env python3
"""Reads a resid activation file with nothing but h5py and numpy, the way docs/activation-file-format.md shows.

    read_with_h5py.py FILE.h5 EXPECT.json   compare shapes, dtypes, attributes and values with EXPECT.json
    read_with_h5py.py --partial FILE.h5     a file whose writer was killed: open it, read every committed row

Exit status 0 when everything matches; otherwise every mismatch is printed and the status is 1.
"""
import json
import sys

import h5py
import numpy as np

errors = []


def check(ok, what):
    if not ok:
        errors.append(what)


def bfloat16_to_float32(bits):
    """Exact bfloat16 values from their raw 16-bit patterns (uint16 array)."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def read_raw_bits(dataset, n):
    """The first n rows of a 16-bit float dataset as stored (no conversion), as uint16."""
    out = np.empty((n,) + dataset.shape[1:], dtype=np.uint16)
    if n:
        space = dataset.id.get_space()
        space.select_hyperslab((0,) * len(dataset.shape), (n,) + dataset.shape[1:])
        dataset.id.read(h5py.h5s.create_simple(out.shape), space, out, dataset.id.get_type())
    return out


def check_partial(path):
    # A file whose writer died (or is still running) opens like any other: HDF5 never had it open for writing.
    with h5py.File(path, "r") as f:
        check(f.attrs["format"] == "resid-activations", "format attribute")
        check(int(f.attrs["format_version"]) == 2, "format_version attribute")
        n = int(f["committed_rows"][()])
        check(int(f["complete"][()]) in (0, 1), "complete flag")
        for name in ["tokens", "lengths"] + ["labels/" + k for k in f["labels"]] + ["acts/" + k for k in f["acts"]]:
            d = f[name]
            check(d.shape[0] >= n, f"{name} has {d.shape[0]} rows, fewer than committed_rows = {n}")
            check(d[:n].shape[0] == n, f"{name}: cannot read its committed rows")
        for name in f["label_classes"]:
            f["label_classes"][name].asstr()[:]
        lengths = f["lengths"][:n]
        check(bool(np.all((lengths >= 1) & (lengths <= f.attrs["n_pos"]))), "lengths out of range")


def check_complete(path, expect_path):
    with open(expect_path) as fh:
        ex = json.load(fh)
    # What a user writes:
    f = h5py.File(path, "r")
    n = int(f["committed_rows"][()])  # only these rows are valid
    check(n == ex["committed_rows"], f"committed_rows {n}")
    check(int(f["complete"][()]) == ex["complete"], "complete flag")
    for key, value in ex["attrs"].items():
        got = f.attrs[key]
        check(isinstance(got, str) and got == value, f"attribute {key}: {got!r} != {value!r}")
    for key, value in ex["int_attrs"].items():
        check(int(f.attrs[key]) == value, f"attribute {key}: {f.attrs[key]!r} != {value!r}")
    if "model_config" in ex["attrs"]:
        check(isinstance(json.loads(f.attrs["model_config"]), dict), "model_config is not a JSON object")

    tokens, lengths = f["tokens"][:n], f["lengths"][:n]
    check(tokens.dtype == np.int32 and lengths.dtype == np.int32, "tokens/lengths dtype")
    check(np.array_equal(tokens.ravel(), np.array(ex["tokens"], dtype=np.int32)), "tokens values")
    check(np.array_equal(lengths, np.array(ex["lengths"], dtype=np.int32)), "lengths values")
    check(tokens.shape == (n, f.attrs["n_pos"]), f"tokens shape {tokens.shape}")

    check(list(f["labels"]) == list(ex["labels"]) or sorted(f["labels"]) == sorted(ex["labels"]), "label names")
    for name, want in ex["labels"].items():
        d = f["labels"][name]
        check(d.attrs["kind"] == want["kind"], f"labels/{name} kind {d.attrs['kind']!r}")
        values = d[:n]
        if want["kind"] == "sequence_number":
            check(values.dtype == np.float64 and values.shape == (n,), f"labels/{name} dtype/shape")
            check(np.array_equal(values, np.array(want["values"])), f"labels/{name} values")
        else:
            classes = list(f["label_classes"][name].asstr()[:])  # id -> name
            check(d.attrs["class_names"] == "/label_classes/" + name, f"labels/{name} class_names attribute")
            check(classes == want["classes"], f"labels/{name} classes {classes} != {want['classes']}")
            check(values.dtype == np.int32, f"labels/{name} dtype {values.dtype}")
            check(np.array_equal(values.ravel(), np.array(want["values"], dtype=np.int32)), f"labels/{name} values")
            named = [classes[i] for i in values.ravel() if i >= 0]  # ids index classes; -1 = none / padding
            check(len(named) == int(np.sum(values >= 0)), f"labels/{name} ids")

    check(sorted(f["acts"]) == sorted(ex["acts"]), f"hooks {list(f['acts'])}")
    for hook, want in ex["acts"].items():
        d = f["acts"][hook]  # the name has dots: fine in HDF5
        check(d.attrs["hook"] == want["hook"], f"acts/{hook} hook attribute")
        check(int(d.attrs["layer"]) == want["layer"], f"acts/{hook} layer attribute")
        check(d.attrs["reduction"] == want["reduction"], f"acts/{hook} reduction attribute")
        check(d.attrs["dtype"] == want["dtype"], f"acts/{hook} dtype attribute {d.attrs['dtype']!r}")
        check(d.shape == tuple(want["shape"]), f"acts/{hook} shape {d.shape}")
        check(d.maxshape == d.shape, f"acts/{hook} is not of fixed size (maxshape {d.maxshape})")
        x = d[:n]
        expected = np.array(want["values"], dtype=np.float32).reshape(want["shape"])
        numpy_dtype = {"float32": np.float32, "float16": np.float16, "bfloat16": np.float32}[want["dtype"]]
        check(x.dtype == numpy_dtype, f"acts/{hook}: h5py presents {x.dtype}")
        check(np.array_equal(x.astype(np.float32), expected), f"acts/{hook} values")
        if want["dtype"] == "bfloat16":
            exact = bfloat16_to_float32(read_raw_bits(d, n))
            check(np.array_equal(exact, expected), f"acts/{hook} raw bfloat16 bits")
    f.close()


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--partial":
        check_partial(sys.argv[2])
    elif len(sys.argv) == 3:
        check_complete(sys.argv[1], sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in errors:
        print("read_with_h5py:", e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
