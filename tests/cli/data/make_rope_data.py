#!/usr/bin/env python3
"""Writes the scaled-RoPE golden-case data from the independent PyTorch implementation
(tests/attention_torch_check.py), never from sxplan:
  rope_inv_freq_yarn.npy   inv_freq of yarn (factor 4, original 8) for R = 8, theta 10000
  att_out_yarn.npy         Self-Extend attention (G 3, W 4, int shift) of att_q/k/v under that rule,
                           cos and sin times the attention factor 0.1 ln 4 + 1
  rope_inv_freq_short.npy  3 values (R = 8 needs 4)
  rope_inv_freq_zero.npy   4 values, one of them 0
  att_out_llama3.npy       the same attention under rope_tiny_llama3_config.json's llama3 rule
                           (theta 10000, factor 8, low 1, high 4, original 16; attention factor 1)
usage: /usr/bin/python3 make_rope_data.py (from this directory)
"""
import importlib.util
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

here = pathlib.Path(__file__).resolve().parent
check = here.parents[1] / "attention_torch_check.py"
spec = importlib.util.spec_from_file_location("check", check)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

rule = "yarn:factor=4,original=8"
inv_freq, attention = module.frequencies(rule, None, 8, 10000.0, 12)
np.save(here / "rope_inv_freq_yarn.npy", inv_freq.numpy())
print("attention factor", repr(attention))
with tempfile.TemporaryDirectory() as d:
    for name in ("q", "k", "v"):
        np.save(f"{d}/{name}.npy", np.load(here / f"att_{name}.npy").astype(np.float64))
    subprocess.run([sys.executable, str(check), d, "3", "4", "int", "neox", "8", "10000", "0", rule], check=True)
    shutil.copy(f"{d}/out.npy", here / "att_out_yarn.npy")
def torch_attention(rule, target):
    with tempfile.TemporaryDirectory() as d:
        for name in ("q", "k", "v"):
            np.save(f"{d}/{name}.npy", np.load(here / f"att_{name}.npy").astype(np.float64))
        subprocess.run([sys.executable, str(check), d, "3", "4", "int", "neox", "8", "10000", "0", rule], check=True)
        shutil.copy(f"{d}/out.npy", here / target)


torch_attention("llama3:factor=8,low_freq_factor=1,high_freq_factor=4,original=16", "att_out_llama3.npy")
np.save(here / "rope_inv_freq_short.npy", np.array([1.0, 0.1, 0.01]))
np.save(here / "rope_inv_freq_zero.npy", np.array([1.0, 0.1, 0.0, 0.001]))
