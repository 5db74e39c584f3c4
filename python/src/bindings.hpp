// bindings.hpp - the module's parts and their docstrings. The examples are the C++ headers' own,
// and tests/python runs them as doctests.
#pragma once

#include <pybind11/pybind11.h>

namespace sxpy {

/// check, advise, position_tables, dense_map, reuse, llamacpp, model, rope.
void bind_planning(pybind11::module_& m);
/// attention, verify.
void bind_kernels(pybind11::module_& m);

namespace docs {

inline constexpr const char* module = R"doc(Plan and verify Self-Extend (LongLM) context extension.

The Python face of selfextend-planner: one function per `sxplan` command, over the same library.
Results are dicts with exactly the keys of the command's JSON `result` (docs/json.md); arrays the
library computes are NumPy arrays over its own memory (no copy). Bad input raises InvalidParams
(a ValueError carrying .issues, with the CLI's messages); a file that cannot be opened raises
OSError; an argument of the wrong Python type raises TypeError. Long calls release the GIL.

>>> import selfextend_planner as sp
>>> sp.advise(15800, model="llama-2-7b")["recommended"]["group"]
9
)doc";

inline constexpr const char* check = R"doc(check(tokens, group=None, window=None, *, context=None, model=None, config=None, gguf=None, shift="int", method="selfextend", chunk_size=None, local_window=None, leak=None, start_size=None, recent_size=None) -> dict

Judge one plan (G, W) for N tokens: `sxplan check`. Give exactly one of context (L in tokens),
model (a preset name), config (a config.json path) or gguf (a GGUF path).
Keys: capacity_exact, capacity_paper, max_position, effective_reach, reach_ratio, fits,
satisfies_half, satisfies_two_thirds, verdict, fractional_offset, warnings.

Another method (dca, rerope, leaky-rerope, streaming, with its keywords as the CLI's flags;
rerope/leaky-rerope take window, group and shift are refused) returns its compare row for the
given parameters; dca on a model stating dual_chunk_attention_config defaults to the model's own.

>>> r = sp.check(15800, 5, 1024, context=4096)
>>> r["max_position"], r["effective_reach"], r["verdict"]
(3979, 3979.2, 'less_trained')
>>> sp.check(16000, context=4096, method="dca", chunk_size=3072, local_window=512)["largest_position"]
3072.0
)doc";

inline constexpr const char* advise = R"doc(advise(tokens, *, context=None, model=None, config=None, gguf=None, window=None, group=None, target="two_thirds", max_group=None, top=None, shift=None, runtime="longlm") -> dict

Rank plans (G, W) for reading N tokens: `sxplan advise`. window/group fix W or G; target is
"two_thirds" or "half"; max_group None means the advisor's default (64, passed only when no plan
within it fits), a number is a hard cap (NoSolution when nothing within it fits); top (default 5) and
shift (default "int") shape LongLM's ranking and are refused with runtime="llamacpp", which returns
llama-cli flags instead (the `advise --runtime llamacpp` result keys).
Keys (longlm): extension_needed, recommended, candidates, past_max_group, capped,
window_for_min_groups, min_group_for_capacity, min_group_for_two_thirds, min_group_for_half.

>>> r = sp.advise(15800, model="llama-2-7b")["recommended"]
>>> r["group"], r["window"]
(9, 1026)
>>> sp.advise(15800, model="llama-2-7b", runtime="llamacpp")["arguments"]
['-c', '15872', '-b', '1017', '--grp-attn-n', '9', '--grp-attn-w', '1017']
)doc";

inline constexpr const char* position_tables = R"doc(position_tables(tokens, group=None, window=None, *, shift="int", method="selfextend", chunk_size=None, local_window=None, leak=None, start_size=None, recent_size=None) -> dict

The four per-token position arrays a runtime needs (`sxplan table`, tokens layout): keys
fractional_offset, neighbor_query_position, neighbor_key_position, group_query_position,
group_key_position. Arrays are int64 [N]; group_query_position is float64 with shift="float".
The pair (i, j), j <= i, uses the neighbor arrays iff i - j < window, else the group arrays.

