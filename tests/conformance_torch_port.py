#!/usr/bin/env python3
"""A Self-Extend port in eager PyTorch run over the conformance suite, as docs/runtimes.md shows it.

  conformance_torch_port.py SUITE OUT          run the port over SUITE, write OUT/<case>.npy
  conformance_torch_port.py --sxplan SXPLAN    write a suite, run the port, `sxplan verify --suite` it
                                               (the ctest; exit code = verify's)
"""
import json
import math
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import torch


def rope(x, pos, inv_freq, style, rotary, factor):
    """x [H, N, D] float32 rotated at positions pos [N] (float64: exact angles)."""
    angle = pos[:, None] * inv_freq[None, :]
    cos, sin = (torch.cos(angle) * factor).float(), (torch.sin(angle) * factor).float()
    r, rest = x[..., :rotary], x[..., rotary:]
    if style == "neox":  # rotate_half: pairs (c, c + R/2)
        a, b = r[..., : rotary // 2], r[..., rotary // 2 :]
    else:  # gptj: pairs (2c, 2c + 1)
        a, b = r[..., 0::2], r[..., 1::2]
    a2, b2 = a * cos - b * sin, b * cos + a * sin
    r2 = torch.cat([a2, b2], -1) if style == "neox" else torch.stack([a2, b2], -1).flatten(-2)
    return torch.cat([r2, rest], -1)


def self_extend(suite, case, q, k, v):
    G, W = case["group"], case["window"]
    H, Nq, D = q.shape
    Hkv, Nk, _ = k.shape
    i = torch.arange(Nk - Nq, Nk, dtype=torch.float64)  # the queries are the newest Nq tokens
    j = torch.arange(Nk, dtype=torch.float64)
    shift = W - W / G if case["shift"] == "float" else W - W // G
    R, theta, style = case["rope"]["rotary_dims"], case["rope"]["theta"], case["rope"]["style"]
    if case["inv_freq"]:
        inv_freq = torch.from_numpy(np.load(suite / case["inv_freq"]))
    else:
        inv_freq = theta ** (-torch.arange(0, R, 2, dtype=torch.float64) / R)
    f = case["attention_factor"]
    if case["scale_base"]:  # log scaling, before RoPE, both branches
        q = q * torch.clamp(torch.log(i + 1) / math.log(case["scale_base"]), min=1).float()[:, None]
    q_n, q_g = rope(q, i, inv_freq, style, R, f), rope(q, torch.floor(i / G) + shift, inv_freq, style, R, f)
    k_n, k_g = rope(k, j, inv_freq, style, R, f), rope(k, torch.floor(j / G), inv_freq, style, R, f)
    k_n, k_g, v = (t.repeat_interleave(H // Hkv, 0) for t in (k_n, k_g, v))  # head h reads kv head h // (H/Hkv)
    neighbor = (i[:, None] - j[None, :]) < W  # strict: d = W - 1 neighbor, d = W group
    s = torch.where(neighbor, q_n @ k_n.mT, q_g @ k_g.mT) / math.sqrt(D)
    s = s.masked_fill(j[None, :] > i[:, None], float("-inf"))  # causal mask after the selection
    return torch.softmax(s, -1) @ v


def run_port(suite, out):
    out.mkdir(parents=True, exist_ok=True)
    for case in json.loads((suite / "manifest.json").read_text())["cases"]:
        q, k, v = (torch.from_numpy(np.load(suite / case[t])) for t in ("q", "k", "v"))
        np.save(out / f"{case['name']}.npy", self_extend(suite, case, q, k, v).numpy())


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--sxplan":
        with tempfile.TemporaryDirectory(prefix="sxplan-torch-port-") as tmp:
            suite, out = pathlib.Path(tmp) / "suite", pathlib.Path(tmp) / "out"
            subprocess.run([sys.argv[2], "conformance", "-o", str(suite)], check=True, stdout=subprocess.DEVNULL)
            run_port(suite, out)
            return subprocess.run([sys.argv[2], "verify", "--suite", str(suite), "--outputs", str(out)]).returncode
    if len(sys.argv) == 3:
        run_port(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
