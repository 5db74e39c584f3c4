#!/usr/bin/env python3
"""Writes the small GGUF files the CLI cases read (header only, no tensors). Run from this folder:
   python3 make_gguf.py. The unit tests (tests/gguf_test.cpp) build their own files."""
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
