#!/usr/bin/env python3
"""Independent PyTorch implementation of Self-Extend attention (DESIGN.md §2-3), for the
cross-check in attention_test.cpp: reads q.npy, k.npy, v.npy (float64) from DIR, writes out.npy.

Written the way LongLM's eager patch works (not its code): rotate q and k for both branches,
materialise the neighbor and the group score matrices in full, pick per pair with a window mask,
apply the causal mask, softmax, multiply by v. float64 throughout so differences are the
library's, not rounding. Exit code 77 when torch is missing (the test then skips).

usage: attention_torch_check.py DIR GROUP WINDOW SHIFT(int|float) STYLE(neox|gptj) ROTARY THETA SCALE_BASE
"""
import math
import sys

try:
    import numpy as np
    import torch
except ImportError:
    sys.exit(77)


def rope(x, positions, rotary, theta, style):
    """x: [H, N, D]; positions: [N] float64. Rotates the first `rotary` dims."""
    half = rotary // 2
    inv_freq = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / rotary)
    angles = positions[:, None] * inv_freq[None, :]              # [N, R/2]
    cos, sin = torch.cos(angles), torch.sin(angles)
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

    q_neighbor, k_neighbor = rope(q, qpos, rotary, theta, style), rope(k, kpos, rotary, theta, style)
    q_group, k_group = rope(q, group_qpos, rotary, theta, style), rope(k, group_kpos, rotary, theta, style)
    neighbor_scores = q_neighbor @ k_neighbor.transpose(1, 2) / math.sqrt(dim)   # [H, Nq, Nk]
    group_scores = q_group @ k_group.transpose(1, 2) / math.sqrt(dim)
    distance = qpos[:, None] - kpos[None, :]
    scores = torch.where(distance < window, neighbor_scores, group_scores)
    scores = scores.masked_fill(distance < 0, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ v
    np.save(d + "/out.npy", out.numpy())


if __name__ == "__main__":
    main()
