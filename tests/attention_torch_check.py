#!/usr/bin/env python3
"""Independent PyTorch implementation of Self-Extend attention (docs/kernels.md#the-math), for the
cross-check in attention_test.cpp: reads q.npy, k.npy, v.npy (float64) from DIR, writes out.npy.

Written the way LongLM's eager patch works (not its code): rotate q and k for both branches,
materialise the neighbor and the group score matrices in full, pick per pair with a window mask,
apply the causal mask, softmax, multiply by v. float64 throughout so differences are the
library's, not rounding. Exit code 77 when torch is missing (the test then skips).

An optional RULE argument gives a frequency rule, computed here from transformers' formulas
(modeling_rope_utils.py, the rope_parameters generation) in float64, the attention factor applied to
cos and sin as transformers does: "TYPE:key=value,...", TYPE one of linear, dynamic, yarn, longrope,
llama3; longrope reads short_factor.npy and long_factor.npy from DIR. The sequence length of the
length-dependent rules is the number of keys.

usage: attention_torch_check.py DIR GROUP WINDOW SHIFT(int|float) STYLE(neox|gptj) ROTARY THETA SCALE_BASE [RULE]
"""
import math
import sys

try:
    import numpy as np
    import torch
except ImportError:
    sys.exit(77)


def frequencies(rule, d, rotary, theta, seq_len):
    """(inv_freq [R/2], attention factor) of a rule string; the plain theta rule when None."""
    exponents = torch.arange(0, rotary, 2, dtype=torch.float64) / rotary
    plain = 1.0 / theta ** exponents
    if rule is None:
        return plain, 1.0
    kind, _, args = rule.partition(":")
    p = {key: float(value) for key, value in (item.split("=") for item in args.split(",") if item)}
    factor = p.get("factor", 1.0)
    if kind == "linear":
        return plain / factor, 1.0
    if kind == "dynamic":
        mpe = p["max_position_embeddings"]
        n = max(seq_len, mpe)
        grown = theta * ((factor * n / mpe) - (factor - 1)) ** (rotary / (rotary - 2))
        return 1.0 / grown ** exponents, 1.0
    if kind == "yarn":
        original = p["original"]
        def mscale(scale, m=1.0):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0
        if "attention_factor" in p:
            attention = p["attention_factor"]
        elif p.get("mscale") and p.get("mscale_all_dim"):
            attention = mscale(factor, p["mscale"]) / mscale(factor, p["mscale_all_dim"])
        else:
            attention = mscale(factor)
        def correction(rotations):
            return rotary * math.log(original / (rotations * 2 * math.pi)) / (2 * math.log(theta))
        low = max(math.floor(correction(p.get("beta_fast", 32.0))), 0)
        high = min(math.ceil(correction(p.get("beta_slow", 1.0))), rotary - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(rotary // 2, dtype=torch.float64) - low) / (high - low), 0, 1)
        return plain / factor * ramp + plain * (1 - ramp), attention
    if kind == "longrope":
        original = p["original"]
        name = "long_factor" if seq_len > original else "short_factor"
        ext = torch.from_numpy(np.load(d + "/" + name + ".npy"))
        attention = p.get("attention_factor",
                          1.0 if factor <= 1 else math.sqrt(1 + math.log(factor) / math.log(original)))
        return 1.0 / (ext * theta ** exponents), attention
    if kind == "llama3":
        original, low, high = p["original"], p["low_freq_factor"], p["high_freq_factor"]
        wavelength = 2 * math.pi / plain
        smooth = (original / wavelength - low) / (high - low)
        blended = (1 - smooth) * plain / factor + smooth * plain
        out = torch.where(wavelength > original / low, plain / factor, blended)
        return torch.where(wavelength < original / high, plain, out), 1.0
    raise SystemExit("unknown rule " + kind)


def rope(x, positions, rotary, inv_freq, attention, style):
    """x: [H, N, D]; positions: [N] float64. Rotates the first `rotary` dims; cos and sin carry
    the attention factor, as transformers' rotary embeddings return them."""
    half = rotary // 2
    angles = positions[:, None] * inv_freq[None, :]              # [N, R/2]
    cos, sin = torch.cos(angles) * attention, torch.sin(angles) * attention
    rot, rest = x[..., :rotary], x[..., rotary:]
    if style == "neox":
        a, b = rot[..., :half], rot[..., half:]
        rotated = torch.cat([a * cos - b * sin, b * cos + a * sin], dim=-1)
    else:
        a, b = rot[..., 0::2], rot[..., 1::2]
        rotated = torch.stack([a * cos - b * sin, b * cos + a * sin], dim=-1).flatten(-2)
    return torch.cat([rotated, rest], dim=-1)


def main():
    d, group, window, shift, style, rotary, theta, scale_base = sys.argv[1:9]
    rule = sys.argv[9] if len(sys.argv) > 9 else None
    group, window, rotary = int(group), int(window), int(rotary)
    theta, scale_base = float(theta), float(scale_base)
    q = torch.from_numpy(np.load(d + "/q.npy"))
    k = torch.from_numpy(np.load(d + "/k.npy"))
    v = torch.from_numpy(np.load(d + "/v.npy"))
    heads, nq, dim = q.shape
    kv_heads, nk, _ = k.shape
    k = k.repeat_interleave(heads // kv_heads, dim=0)  # grouped-query: head h reads kv head h // (H / Hkv)
    v = v.repeat_interleave(heads // kv_heads, dim=0)

    qpos = torch.arange(nk - nq, nk, dtype=torch.float64)   # decode: the one query at Nk - 1
    kpos = torch.arange(nk, dtype=torch.float64)
    if scale_base > 0:
        factor = torch.clamp(torch.log(qpos + 1) / math.log(scale_base), min=1.0)
        q = q * factor[None, :, None]
    shift_amount = window - (window // group if shift == "int" else window / group)
    group_qpos = torch.floor(qpos / group) + shift_amount
    group_kpos = torch.floor(kpos / group)

    inv_freq, attention = frequencies(rule, d, rotary, theta, nk)
    def rotate(x, positions):
        return rope(x, positions, rotary, inv_freq, attention, style)
    q_neighbor, k_neighbor = rotate(q, qpos), rotate(k, kpos)
    q_group, k_group = rotate(q, group_qpos), rotate(k, group_kpos)
    neighbor_scores = q_neighbor @ k_neighbor.transpose(1, 2) / math.sqrt(dim)   # [H, Nq, Nk]
    group_scores = q_group @ k_group.transpose(1, 2) / math.sqrt(dim)
    distance = qpos[:, None] - kpos[None, :]
    scores = torch.where(distance < window, neighbor_scores, group_scores)
    scores = scores.masked_fill(distance < 0, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v
    np.save(d + "/out.npy", out.numpy())


if __name__ == "__main__":
    main()