Another method returns two arrays per branch, <branch>_query_position and <branch>_key_position
(int64, float64 for leaky-rerope), as `sxplan table --method`.

>>> sp.position_tables(6, 2, 4)["group_query_position"].tolist()
[2, 2, 3, 3, 4, 4]
>>> sp.position_tables(6, method="dca", chunk_size=5, local_window=1)["successive_query_position"].tolist()
[4, 5, 5, 5, 4, 5]
)doc";

inline constexpr const char* dense_map = R"doc(dense_map(tokens, group=None, window=None, *, phase="prefill", shift="int", force=False, method="selfextend", chunk_size=None, local_window=None, leak=None, start_size=None, recent_size=None) -> dict

The relative position of every pair (`sxplan table --layout dense`): keys fractional_offset and
relative_position, int64 [N, N] for prefill or [N] (the row of query N - 1) for decode, -1 above
the diagonal; float64 with shift="float". Above 1 GiB it is refused unless force=True. Another
method: relative_position alone, -2 for keys it does not attend.

>>> sp.dense_map(10, 2, 4)["relative_position"][9].tolist()
[6, 6, 5, 5, 4, 4, 3, 2, 1, 0]
)doc";

inline constexpr const char* reuse = R"doc(reuse(tokens, group=None, window=None, *, context=None, model=None, config=None, gguf=None, shift="int", force=False, method="selfextend", chunk_size=None, local_window=None, leak=None, start_size=None, recent_size=None) -> dict

How often each relative position is used by the N(N+1)/2 causal pairs (`sxplan reuse`), in closed
form. Keys as the JSON result: max_position, total_pairs, counts, neighbor_counts, group_counts
(int64 arrays [max_position + 1]), the ranges and the shares past L/2 and 2L/3.

Another method: branches, branch_pairs, attended_pairs, dropped_pairs, counts and branch_counts
per position bucket (`sxplan reuse --method`). force=True keeps arrays above 1 GiB.

>>> r = sp.reuse(10, 2, 4, context=16)
>>> r["counts"].tolist(), r["total_pairs"]
([10, 9, 8, 7, 9, 8, 4], 55)
>>> sp.reuse(10, context=16, method="streaming", start_size=1, recent_size=3)["dropped_pairs"]
15
)doc";

inline constexpr const char* llamacpp = R"doc(llamacpp(tokens, ga_n, ga_w=None, *, generate=0, batch=2048, mode="main", rows=None, context=None, model=None, config=None, gguf=None) -> dict

The positions llama.cpp's group attention assigns (`sxplan llamacpp`): a prompt of `tokens`
decoded in chunks of `batch`, then `generate` tokens one at a time; ga_n/ga_w are --grp-attn-n/-w
(ga_w only in mode "main"; "passkey" groups by batch). rows: query indices whose relative positions
to show. query_position and final_position are int64 arrays [tokens + generate].

>>> r = sp.llamacpp(32, 2, 8, batch=8, generate=1, context=4096)
>>> int(r["query_position"][32]), r["final_position"][:8].tolist()
(16, [0, 0, 1, 1, 2, 2, 3, 3])
)doc";

inline constexpr const char* compare = R"doc(compare(tokens, *, model=None, config=None, gguf=None, context=None) -> dict

Every position-remap method side by side for N tokens (`sxplan compare`): {"methods": [...]}, one
row each for selfextend, dca, rerope, leaky-rerope and streaming with its recommended parameters,
reasons, largest_position, fits, capacity, dropped_pairs, attended_share, attention_cost, kv_memory
and runtime_needs (docs/json.md). A model's own dual_chunk_attention_config sets the DCA row.

>>> rows = sp.compare(16000, model="llama-2-7b")["methods"]
>>> [r["parameters"]["method"] for r in rows]
['selfextend', 'dca', 'rerope', 'leaky-rerope', 'streaming']
>>> rows[1]["largest_position"]
3072.0
)doc";

inline constexpr const char* compare_svg = R"doc(compare_svg(tokens, *, model=None, config=None, gguf=None, context=None) -> str

