// conformance.hpp - the conformance suite a porter runs through their runtime: named cases, each
// chosen to catch one classic Self-Extend porting bug, with seeded inputs and the reference output.
// Files and the manifest are written and read by conformance_suite.hpp (selfextend::planner_io).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <selfextend/attention.hpp>
#include <selfextend/methods.hpp>
#include <selfextend/models.hpp>

namespace selfextend {

/// One case of the suite: the kernel inputs besides the tensors, the tolerance a correct float32
/// runtime meets, and the bug a failure usually means.
struct conformance_case {
  std::string name;         ///< what it tests, e.g. "decode_p_lt_w"; also its directory name
  attention_params params;  ///< plan, RoPE (inv_freq, attention_factor included) and shape
  tolerance tol;            ///< |out - expected| <= atol + rtol·|expected|
  std::string catches;      ///< the bug this case is there to catch, in a sentence
  /// Another position-remap method's case (its kind not self_extend): params.extension is then
  /// not read and the reference is reference_method_attention.
  method_params method = {};
  friend bool operator==(const conformance_case&, const conformance_case&) = default;
};

/// What the suite is built for.
struct conformance_options {
  /// Head dim, heads per kv head, RoPE theta, rotary fraction, pair layout and context L come from
  /// the model when given; otherwise a generic small head (D = 64, theta 10000, neox, L = 4096).
  /// Cases about one feature (partial rotary, gptj, GQA) set that feature whatever the model.
  std::optional<model_info> model;
  std::uint64_t seed = 0;  ///< seeds every case's q, k, v
  /// Whose suite: Self-Extend's (the list below), or another method's own cases (its boundaries,
  /// decode and chunked prefill, GQA), with parameters of the suite's choosing.
  method_kind method = method_kind::self_extend;
};

/// The cases, in a fixed order: window boundary with W mod G != 0 and = 0, float vs int shift,
/// N <= W, N = W + 1, G = 1, W = 1, decode at p < W, p = W, p > W (int and float shift), chunked
/// prefill straddling and past W, GQA 4:1 and 2:1, partial rotary (Phi-2), gptj (full and
/// partial), log scaling, a large theta, a scaled frequency rule with an attention factor, and a
/// chunk at the end of a cache near the plan's capacity. Names are unique and directory-safe.
/// Another method's suite (options.method): DCA within the first chunk, across one and several
/// chunks, decode and chunked prefill, GQA; ReRoPE and Leaky ReRoPE at the window and past it
/// (decode, chunked prefill); StreamingLLM before and after eviction, without sinks, decode.
/// Throws invalid_params (key "model") when the model lacks a head_dim or its context is too short
/// for the long case.
[[nodiscard]] std::vector<conformance_case> conformance_cases(const conformance_options& options);

/// A case's tensors: q, k, v (float32, entries ~ N(0, 1), from the seed and the case's name) and
/// the reference output computed in double from exactly those float values (reference_attention,
/// or reference_method_attention for another method's case).
struct conformance_tensors {
  std::vector<float> q, k, v;     ///< [H, Nq, D], [Hkv, Nk, D], [Hkv, Nk, D]
  std::vector<double> expected;   ///< [H, Nq, D], reference_attention
};
[[nodiscard]] conformance_tensors conformance_data(const conformance_case& c, std::uint64_t seed);

}  // namespace selfextend
