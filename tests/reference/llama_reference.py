#!/usr/bin/python3
"""Independent float64 numpy reference of the Llama forward pass of llama2.c checkpoints.

Dumps every hook point, named as TransformerLens names them (fold_ln=False), so that resid's
C++ implementation can be checked against it. Standard library + numpy only.
See tests/reference/README.md for conventions and for how this was validated.

  python3 llama_reference.py MODEL.bin --tokens 1,403,407 --out DIR
  python3 llama_reference.py MODEL.bin --tokens-file T.txt --check-logits REF.f32
"""
import argparse
import json
import os
import struct
import sys

try:
    import numpy as np
except ImportError:  # e.g. a pyenv python3 shadowing Debian's, which has python3-numpy
    sys.exit(f"numpy is not importable by {sys.executable}; run with /usr/bin/python3 (Debian python3-numpy)")

EPS = 1e-5           # llama2.c rmsnorm epsilon
ROPE_BASE = 10000.0  # llama2.c rotary base
TOLERANCE = 1e-4     # --check-logits pass/fail threshold on max |diff|


def load_checkpoint(path):
    """Read a llama2.c legacy (version 0) checkpoint: 7 int32 header, then float32 tensors."""
    with open(path, "rb") as f:
        raw = f.read()
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack_from("<7i", raw, 0)
    shared = vocab > 0           # a negative vocab size signals a separate classifier (wcls)
    vocab = abs(vocab)
    if dim <= 0 or n_heads <= 0 or n_kv_heads <= 0 or dim % n_heads or n_heads % n_kv_heads:
        sys.exit(f"{path}: implausible header {(dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len)}")
    d_head = dim // n_heads
    kv_dim = n_kv_heads * d_head
    L = n_layers
    # (name, shape) in the order run.c's checkpoint_init_weights walks the file
    layout = [
        ("tok_emb", (vocab, dim)),
        ("rms_att", (L, dim)),
        ("wq", (L, dim, dim)),
        ("wk", (L, kv_dim, dim)),
        ("wv", (L, kv_dim, dim)),
        ("wo", (L, dim, dim)),
        ("rms_ffn", (L, dim)),
        ("w1", (L, hidden, dim)),
        ("w2", (L, dim, hidden)),
        ("w3", (L, hidden, dim)),
        ("rms_final", (dim,)),
        ("freq_cis_real", (seq_len, d_head // 2)),  # unused: rotary is recomputed below
        ("freq_cis_imag", (seq_len, d_head // 2)),
    ]
    if not shared:
        layout.append(("wcls", (vocab, dim)))
    n_floats = sum(int(np.prod(s)) for _, s in layout)
    if len(raw) != 28 + 4 * n_floats:
        sys.exit(f"{path}: size {len(raw)} bytes, header implies {28 + 4 * n_floats} "
                 f"(dim={dim} hidden={hidden} layers={L} heads={n_heads} kv_heads={n_kv_heads} "
                 f"vocab={vocab} shared={shared} seq_len={seq_len})")
    flat = np.frombuffer(raw, dtype="<f4", count=n_floats, offset=28).astype(np.float64)
    w, off = {}, 0
    for name, shape in layout:
        size = int(np.prod(shape))
        w[name] = flat[off:off + size].reshape(shape)
        off += size
    if shared:
        w["wcls"] = w["tok_emb"]
    cfg = dict(dim=dim, hidden=hidden, n_layers=L, n_heads=n_heads, n_kv_heads=n_kv_heads,
               vocab=vocab, seq_len=seq_len, d_head=d_head, shared_classifier=shared)
    return cfg, w


def rms_norm(x, hooks, prefix):
    """Records hook_scale [pos,1] and hook_normalized [pos,d] (before the weight is applied)."""
    scale = np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS)
    normalized = x / scale
    hooks[prefix + ".hook_scale"] = scale
    hooks[prefix + ".hook_normalized"] = normalized
    return normalized


def rotate(x, positions):
    """llama2.c RoPE: within each head, pair (x[2i], x[2i+1]) is rotated by angle pos * base^(-2i/d_head).
    x: [pos, heads, d_head]."""
    d_head = x.shape[-1]
    inv_freq = ROPE_BASE ** (-np.arange(0, d_head, 2, dtype=np.float64) / d_head)  # [d_head/2]
    angle = positions[:, None].astype(np.float64) * inv_freq[None, :]              # [pos, d_head/2]
    cos = np.cos(angle)[:, None, :]
    sin = np.sin(angle)[:, None, :]
    even, odd = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


def forward(cfg, w, tokens):
    """Whole-sequence (no KV cache) causal forward pass; returns {hook name: float64 array}, in order."""
    n = len(tokens)
    H, KV, dh = cfg["n_heads"], cfg["n_kv_heads"], cfg["d_head"]
    group = H // KV                      # query head h reads kv head h // group
    positions = np.arange(n)
    future = np.triu(np.ones((n, n), dtype=bool), k=1)   # [q, k]: True where k > q
    hooks = {}

    x = w["tok_emb"][np.asarray(tokens)].copy()
    hooks["hook_embed"] = x.copy()
    for l in range(cfg["n_layers"]):
        p = f"blocks.{l}"
        hooks[p + ".hook_resid_pre"] = x.copy()

        # --- attention ---
        xin = rms_norm(x, hooks, p + ".ln1") * w["rms_att"][l]
        q = (xin @ w["wq"][l].T).reshape(n, H, dh)
        k = (xin @ w["wk"][l].T).reshape(n, KV, dh)
        v = (xin @ w["wv"][l].T).reshape(n, KV, dh)
        hooks[p + ".attn.hook_q"] = q
        hooks[p + ".attn.hook_k"] = k
        hooks[p + ".attn.hook_v"] = v
        rq, rk = rotate(q, positions), rotate(k, positions)
        hooks[p + ".attn.hook_rot_q"] = rq
        hooks[p + ".attn.hook_rot_k"] = rk
        kv_of_head = np.arange(H) // group
        rk_h = rk[:, kv_of_head, :]                      # [pos, H, dh], grouped-query expansion
        v_h = v[:, kv_of_head, :]
        scores = np.einsum("qhd,khd->hqk", rq, rk_h) / np.sqrt(dh)
        scores[:, future] = -np.inf
        hooks[p + ".attn.hook_attn_scores"] = scores
        m = np.max(scores, axis=-1, keepdims=True)       # diagonal is always finite
        e = np.exp(scores - m)                           # exp(-inf) = 0 above the diagonal
        pattern = e / np.sum(e, axis=-1, keepdims=True)
        hooks[p + ".attn.hook_pattern"] = pattern
        z = np.einsum("hqk,khd->qhd", pattern, v_h)      # [pos, H, dh]
        hooks[p + ".attn.hook_z"] = z
        attn_out = z.reshape(n, H * dh) @ w["wo"][l].T
        hooks[p + ".hook_attn_out"] = attn_out
        x = x + attn_out
        hooks[p + ".hook_resid_mid"] = x.copy()

        # --- gated MLP (SwiGLU) ---
        xin = rms_norm(x, hooks, p + ".ln2") * w["rms_ffn"][l]
        pre = xin @ w["w1"][l].T
        pre_linear = xin @ w["w3"][l].T
        post = pre / (1.0 + np.exp(-pre)) * pre_linear  # silu(pre) * pre_linear
        hooks[p + ".mlp.hook_pre"] = pre
        hooks[p + ".mlp.hook_pre_linear"] = pre_linear
        hooks[p + ".mlp.hook_post"] = post
        mlp_out = post @ w["w2"][l].T
        hooks[p + ".hook_mlp_out"] = mlp_out
        x = x + mlp_out
        hooks[p + ".hook_resid_post"] = x.copy()

    xf = rms_norm(x, hooks, "ln_final") * w["rms_final"]
    hooks["unembed.hook_out"] = xf @ w["wcls"].T
    return hooks


def parse_tokens(args, vocab, seq_len):
    if args.tokens_file:
        with open(args.tokens_file) as f:
            text = f.read()
    else:
        text = args.tokens
    toks = [int(t) for t in text.replace(",", " ").split()]
    if not toks:
        sys.exit("no tokens given")
    bad = [t for t in toks if not 0 <= t < vocab]
    if bad:
        sys.exit(f"token ids out of range [0, {vocab}): {bad}")
    if len(toks) > seq_len:
        sys.exit(f"{len(toks)} tokens exceed the checkpoint's seq_len {seq_len}")
    return toks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", help="llama2.c legacy checkpoint (.bin)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--tokens", help="token ids, comma- or space-separated, e.g. 1,403,407")
    src.add_argument("--tokens-file", help="file of whitespace/comma-separated token ids")
    ap.add_argument("--out", help="directory to write <hook>.f32 files and manifest.json into")
    ap.add_argument("--check-logits", metavar="REF.f32",
                    help=f"float32 [n_pos][vocab] logits to compare with; exit 1 if max |diff| > {TOLERANCE}")
    args = ap.parse_args()
    if not args.out and not args.check_logits:
        ap.error("give --out DIR and/or --check-logits REF.f32")

    cfg, w = load_checkpoint(args.model)
    tokens = parse_tokens(args, cfg["vocab"], cfg["seq_len"])
    print(f"config: {json.dumps(cfg)}; {len(tokens)} tokens", file=sys.stderr)
    hooks = forward(cfg, w, tokens)

    if args.out:
        os.makedirs(args.out, exist_ok=True)
        manifest = {}
        for name, arr in hooks.items():
            np.ascontiguousarray(arr, dtype="<f4").tofile(os.path.join(args.out, name + ".f32"))
            manifest[name] = list(arr.shape)
        with open(os.path.join(args.out, "manifest.json"), "w") as f:  # one hook per line
            f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in manifest.items())
                    + "\n}\n")
        print(f"wrote {len(manifest)} hooks to {args.out}", file=sys.stderr)

    if args.check_logits:
        logits = hooks["unembed.hook_out"]
        ref = np.fromfile(args.check_logits, dtype="<f4")
        if ref.size != logits.size:
            print(f"FAIL: {args.check_logits} holds {ref.size} floats, expected "
                  f"{logits.shape[0]}x{logits.shape[1]} = {logits.size}")
            return 1
        diff = np.abs(ref.reshape(logits.shape).astype(np.float64) - logits)
        worst = float(np.max(diff))
        pos, tok = np.unravel_index(int(np.argmax(diff)), diff.shape)
        same_argmax = bool(np.all(np.argmax(ref.reshape(logits.shape), -1) == np.argmax(logits, -1)))
        verdict = "PASS" if worst <= TOLERANCE else "FAIL"
        print(f"{verdict}: max abs diff {worst:.3e} (at pos {pos}, token {tok}; tolerance {TOLERANCE:g}); "
              f"mean abs diff {float(np.mean(diff)):.3e}; argmax agrees at every position: {same_argmax}")
        return 0 if worst <= TOLERANCE else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