The methods' maps side by side as a standalone SVG document (`sxplan compare --svg`): one panel
per row of compare() with its recommended parameters, the causal triangle of N tokens in 64 x 64
cells coloured by relative position on one scale 0 ... L - 1, red past L - 1, grey where a key is
not attended (docs/methods.md). The same text `sxplan compare --svg FILE` writes to FILE; its cost
does not grow with N.

>>> svg = sp.compare_svg(16000, model="llama-2-7b")
>>> svg.startswith("<?xml") and svg.count("<g>\n<title>")
5
)doc";

inline constexpr const char* write_table = R"doc(write_table(path, tokens, group=None, window=None, *, shift="int", phase="prefill", layout="tokens", format=None, force=False, method="selfextend", chunk_size=None, local_window=None, leak=None, start_size=None, recent_size=None) -> dict

Writes the position table to path as `sxplan table -o` does, byte for byte: format json, csv, npy,
safetensors or c-header (default: from the extension), the tokens or dense layout, any method.
Atomic: a refused or failed write leaves no file. Returns the `table -o --json` result: output,
bytes, arrays [{name, dtype, shape}]. A bad request is InvalidParams before anything is created;
a write that fails is OSError.

>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "se.npy")
>>> sp.write_table(p, 16, 2, 4)["arrays"]
[{'name': 'positions', 'dtype': 'int64', 'shape': [4, 16]}]
)doc";

inline constexpr const char* reuse_svg = R"doc(reuse_svg(tokens, group, window, *, context=None, model=None, config=None, gguf=None, shift="int", buckets=64, path=None) -> str

The reuse chart of `sxplan reuse --svg` as SVG text (stacked neighbor and group bars, the L/2,
2L/3 and L marks), in O(buckets) memory whatever N is; with path= also written there atomically,
the same bytes as the CLI's file (a path that is the config or GGUF read is refused).

>>> sp.reuse_svg(15800, 8, 1024, model="llama-2-7b").startswith("<?xml")
True
)doc";

inline constexpr const char* write_rope = R"doc(write_rope(path, *, model=None, config=None, gguf=None, layer_type=None, rope_theta=None, rotary_dims=None, rope_style=None, rope_scaling=None, ...the rule's keys, tokens=None, positions_for=None, shift=None, force=False) -> dict

Writes a RoPE rule's inverse frequencies as `sxplan rope -o` does, byte for byte: path.npy holds
inv_freq [R/2] float64; path.safetensors holds inv_freq and, with positions_for=(G, W, N), the
positions that plan rotates at with their cos and sin [P, R/2] (the attention factor included) and
the metadata. The rule comes from the keywords rope() takes. Returns {path, arrays}.

>>> import os, tempfile
>>> p = os.path.join(tempfile.mkdtemp(), "inv_freq.npy")
>>> sp.write_rope(p, model="llama-2-7b")["arrays"]
[{'name': 'inv_freq', 'dtype': 'float64', 'shape': [64]}]
)doc";

inline constexpr const char* model = R"doc(model(*, model=None, config=None, gguf=None, context=None) -> dict

Every fact read about a model and where each came from (`sxplan model`): {"model": facts}, the
facts keyed as docs/json.md lists them (position_encoding, context, context_source, rope_theta,
rope_style, head_dim, rotary_dims, heads, kv_heads, sliding_window, rope_scaling, ...). context=
plans against that L instead. Any model is shown, RoPE or not; its warnings are also issued as
Python warnings, as every function naming a model does.

>>> f = sp.model(model="llama-2-7b")["model"]
>>> f["context"], f["rope_theta"], f["head_dim"]
(4096, 10000.0, 128)
)doc";

inline constexpr const char* rope = R"doc(rope(*, model=None, config=None, gguf=None, rope_theta=10000.0, rotary_dims=None, rope_style="neox", max_position_embeddings=None, rope_scaling=None, factor=None, original_max_position_embeddings=None, attention_factor=None, beta_fast=None, beta_slow=None, mscale=None, mscale_all_dim=None, truncate=None, low_freq_factor=None, high_freq_factor=None, short_factor=None, long_factor=None, rope_freqs=None, tokens=None) -> dict

