#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/ (small valid inputs of every reader).
Run with Debian's /usr/bin/python3 (needs numpy); the output is committed."""
import json
import pathlib

import numpy as np
from numpy.lib import format as npformat

root = pathlib.Path(__file__).resolve().parent / "corpus"

npy = root / "npy"
npy.mkdir(parents=True, exist_ok=True)
for dtype in ("<f4", "<f8", "<i4", "<i8"):
    np.save(npy / f"matrix_{dtype[1:]}.npy", (np.arange(12) - 5).astype(dtype).reshape(3, 4))
    np.save(npy / f"scalar_{dtype[1:]}.npy", np.array(7, dtype=dtype))
np.save(npy / "empty.npy", np.zeros((0, 3), dtype="<f4"))
np.save(npy / "qkv_like.npy", np.linspace(-1, 1, 2 * 5 * 4, dtype="<f4").reshape(2, 5, 4))
with open(npy / "v2.npy", "wb") as f:
    npformat.write_array(f, np.ones((2, 2), dtype="<f8"), version=(2, 0))

cfg = root / "hf_config"
cfg.mkdir(parents=True, exist_ok=True)
base = {"hidden_size": 4096, "num_attention_heads": 32, "max_position_embeddings": 4096, "model_type": "llama"}
configs = {
    "llama2": dict(base, num_key_value_heads=32, rope_scaling=None),
    "llama3": dict(base, max_position_embeddings=8192, num_key_value_heads=8, rope_theta=500000.0),
    "mistral": dict(base, max_position_embeddings=32768, num_key_value_heads=8, sliding_window=4096, model_type="mistral"),
    "phi2": {"hidden_size": 2560, "num_attention_heads": 32, "max_position_embeddings": 2048, "partial_rotary_factor": 0.4},
    "gemma7b": {"hidden_size": 3072, "num_attention_heads": 16, "head_dim": 256, "max_position_embeddings": 8192},
    "qwen": dict(base, max_position_embeddings=32768, rope_theta=1e6, sliding_window=32768, use_sliding_window=False),
    "scaled": dict(base, rope_scaling={"type": "linear", "factor": 2.0}),
    "neox": {"hidden_size": 2048, "num_attention_heads": 16, "max_position_embeddings": 2048, "rotary_pct": 0.25},
}
for name, c in configs.items():
    (cfg / f"{name}.json").write_text(json.dumps(c, indent=2) + "\n")

# GGUF headers (version 3, little-endian): scalar keys, per-layer arrays, string arrays.
import struct


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, type_id, payload):
    return gguf_string(key) + struct.pack("<I", type_id) + payload


def gguf_file(pairs, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, 0, len(pairs)) + b"".join(pairs)


U32, I32, F32, BOOL, STRING, ARRAY, U64, F64 = 4, 5, 6, 7, 8, 9, 10, 12
gg = root / "gguf"
gg.mkdir(parents=True, exist_ok=True)
common = [gguf_kv("general.architecture", STRING, gguf_string("llama")),
          gguf_kv("general.name", STRING, gguf_string("seed")),
          gguf_kv("llama.context_length", U32, struct.pack("<I", 4096)),
          gguf_kv("llama.embedding_length", U32, struct.pack("<I", 4096)),
          gguf_kv("llama.attention.head_count", U32, struct.pack("<I", 32))]
(gg / "minimal.gguf").write_bytes(gguf_file(common))
(gg / "full.gguf").write_bytes(gguf_file(common + [
    gguf_kv("llama.attention.head_count_kv", U32, struct.pack("<I", 8)),
    gguf_kv("llama.rope.dimension_count", U32, struct.pack("<I", 128)),
    gguf_kv("llama.rope.freq_base", F32, struct.pack("<f", 500000.0)),
    gguf_kv("llama.rope.scaling.type", STRING, gguf_string("linear")),
    gguf_kv("general.file_type", U32, struct.pack("<I", 15)),
    gguf_kv("tokenizer.ggml.tokens", ARRAY, struct.pack("<IQ", STRING, 3) + b"".join(gguf_string(t) for t in ("a", "bc", "<s>"))),
    gguf_kv("tokenizer.ggml.scores", ARRAY, struct.pack("<IQ", F32, 3) + struct.pack("<3f", 0.0, -1.0, -2.0)),
    gguf_kv("general.flag", BOOL, b"\x01")]))
(gg / "per_layer_heads.gguf").write_bytes(gguf_file(
    [gguf_kv("general.architecture", STRING, gguf_string("phi2")),
     gguf_kv("phi2.context_length", U64, struct.pack("<Q", 2048)),
     gguf_kv("phi2.attention.head_count", ARRAY, struct.pack("<IQ", I32, 4) + struct.pack("<4i", 32, 32, 32, 32)),
     gguf_kv("phi2.attention.key_length", U32, struct.pack("<I", 80)),
     gguf_kv("phi2.rope.dimension_count", U32, struct.pack("<I", 32)),
     gguf_kv("phi2.rope.freq_base", F64, struct.pack("<d", 10000.0))]))
(gg / "version2.gguf").write_bytes(gguf_file(common, version=2))

# Model-facts seeds: the CLI cases' GGUF files with a tensor table and RoPE tensors, hostile
# headers (duplicate key, a zero per-layer head count, control bytes in general.name), and real
# configs of every reader rule (longrope lists, MLA + yarn, ALiBi, ChatGLM, rope_parameters).
import shutil
tests = root.parent.parent
for name in ("llama31", "phi35", "gemma2", "mpt", "duplicate_key", "zero_layer_heads", "control_bytes_name"):
    shutil.copy(tests / "cli" / "data" / f"{name}.gguf", gg / f"{name}.gguf")
for rel in ("phi-3.5-mini", "deepseek-v2-lite", "gemma-2-9b", "mistral-7b-v0.1", "other/mpt-7b", "other/chatglm3-6b",
            "other/llama-3.1-8b-rope-parameters", "other/gemma-3-1b", "other/falcon-7b"):
    shutil.copy(tests / "data" / "configs" / f"{rel}.json", cfg / (rel.replace("/", "_") + ".json"))
(cfg / "control_bytes_name.json").write_text(
    '{"_name_or_path": "evil\\u001b[2J\\nname", "model_type": "llama", "max_position_embeddings": 4096, '
    '"hidden_size": 4096, "num_attention_heads": 32}')
(root / "cli_args" / "model_facts.txt").write_text("model\n--model\nLLAMA-2-7B\n--context\n8192\n--json\n")
