#!/usr/bin/env python3
"""Writes the small GGUF files the CLI cases read (header only, no tensors). Run from this folder:
   python3 make_gguf.py. The unit tests (tests/gguf_test.cpp) build their own files."""
import json
import math
import pathlib
import struct


def string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, type_id, payload):
    return string(key) + struct.pack("<I", type_id) + payload


def gguf(pairs, magic=b"GGUF", version=3):
    return magic + struct.pack("<IQQ", version, 0, len(pairs)) + b"".join(pairs)


llama2 = [
    kv("general.architecture", 8, string("llama")),
    kv("general.name", 8, string("LLaMA v2")),
    kv("llama.context_length", 4, struct.pack("<I", 4096)),
    kv("llama.embedding_length", 4, struct.pack("<I", 4096)),
    kv("llama.attention.head_count", 4, struct.pack("<I", 32)),
    kv("llama.attention.head_count_kv", 4, struct.pack("<I", 32)),
    kv("llama.rope.dimension_count", 4, struct.pack("<I", 128)),
    kv("llama.rope.freq_base", 6, struct.pack("<f", 10000.0)),
]
full = gguf(llama2)
open("llama2_header.gguf", "wb").write(full)
open("truncated.gguf", "wb").write(full[:150])
open("wrong_magic.gguf", "wb").write(gguf(llama2, magic=b"GGJT"))
open("string_context.gguf", "wb").write(
    gguf([llama2[0], kv("llama.context_length", 8, string("4096"))] + llama2[3:]))


# Files with a tensor table (names, shapes, types, offsets) and, after the 32-byte alignment, the
# data of the RoPE tensors only (other tensors are declared with their offsets, their data absent
# is never read).
def tensor_info(name, count, ggml_type, offset):
    return string(name) + struct.pack("<IQIQ", 1, count, ggml_type, offset)


def gguf_with_tensors(pairs, tensors):
    """tensors: [(name, [floats] or None for a declared-only tensor, count)]"""
    infos, data, offset = b"", b"", 0
    for name, values, count in tensors:
        infos += tensor_info(name, count, 0, offset)
        blob = struct.pack(f"<{len(values)}f", *values) if values is not None else b""
        if values is not None:
            data += blob + b"\0" * ((-len(blob)) % 32)
        offset += (count * 4 + 31) // 32 * 32
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(pairs)) + b"".join(pairs) + infos
    return head + b"\0" * ((-len(head)) % 32) + data


def u32(key, v):
    return kv(key, 4, struct.pack("<I", v))


def f32(key, v):
    return kv(key, 6, struct.pack("<f", v))


def text(key, v):
    return kv(key, 8, string(v))


# Llama-3.1-8B's llama3 rule as llama.cpp's converter stores it: per-pair divisors in rope_freqs.
def llama31_freqs():
    out = []
    for c in range(64):
        wavelen = 2 * math.pi * 500000.0 ** (2 * c / 128)
        if wavelen < 8192 / 4:
            out.append(1.0)
        elif wavelen > 8192 / 1:
            out.append(8.0)
        else:
            smooth = (8192 / wavelen - 1) / (4 - 1)
            out.append(1 / ((1 - smooth) / 8 + smooth))
    return out


llama31 = [text("general.architecture", "llama"), text("general.name", "Meta Llama 3.1 8B"),
           u32("llama.context_length", 131072), u32("llama.embedding_length", 4096), u32("llama.block_count", 32),
           u32("llama.attention.head_count", 32), u32("llama.attention.head_count_kv", 8),
           u32("llama.rope.dimension_count", 128), f32("llama.rope.freq_base", 500000.0)]
open("llama31.gguf", "wb").write(gguf_with_tensors(llama31, [("rope_freqs.weight", llama31_freqs(), 64),
                                                            ("token_embd.weight", None, 4096)]))

# microsoft/Phi-3.5-mini-instruct's LongRoPE factors, as llama.cpp's converter stores them.
from_config = json.load(open(pathlib.Path(__file__).resolve().parents[2] / "data" / "configs" / "phi-3.5-mini.json"))
phi35 = [text("general.architecture", "phi3"), text("general.name", "Phi 3.5 Mini Instruct"),
         u32("phi3.context_length", 131072), u32("phi3.embedding_length", 3072), u32("phi3.block_count", 32),
         u32("phi3.attention.head_count", 32), u32("phi3.attention.head_count_kv", 32),
         u32("phi3.rope.dimension_count", 96), f32("phi3.rope.freq_base", 10000.0),
         u32("phi3.rope.scaling.original_context_length", 4096), f32("phi3.rope.scaling.attn_factor", 1.1902380),
         u32("phi3.attention.sliding_window", 262144)]
open("phi35.gguf", "wb").write(gguf_with_tensors(phi35, [
    ("rope_factors_long.weight", from_config["rope_scaling"]["long_factor"], 48),
    ("rope_factors_short.weight", from_config["rope_scaling"]["short_factor"], 48)]))

mpt = [text("general.architecture", "mpt"), text("general.name", "mpt-7b"), u32("mpt.context_length", 2048),
       u32("mpt.embedding_length", 4096), u32("mpt.block_count", 32), u32("mpt.attention.head_count", 32)]
open("mpt.gguf", "wb").write(gguf(mpt))

gemma2 = [text("general.architecture", "gemma2"), text("general.name", "gemma-2-9b"), u32("gemma2.context_length", 8192),
          u32("gemma2.embedding_length", 3584), u32("gemma2.block_count", 42), u32("gemma2.attention.head_count", 16),
          u32("gemma2.attention.head_count_kv", 8), u32("gemma2.attention.key_length", 256),
          u32("gemma2.attention.sliding_window", 4096), f32("gemma2.rope.freq_base", 10000.0)]
open("gemma2.gguf", "wb").write(gguf(gemma2))

# Hostile headers (issue: linear work, duplicate keys, per-layer head counts, control bytes).
open("duplicate_key.gguf", "wb").write(gguf(llama2 + [u32("llama.context_length", 8192)]))
zero_heads = [p for p in llama2 if b"head_count_kv" not in p] + [
    kv("llama.attention.head_count_kv", 9, struct.pack("<IQ", 4, 3) + struct.pack("<3I", 32, 0, 32))]
open("zero_layer_heads.gguf", "wb").write(gguf(zero_heads))
open("control_bytes_name.gguf", "wb").write(gguf([kv("general.name", 8, struct.pack("<Q", 14) + b"evil\x1b[2J\nname\xff")] +
                                                  [p for p in llama2 if b"general.name" not in p]))
# (The 1 MB file with a 65,535-byte key over a million-element array is built by gguf_test.)