A RoPE frequency rule evaluated for `tokens` keys (`sxplan rope`): the model's (model=, config=,
gguf=), or for rotary_dims without one the theta rule, scaled when rope_scaling names a rule
("linear", "dynamic", "yarn", "longrope" or "su", "llama3") whose keys are config.json's
(factor, original_max_position_embeddings, beta_fast, ..., short_factor and long_factor as
sequences); rope_freqs are GGUF's per-pair divisors. Keys of the result: rope_type, attention_factor,
factor, original_max_position_embeddings, tokens, pairs, inv_freq, wavelength, theta_inv_freq
(float64 arrays [rotary_dims/2]), change, change_counts, dynamic_theta, long_factors, ramp, notes,
output (None: nothing is written).

>>> r = sp.rope(rotary_dims=8)
>>> r["inv_freq"].tolist(), r["rope_type"]
([1.0, 0.1, 0.01, 0.001], 'default')
>>> sp.rope(rotary_dims=8, rope_scaling="linear", factor=2.0)["inv_freq"].tolist()
[0.5, 0.05, 0.005, 0.0005]
)doc";

inline constexpr const char* attention = R"doc(attention(q, k, v, group=None, window=None, *, kernel="tiled", method="selfextend", chunk_size=None, local_window=None, leak=16.0, start_size=4, recent_size=2000, shift="int", rope_theta=10000.0, rope_style="neox", rotary_dims=None, scale_base=None, inv_freq=None, attention_factor=None, model=None, config=None, gguf=None, threads=0, force=False) -> numpy.ndarray

Self-Extend attention (`sxplan attend`): q [H, Nq, D] or [Nq, D], k and v [Hkv, Nk, D] or [Nk, D],
float32 or float64, C-contiguous; H a multiple of Hkv; 1 <= Nq <= Nk, the queries at positions
Nk - Nq .. Nk - 1 (Nq = Nk prefill, a chunk, or 1 to decode). Returns q's shape and dtype. kernel
"tiled" (float32, multi-threaded), "reference" (float64, the definition) or "blocked" (float64,
blocked and multi-threaded: the fast oracle, within 1e-12 of the reference). model/config/gguf set
rope_theta, rope_style and rotary_dims from the model instead. inv_freq (rotary_dims/2 positive
numbers) replaces the theta rule, attention_factor scales cos and sin; scale_base enables log
scaling; threads 0 means every core; force runs past the 8 GiB working memory guard. The GIL is
released while it computes. method (docs/methods.md) picks another position-remap method, with
its parameters as `sxplan attend --method`'s flags: dca chunk_size and local_window, rerope window,
leaky-rerope window and leak, streaming start_size and recent_size (group and window are then
None, window for the ReRoPEs); it runs on "tiled" and "reference" ("blocked" is Self-Extend's).

>>> import numpy as np
>>> q = np.ones((2, 2), np.float32); v = np.array([[1, 2], [3, 4]], np.float32)
>>> sp.attention(q, q, v, 1, 4)[0].tolist()
[1.0, 2.0]
)doc";

inline constexpr const char* verify = R"doc(verify(q, k, v, candidate, group=None, window=None, *, atol=1e-5, rtol=1e-3, oracle="blocked", method="selfextend", ...attention's method parameters, shift="int", rope_theta=10000.0, rope_style="neox", rotary_dims=None, scale_base=None, inv_freq=None, attention_factor=None, model=None, config=None, gguf=None, threads=0, force=False) -> dict

Check a runtime's attention output against the float64 result (`sxplan verify`), computed by
oracle "blocked" (the fast kernel, default) or "reference" (the definition): passes iff every
element has |candidate - reference| <= atol + rtol*|reference|. Keys: max_abs_error,
max_rel_error, nmse, worst {head, token, dim}, worst_candidate, worst_reference, mismatches,
elements, passed. The GIL is released while it computes. With method= another method's output
is checked against that method's reference kernel (oracle "reference", its default and only one).

>>> rng = np.random.default_rng(0)
>>> q, k, v = (rng.standard_normal((12, 8)) for _ in range(3))
>>> sp.verify(q, k, v, sp.attention(q, k, v, 3, 4), 3, 4)["passed"]
True
)doc";

}  // namespace docs

}  // namespace sxpy
