// rope.cpp - names of the RoPE pair layouts and frequency rules, and the rules themselves: the
// inverse frequencies and attention factor of each of transformers' ROPE_INIT_FUNCTIONS.
#include <selfextend/rope.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <numbers>
#include <string>

#include <selfextend/models.hpp>
#include <selfextend/position_map.hpp>

#include "attention_internal.hpp"
#include "checked_math.hpp"

namespace selfextend {

std::string_view to_string(rope_style s) noexcept { return s == rope_style::neox ? "neox" : "gptj"; }

std::optional<rope_style> parse_rope_style(std::string_view text) noexcept {
  if (text == "neox") return rope_style::neox;
  if (text == "gptj") return rope_style::gptj;
  return std::nullopt;
}

std::string_view to_string(rope_scaling_type t) noexcept {
  switch (t) {
    case rope_scaling_type::none: return "default";
    case rope_scaling_type::linear: return "linear";
    case rope_scaling_type::dynamic: return "dynamic";
    case rope_scaling_type::yarn: return "yarn";
    case rope_scaling_type::longrope: return "longrope";
    case rope_scaling_type::llama3: return "llama3";
  }
  return "default";
}

std::optional<rope_scaling_type> parse_rope_scaling_type(std::string_view text) noexcept {
  if (text == "default" || text == "none") return rope_scaling_type::none;
  if (text == "linear") return rope_scaling_type::linear;
  if (text == "dynamic") return rope_scaling_type::dynamic;
  if (text == "yarn") return rope_scaling_type::yarn;
  if (text == "longrope" || text == "su") return rope_scaling_type::longrope;
  if (text == "llama3") return rope_scaling_type::llama3;
  return std::nullopt;
}

std::string_view to_string(rope_pair_change c) noexcept {
  switch (c) {
    case rope_pair_change::kept: return "kept";
    case rope_pair_change::divided: return "divided";
    case rope_pair_change::blended: return "blended";
    case rope_pair_change::rescaled: return "rescaled";
  }
  return "kept";
}

rope_rule rope_rule_of(const model_info& model) {
  return {model.rope_theta, model.rotary_dims, model.max_position_embeddings, model.rope_scaling};
}

rope_rule rope_rule_of(const model_info& model, const layer_run& run) {
  return {run.rope_theta, run.rotary_dims, model.max_position_embeddings,
          run.scaled ? model.rope_scaling : std::nullopt};
}

namespace {

using detail::real_text;

bool positive_finite(double x) { return std::isfinite(x) && x > 0; }

void check_positive(std::vector<issue>& issues, const char* key, const std::optional<double>& value) {
  if (value && !positive_finite(*value))
    issues.push_back({key, real_text(*value), "must be a finite number greater than 0"});
}

void check_list(std::vector<issue>& issues, const char* key, const std::vector<double>& values, std::int64_t pairs,
                bool required) {
  if (values.empty()) {
    if (required) issues.push_back({key, "(absent)", "is required: " + std::to_string(pairs) + " numbers (rotary_dims / 2)"});
    return;
  }
  if (static_cast<std::int64_t>(values.size()) != pairs) {
    issues.push_back({key, std::to_string(values.size()) + (values.size() == 1 ? " value" : " values"),
                      "must hold rotary_dims / 2 = " + std::to_string(pairs) + " values"});
    return;
  }
  for (std::size_t c = 0; c < values.size(); ++c)
    if (!positive_finite(values[c])) {
      issues.push_back({key, real_text(values[c]) + " at index " + std::to_string(c),
                        "every value must be a finite number greater than 0"});
      return;
    }
}

/// original_max_position_embeddings, or max_position_embeddings when unset (transformers'
/// standardize_rope_params does the same for llama3, yarn and longrope).
std::int64_t original_window(const rope_rule& rule) {
  return rule.scaling->original_context.value_or(rule.max_position_embeddings);
}

}  // namespace

std::vector<double> theta_inverse_frequencies(double theta, std::int64_t rotary_dims) {
  std::vector<double> inv(static_cast<std::size_t>(std::max<std::int64_t>(0, rotary_dims / 2)));
  for (std::size_t c = 0; c < inv.size(); ++c)
    inv[c] = std::pow(theta, -2.0 * static_cast<double>(c) / static_cast<double>(rotary_dims));
  return inv;
}

std::vector<issue> validate(const rope_rule& rule) {
  std::vector<issue> issues;
  if (!positive_finite(rule.theta))
    issues.push_back({"rope_theta", real_text(rule.theta), "must be a finite number greater than 0"});
  if (rule.rotary_dims < 2 || rule.rotary_dims % 2 != 0)
    issues.push_back({"rotary_dims", std::to_string(rule.rotary_dims), "must be even and at least 2"});
  else if (rule.rotary_dims > max_rotary_dims)
    issues.push_back({"rotary_dims", std::to_string(rule.rotary_dims),
                      "must be at most " + std::to_string(max_rotary_dims) + " (no model rotates more)"});
  if (!rule.scaling) return issues;
  const rope_scaling& s = *rule.scaling;
  const std::int64_t pairs = std::max<std::int64_t>(1, rule.rotary_dims / 2);
  const rope_scaling_type t = s.type;
  if (t != rope_scaling_type::none && !positive_finite(s.factor))
    issues.push_back({"factor", real_text(s.factor), "must be a finite number greater than 0"});
  const bool needs_window = t == rope_scaling_type::yarn || t == rope_scaling_type::longrope ||
                            t == rope_scaling_type::llama3;
  if (s.original_context && *s.original_context < 1)
    issues.push_back({"original_max_position_embeddings", std::to_string(*s.original_context), "must be at least 1"});
  const bool needs_max = t == rope_scaling_type::dynamic || (needs_window && !s.original_context);
  if (needs_max && rule.max_position_embeddings < 1)
    issues.push_back({"max_position_embeddings", std::to_string(rule.max_position_embeddings),
                      "must be at least 1 (the " + std::string(to_string(t)) + " rule needs it)"});
  if (t == rope_scaling_type::yarn || t == rope_scaling_type::longrope) check_positive(issues, "attention_factor", s.attention_factor);
  if (t == rope_scaling_type::yarn) {
    // transformers reads `beta_fast or 32`: 0 means the default; a negative count of rotations has no log.
    if (s.beta_fast && !(std::isfinite(*s.beta_fast) && *s.beta_fast >= 0))
      issues.push_back({"beta_fast", real_text(*s.beta_fast), "must be a finite number >= 0 (0: the default 32)"});
    if (s.beta_slow && !(std::isfinite(*s.beta_slow) && *s.beta_slow >= 0))
      issues.push_back({"beta_slow", real_text(*s.beta_slow), "must be a finite number >= 0 (0: the default 1)"});
    if (s.mscale && !std::isfinite(*s.mscale)) issues.push_back({"mscale", real_text(*s.mscale), "must be finite"});
    if (s.mscale_all_dim && !std::isfinite(*s.mscale_all_dim))
      issues.push_back({"mscale_all_dim", real_text(*s.mscale_all_dim), "must be finite"});
  }
  // llama.cpp's converter stores the llama3 rule as rope_freqs divisors and drops its keys.
  if (t == rope_scaling_type::llama3 && s.freq_factors.empty()) {
    if (!s.low_freq_factor) issues.push_back({"low_freq_factor", "(absent)", "is required by the llama3 rule"});
    if (!s.high_freq_factor) issues.push_back({"high_freq_factor", "(absent)", "is required by the llama3 rule"});
    check_positive(issues, "low_freq_factor", s.low_freq_factor);
    check_positive(issues, "high_freq_factor", s.high_freq_factor);
    if (s.low_freq_factor && s.high_freq_factor && positive_finite(*s.low_freq_factor) &&
        positive_finite(*s.high_freq_factor) && !(*s.high_freq_factor >= *s.low_freq_factor))
      issues.push_back({"high_freq_factor", real_text(*s.high_freq_factor),
                        "must be at least low_freq_factor (" + real_text(*s.low_freq_factor) + ")"});
  }
  if (t == rope_scaling_type::longrope) {
    check_list(issues, "short_factor", s.short_factor, pairs, true);
    check_list(issues, "long_factor", s.long_factor, pairs, true);
  }
  check_list(issues, "rope_freqs", s.freq_factors, pairs, false);
  return issues;
}

namespace {

/// yarn: the pair index at which `rotations` full turns fit in `window` tokens:
/// R·ln(window / (rotations·2π)) / (2·ln theta).
double yarn_correction_dim(double rotations, double rotary, double theta, double window) {
  return rotary * std::log(window / (rotations * 2 * std::numbers::pi)) / (2 * std::log(theta));
}

/// yarn's magnitude correction: 1 for a factor <= 1, else 0.1·m·ln(factor) + 1.
double yarn_mscale(double factor, double m) { return factor <= 1 ? 1.0 : 0.1 * m * std::log(factor) + 1.0; }

void evaluate_yarn(const rope_rule& rule, rope_frequencies& f) {
  const rope_scaling& s = *rule.scaling;
  const auto rotary = static_cast<double>(rule.rotary_dims);
  if (s.attention_factor) {
    f.attention_factor = *s.attention_factor;
  } else if (s.mscale.value_or(0) != 0 && s.mscale_all_dim.value_or(0) != 0) {
    f.attention_factor = yarn_mscale(f.factor, *s.mscale) / yarn_mscale(f.factor, *s.mscale_all_dim);
    f.notes.push_back("attention factor: mscale(factor, mscale) / mscale(factor, mscale_all_dim)");
  } else {
    f.attention_factor = yarn_mscale(f.factor, 1.0);
  }
  if (!positive_finite(f.attention_factor))
    throw invalid_params("mscale", real_text(s.mscale.value_or(0)),
                         "gives attention factor " + real_text(f.attention_factor) + "; it must be finite and > 0");
  const double beta_fast = s.beta_fast.value_or(0) != 0 ? *s.beta_fast : 32.0;
  const double beta_slow = s.beta_slow.value_or(0) != 0 ? *s.beta_slow : 1.0;
  const auto window = static_cast<double>(f.original_context);
  double low = yarn_correction_dim(beta_fast, rotary, rule.theta, window);
  double high = yarn_correction_dim(beta_slow, rotary, rule.theta, window);
  if (s.truncate.value_or(true)) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  // The clamp is against R − 1 although the ramp runs over R/2 pairs: transformers' bound, kept.
  low = std::max(low, 0.0);
  high = std::min(high, rotary - 1);
  f.ramp_low = low;
  f.ramp_high = high;
  if (low == high) high += 0.001;  // transformers' guard against a zero-width ramp
  for (std::size_t c = 0; c < f.inv_freq.size(); ++c) {
    const double ramp = std::clamp((static_cast<double>(c) - low) / (high - low), 0.0, 1.0);
    const double extrapolated = f.theta_inv_freq[c];
    const double interpolated = extrapolated / f.factor;
    f.inv_freq[c] = interpolated * ramp + extrapolated * (1 - ramp);
    f.change[c] = ramp == 0 ? rope_pair_change::kept : ramp == 1 ? rope_pair_change::divided : rope_pair_change::blended;
  }
}

void evaluate_llama3(const rope_rule& rule, rope_frequencies& f) {
  const rope_scaling& s = *rule.scaling;
  const auto window = static_cast<double>(f.original_context);
  const double low_factor = *s.low_freq_factor;
  const double high_factor = *s.high_freq_factor;
  const double low_freq_wavelength = window / low_factor;
  const double high_freq_wavelength = window / high_factor;
  for (std::size_t c = 0; c < f.inv_freq.size(); ++c) {
    const double base = f.theta_inv_freq[c];
    const double wavelength = 2 * std::numbers::pi / base;
    if (wavelength > low_freq_wavelength) {
      f.inv_freq[c] = base / f.factor;
      f.change[c] = rope_pair_change::divided;
    } else if (wavelength < high_freq_wavelength) {
      f.inv_freq[c] = base;
      f.change[c] = rope_pair_change::kept;
    } else if (high_factor == low_factor) {
      // Equal factors (Llama-4-Scout) make the rule a step; transformers computes 0/0 for a
      // wavelength exactly on the step, so there is no value to match.
      throw invalid_params("high_freq_factor", real_text(high_factor),
                           "equals low_freq_factor, and pair " + std::to_string(c) + "'s wavelength is exactly original_context / "
                           "low_freq_factor, where the llama3 rule divides 0 by 0");
    } else {
      const double smooth = (window / wavelength - low_factor) / (high_factor - low_factor);
      f.inv_freq[c] = (1 - smooth) * base / f.factor + smooth * base;
      f.change[c] = rope_pair_change::blended;
    }
  }
}

}  // namespace

rope_frequencies evaluate_rope(const rope_rule& rule, std::int64_t sequence_length) {
  std::vector<issue> issues = validate(rule);
  if (sequence_length < 0) issues.push_back({"tokens", std::to_string(sequence_length), "must be at least 0"});
  if (!issues.empty()) throw invalid_params(std::move(issues));

  rope_frequencies f;
  f.sequence_length = sequence_length;
  f.theta_inv_freq = theta_inverse_frequencies(rule.theta, rule.rotary_dims);
  f.inv_freq = f.theta_inv_freq;
  f.change.assign(f.inv_freq.size(), rope_pair_change::kept);
  const auto rotary = static_cast<double>(rule.rotary_dims);
  if (rule.scaling) {
    const rope_scaling& s = *rule.scaling;
    f.type = s.type;
    f.factor = s.type == rope_scaling_type::none ? 1.0 : s.factor;
    switch (s.type) {
      case rope_scaling_type::none: break;
      case rope_scaling_type::linear:
        for (std::size_t c = 0; c < f.inv_freq.size(); ++c) {
          f.inv_freq[c] = f.theta_inv_freq[c] / f.factor;
          f.change[c] = f.factor == 1 ? rope_pair_change::kept : rope_pair_change::divided;
        }
        break;
      case rope_scaling_type::dynamic: {
        const auto reference = static_cast<double>(rule.max_position_embeddings);
        const std::int64_t length = std::max(sequence_length, rule.max_position_embeddings);
        const double grown = f.factor * static_cast<double>(length) / reference - (f.factor - 1);
        // R = 2 has one pair, c = 0, whose frequency is 1 whatever the base (the exponent is 0).
        f.dynamic_theta = rule.rotary_dims == 2 ? rule.theta : rule.theta * std::pow(grown, rotary / (rotary - 2));
        if (!positive_finite(f.dynamic_theta))
          throw invalid_params("factor", real_text(f.factor),
                               "grows rope_theta to " + real_text(f.dynamic_theta) + " at " + std::to_string(length) +
                                   " tokens; it must stay finite and > 0");
        f.inv_freq = theta_inverse_frequencies(f.dynamic_theta, rule.rotary_dims);
        for (std::size_t c = 0; c < f.inv_freq.size(); ++c)
          f.change[c] = f.inv_freq[c] == f.theta_inv_freq[c] ? rope_pair_change::kept : rope_pair_change::rescaled;
        f.notes.push_back("evaluated for " + std::to_string(length) + " tokens (max(tokens, max_position_embeddings " +
                          std::to_string(rule.max_position_embeddings) + "))");
        break;
      }
      case rope_scaling_type::yarn:
        f.original_context = original_window(rule);
        evaluate_yarn(rule, f);
        break;
      case rope_scaling_type::longrope: {
        f.original_context = original_window(rule);
        f.long_factors = sequence_length > f.original_context;
        const std::vector<double>& ext = f.long_factors ? s.long_factor : s.short_factor;
        for (std::size_t c = 0; c < f.inv_freq.size(); ++c) {
          f.inv_freq[c] = 1.0 / (ext[c] * std::pow(rule.theta, 2.0 * static_cast<double>(c) / rotary));
          f.change[c] = ext[c] == 1 ? rope_pair_change::kept : rope_pair_change::rescaled;
        }
        if (s.attention_factor)
          f.attention_factor = *s.attention_factor;
        else if (f.factor > 1)
          f.attention_factor =
              std::sqrt(1 + std::log(f.factor) / std::log(static_cast<double>(f.original_context)));
        f.notes.push_back(std::string(f.long_factors ? "long" : "short") + "_factor: " +
                          std::to_string(sequence_length) + (f.long_factors ? " > " : " <= ") +
                          "original_max_position_embeddings " + std::to_string(f.original_context));
        break;
      }
      case rope_scaling_type::llama3:
        if (!s.freq_factors.empty()) break;  // the rope_freqs divisors below are the rule
        f.original_context = original_window(rule);
        evaluate_llama3(rule, f);
        break;
    }
    if (!s.freq_factors.empty()) {
      // llama.cpp divides theta's frequencies by freq_factors before its linear/yarn scaling, which
      // is linear in the frequency per pair: dividing the rule's result is the same.
      const bool as_llama3 = s.type == rope_scaling_type::llama3;
      for (std::size_t c = 0; c < f.inv_freq.size(); ++c) {
        const double divisor = s.freq_factors[c];
        f.inv_freq[c] /= divisor;
        if (as_llama3)
          f.change[c] = divisor == 1          ? rope_pair_change::kept
                        : divisor == f.factor ? rope_pair_change::divided
                                              : rope_pair_change::blended;
        else if (divisor != 1 && f.change[c] == rope_pair_change::kept)
          f.change[c] = rope_pair_change::rescaled;
      }
      f.notes.push_back(as_llama3 ? "the llama3 rule as the GGUF rope_freqs divisors (llama.cpp's converter form)"
                                  : "divided per pair by the GGUF rope_freqs factors");
    }
  }
  f.wavelength.resize(f.inv_freq.size());
  for (std::size_t c = 0; c < f.inv_freq.size(); ++c) {
    if (!positive_finite(f.inv_freq[c]))
      throw invalid_params("rope_theta", real_text(rule.theta),
                           "gives inverse frequency " + real_text(f.inv_freq[c]) + " at pair " + std::to_string(c) +
                               " under the " + std::string(to_string(f.type)) + " rule; every one must be finite and > 0");
    f.wavelength[c] = 2 * std::numbers::pi / f.inv_freq[c];
  }
  return f;
}

std::int64_t plan_rotation_positions_bound(const plan& extension, std::int64_t tokens) noexcept {
  if (tokens < 1) return 0;
  // 0..N-1, and at most one new (fractional) position per query i >= W.
  const detail::wide_int bound = detail::wide_int{tokens} + std::max<detail::wide_int>(0, detail::wide_int{tokens} - extension.window);
  return detail::saturate(bound);
}

std::vector<double> plan_rotation_positions(const plan& extension, std::int64_t tokens) {
  require_valid(extension);
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  std::vector<double> positions;
  positions.reserve(static_cast<std::size_t>(tokens));
  for (std::int64_t p = 0; p < tokens; ++p) positions.push_back(static_cast<double>(p));
  for (std::int64_t i = extension.window; i < tokens; ++i) positions.push_back(group_query_position_real(i, extension));
  std::sort(positions.begin(), positions.end());
  positions.erase(std::unique(positions.begin(), positions.end()), positions.end());
  return positions;
}

std::int64_t rope_angle_table_bytes(std::int64_t positions, std::int64_t pairs) noexcept {
  const detail::wide_int bytes = detail::wide_int{positions} * pairs * 2 * 8 + detail::wide_int{positions} * 8;
  return bytes > detail::wide_int{detail::int64_max} ? detail::int64_max : static_cast<std::int64_t>(bytes);
}

rope_angle_table plan_rope_angles(const rope_frequencies& frequencies, const plan& extension, std::int64_t tokens,
                                  std::int64_t memory_limit, bool force) {
  require_valid(extension);
  if (tokens < 1) throw invalid_params("tokens", std::to_string(tokens), "must be at least 1");
  const auto pairs = static_cast<std::int64_t>(frequencies.inv_freq.size());
  const std::int64_t most = plan_rotation_positions_bound(extension, tokens);
  // The positions themselves count too: refused before any of them is listed.
  const std::int64_t bytes = rope_angle_table_bytes(most, pairs);
  if (bytes > memory_limit && !force)
    throw invalid_params("positions_for", "up to " + std::to_string(most) + " positions x " + std::to_string(pairs) + " pairs",
                         "the cos/sin table needs up to " + detail::format_bytes(bytes) + ", more than the limit of " +
                             detail::format_bytes(memory_limit) + " (use force to build it anyway)");
  const std::vector<double> positions = plan_rotation_positions(extension, tokens);
  return rope_angles(frequencies, positions, memory_limit, true);
}

rope_angle_table rope_angles(const rope_frequencies& frequencies, std::span<const double> positions,
                             std::int64_t memory_limit, bool force) {
  const auto pairs = static_cast<std::int64_t>(frequencies.inv_freq.size());
  const std::int64_t bytes = rope_angle_table_bytes(static_cast<std::int64_t>(positions.size()), pairs);
  if (bytes > memory_limit && !force)
    throw invalid_params("positions", std::to_string(positions.size()) + " positions x " + std::to_string(pairs) + " pairs",
                         "the cos/sin table needs " + detail::format_bytes(bytes) + ", more than the limit of " +
                             detail::format_bytes(memory_limit) + "; use `force` to build it anyway");
  for (std::size_t n = 0; n < positions.size(); ++n)
    if (!std::isfinite(positions[n]))
      throw invalid_params("positions", real_text(positions[n]) + " at index " + std::to_string(n), "must be finite");
  rope_angle_table t;
  t.pairs = static_cast<std::int64_t>(frequencies.inv_freq.size());
  t.positions.assign(positions.begin(), positions.end());
  t.cos.resize(positions.size() * frequencies.inv_freq.size());
  t.sin.resize(t.cos.size());
  std::size_t e = 0;
  for (const double p : positions)
    for (const double inv : frequencies.inv_freq) {
      t.cos[e] = frequencies.attention_factor * std::cos(p * inv);
      t.sin[e] = frequencies.attention_factor * std::sin(p * inv);
      ++e;
    }
  return t;
}

}  // namespace selfextend
