// model_facts.cpp - the rules that turn facts read from a preset, a config.json or a GGUF file into
// the facts a plan uses, and the warnings every planning command prints about them.
#include <selfextend/models.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <string>

namespace selfextend {

std::string_view to_string(position_encoding e) noexcept {
  switch (e) {
    case position_encoding::rope: return "rope";
    case position_encoding::alibi: return "alibi";
    case position_encoding::absolute: return "absolute";
    case position_encoding::unknown: return "unknown";
  }
  return "unknown";
}

std::string_view to_string(sliding_layers s) noexcept {
  switch (s) {
    case sliding_layers::none: return "none";
    case sliding_layers::all: return "all";
    case sliding_layers::alternating: return "alternating";
    case sliding_layers::last: return "last";
    case sliding_layers::listed: return "listed";
  }
  return "none";
}

namespace {

/// Length of the valid UTF-8 sequence starting at s[i], 0 when it is not one (overlong forms,
/// surrogates and code points above U+10FFFF are invalid, as RFC 3629 says).
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) { n = 3; low = 0xA0; }
  else if (c >= 0xE1 && c <= 0xEC) n = 3;
  else if (c == 0xED) { n = 3; high = 0x9F; }
  else if (c >= 0xEE && c <= 0xEF) n = 3;
  else if (c == 0xF0) { n = 4; low = 0x90; }
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) { n = 4; high = 0x8F; }
  else return 0;
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

std::string number(double v) {
  std::array<char, 32> buffer{};
  const auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v);
  return std::string(buffer.data(), r.ptr);
}

std::string scaling_warning(const model_info& m, const rope_scaling& s, bool context_given) {
  const std::string type(to_string(s.type));
  const std::string factor = "\xC3\x97" + number(s.factor);  // "×"
  const std::string L = std::to_string(m.context);
  if (s.type == rope_scaling_type::dynamic) {
    const std::int64_t from = s.original_context.value_or(m.advertised_context.value_or(m.context));
    return "dynamic RoPE scaling " + factor + " past " + std::to_string(from) + ": planning with L = " + L +
           "; Self-Extend keeps positions below L, where the rule leaves theta as trained";
  }
  if (!s.original_context)
    return type + " RoPE scaling " + factor + " (the file does not state the original window): planning with L = " + L +
           "; give the original window as context to plan against it";
  const std::string from = std::to_string(*s.original_context);
  if (context_given) return type + " RoPE scaling " + factor + " from " + from + ": planning with the given L = " + L;
  return type + " RoPE scaling " + factor + " from " + from + ": planning with L = " + L + "; give context " + from +
         " to plan against the original window";
}

}  // namespace

std::string printable(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (const std::size_t n = utf8_length(text, i); n != 0) {
        // U+0080..U+009F are C1 control characters: escape them like C0 ones.
        const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
        if (!c1) {
          out.append(text.substr(i, n));
          i += n;
          continue;
        }
      }
    }
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 0xf];
    ++i;
  }
  return out;
}

void finish_model_facts(model_info& m, const fact_overrides& overrides, const std::string& key,
                        const std::string& file) {
  m.warnings.clear();
  m.name = printable(m.name);
  m.architecture = printable(m.architecture);
  const bool context_given = overrides.context.has_value();
  if (context_given) {
    m.context = *overrides.context;
    m.context_source = "given";
  }
  const bool rope_like = m.encoding == position_encoding::rope || m.encoding == position_encoding::unknown;
  if (m.context == 0 && !context_given && rope_like)
    throw invalid_params(key, file, "states no context length; give the context L the model was trained with");
  m.max_position_embeddings = m.advertised_context.value_or(0);

  if (m.sliding_window && m.sliding != sliding_layers::none && *m.sliding_window >= m.context) {
    m.notes.push_back("sliding_window " + std::to_string(*m.sliding_window) + " >= L = " + std::to_string(m.context) +
                      ": no window ever applies");
    m.sliding_window.reset();
  }
  if (!m.sliding_window) {
    m.sliding = sliding_layers::none;
    m.sliding_period = 0;
    m.sliding_layer_count.reset();
  }
  if (m.sliding_window && m.sliding == sliding_layers::none) m.sliding = sliding_layers::all;

  if (m.encoding == position_encoding::alibi || m.encoding == position_encoding::absolute) {
    m.warnings.push_back("position encoding " + std::string(to_string(m.encoding)) +
                         ": Self-Extend remaps RoPE positions only; the planning commands refuse this model");
  } else if (m.encoding == position_encoding::unknown) {
    m.warnings.push_back("the position encoding of architecture '" + m.architecture +
                         "' is not known here: planned as RoPE; check that the model uses RoPE");
  }

  if (m.sliding_window) {
    const std::string S = std::to_string(*m.sliding_window);
    const std::string last = std::to_string(*m.sliding_window - 1);
    const std::string layers_text =
        m.sliding_layer_count && m.layers ? " (" + std::to_string(*m.sliding_layer_count) + " of " + std::to_string(*m.layers) + " layers)" : "";
    switch (m.sliding) {
      case sliding_layers::all:
        if (!context_given) {
          m.context = *m.sliding_window;
          m.context_source = "sliding_window (every layer slides)";
          m.warnings.push_back("every layer slides (window " + S + "): relative positions past " + last +
                               " were never trained, so L = " + S + "; the runtime must turn the window off (LongLM's README) "
                               "or no plan reaches past " + S + " tokens");
        } else {
          m.warnings.push_back("every layer slides (window " + S + " < L = " + std::to_string(m.context) +
                               "): relative positions past " + last + " were never trained; the runtime must turn the window "
                               "off (LongLM's README) or no plan reaches past " + S + " tokens");
        }
        break;
      case sliding_layers::alternating:
        m.warnings.push_back("sliding window " + S + " on the local layers, one global layer in every " +
                             std::to_string(m.sliding_period) + layers_text +
                             ": local layers keep their window (no extension needed below " + S +
                             "); Self-Extend extends the global layers");
        break;
      case sliding_layers::last:
      case sliding_layers::listed:
        m.warnings.push_back("sliding window " + S + " on some layers" + layers_text +
                             ": they keep their window; Self-Extend extends the full-attention layers");
        break;
      case sliding_layers::none: break;
    }
  }

  if (m.rope_scaling && m.rope_scaling->type != rope_scaling_type::none)
    m.warnings.push_back(scaling_warning(m, *m.rope_scaling, context_given));

  // Mistral-7B-v0.1's config states 32768 positions; the model trained on 8192 tokens with a
  // 4096-token window (Mistral 7B paper, arXiv 2310.06825, Table 1).
  if (m.architecture == "mistral" && m.advertised_context == 32768 && m.rope_theta == 10000.0 &&
      m.sliding_window == 4096)
    m.warnings.push_back("max_position_embeddings 32768 is not Mistral-7B-v0.1's trained window: it trained on 8192 "
                         "tokens with a 4096-token sliding window (arXiv 2310.06825, Table 1)");
}

void require_rope(const model_info& m, const std::string& key, const std::string& value) {
  if (m.encoding == position_encoding::rope || m.encoding == position_encoding::unknown) return;
  const std::string source = m.sources.count("position_encoding") ? " (" + m.sources.at("position_encoding") + ")" : "";
  throw invalid_params(key, value,
                       "model " + m.name + " uses " + std::string(to_string(m.encoding)) + " position encoding" + source +
                           "; Self-Extend remaps RoPE positions only");
}

}  // namespace selfextend
