// model_facts.cpp - the rules that turn facts read from a preset, a config.json or a GGUF file into
// the facts a plan uses, and the warnings every planning command prints about them.
#include <selfextend/models.hpp>

#include <algorithm>
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

std::string_view to_string(attention_kind k) noexcept {
  switch (k) {
    case attention_kind::full: return "full";
    case attention_kind::sliding: return "sliding";
    case attention_kind::chunked: return "chunked";
    case attention_kind::linear: return "linear";
  }
  return "full";
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


/// The layer map a reader gave no per-layer list for, from the sliding facts (every layer alike
/// but for the sliding pattern). Empty when the layer count is unknown or too large to expand.
std::vector<layer_run> map_from_sliding_facts(const model_info& m) {
  std::vector<layer_run> map;
  if (!m.layers || *m.layers > max_mapped_layers) return map;
  const bool rope = m.encoding == position_encoding::rope || m.encoding == position_encoding::unknown;
  for (std::int64_t i = 0; i < *m.layers; ++i) {
    const bool slides = slides_at(m, i);
    layer_run one;
    one.count = 1;
    one.kind = slides ? attention_kind::sliding : attention_kind::full;
    if (slides) one.span = m.sliding_window;
    one.rope = rope;
    one.rope_theta = rope ? m.rope_theta : 0;
    one.rotary_dims = rope ? m.rotary_dims : 0;
    one.scaled = rope;
    append_layer(map, one);
  }
  return map;
}

/// A RoPE base in three significant digits: 10000 -> "1e4", 500000 -> "5e5", 31.62... -> "31.6".
std::string compact(double v) {
  std::array<char, 32> buffer{};
  const auto r = std::to_chars(buffer.data(), buffer.data() + buffer.size(), v, std::chars_format::general, 3);
  std::string text(buffer.data(), r.ptr);
  const std::size_t e = text.find('e');
  if (e == std::string::npos) return text;
  std::string exponent = text.substr(e + 1);
  if (!exponent.empty() && exponent[0] == '+') exponent.erase(0, 1);
  const bool negative = !exponent.empty() && exponent[0] == '-';
  if (negative) exponent.erase(0, 1);
  while (exponent.size() > 1 && exponent[0] == '0') exponent.erase(0, 1);
  return text.substr(0, e) + "e" + (negative ? "-" : "") + exponent;
}

/// Two runs attend and rotate alike (their places in the map aside).
bool alike(const layer_run& a, const layer_run& b) {
  return a.kind == b.kind && a.span == b.span && a.rope == b.rope && a.rope_theta == b.rope_theta &&
         a.rotary_dims == b.rotary_dims && a.scaled == b.scaled;
}

std::string layer_range(const layer_run& r) {
  return r.count == 1 ? std::to_string(r.first) : std::to_string(r.first) + "-" + std::to_string(r.first + r.count - 1);
}

/// "3, 7, 11, 15, ..., 47" or "0-2, 4-6": the runs of the map that pass `keep`, the first four and the last.
template <class Keep>
std::string which_layers(const std::vector<layer_run>& map, Keep keep) {
  std::vector<std::string> parts;
  for (const layer_run& r : map)
    if (keep(r)) parts.push_back(layer_range(r));
  std::string text;
  const std::size_t shown = std::min<std::size_t>(parts.size(), 4);
  for (std::size_t i = 0; i < shown; ++i) text += (i ? ", " : "") + parts[i];
  if (parts.size() > shown) text += ", ..., " + parts.back();
  return text;
}

}  // namespace

bool slides_at(const model_info& m, std::int64_t layer) noexcept {
  if (!m.sliding_window) return false;
  switch (m.sliding) {
    case sliding_layers::none: return false;
    case sliding_layers::all: return true;
    case sliding_layers::alternating: return m.sliding_period > 0 && (layer + 1) % m.sliding_period != 0;
    case sliding_layers::last: return !m.sliding_layer_count || !m.layers || layer >= *m.layers - *m.sliding_layer_count;
    case sliding_layers::listed: return true;
  }
  return false;
}

void append_layer(std::vector<layer_run>& map, const layer_run& one) {
  if (!map.empty() && alike(map.back(), one)) {
    map.back().count += one.count;
    return;
  }
  layer_run added = one;
  added.first = map.empty() ? 0 : map.back().first + map.back().count;
  map.push_back(added);
}

layer_coverage self_extend_coverage(const model_info& m) {
  layer_coverage c;
  // With every layer sliding, plans assume the runtime turns the window off (LongLM's README).
  const bool window_off = m.sliding == sliding_layers::all;
  for (const layer_run& r : m.layer_map) {
    c.layers += r.count;
    if (r.kind == attention_kind::linear) c.linear += r.count;
    else if (!r.rope) c.no_rope += r.count;
    else if (r.kind == attention_kind::full || (r.kind == attention_kind::sliding && window_off) ||
             (r.span && *r.span > m.context))
      c.extended += r.count;
    else c.windowed += r.count;
  }
  return c;
}

std::optional<std::string> self_extend_not_applicable(const model_info& m) {
  // A model without RoPE is refused by the planners outright (require_rope).
  if (m.encoding == position_encoding::alibi || m.encoding == position_encoding::absolute) return std::nullopt;
  const layer_coverage c = self_extend_coverage(m);
  if (c.layers == 0 || c.extended > 0) return std::nullopt;
  std::vector<std::string> why;
  const std::string L = std::to_string(m.context);
  for (const layer_run& r : m.layer_map) {
    if (!r.rope || r.kind == attention_kind::linear || !r.span) continue;
    const std::string what = r.kind == attention_kind::chunked ? "attend within chunks of " : "attend within a window of ";
    const std::string text = "its RoPE layers " + what + std::to_string(*r.span) + " tokens (<= L = " + L +
                             "), so they never see a distance of L or more";
    if (std::find(why.begin(), why.end(), text) == why.end()) why.push_back(text);
  }
  if (c.no_rope)
    why.push_back("its " + std::to_string(c.no_rope) + (why.empty() ? "" : " other") + " attention layers use no RoPE (NoPE)");
  if (c.linear) why.push_back("its " + std::to_string(c.linear) + " linear-attention layers use no positions");
  std::string reason = "Self-Extend has no effect on this model: ";
  for (std::size_t i = 0; i < why.size(); ++i) reason += (i ? "; " : "") + why[i];
  return reason;
}

std::string describe_layer_map(const model_info& m) {
  if (m.layer_map.empty()) return "not stated";
  // Show a repeating block of runs once: Gemma-3's "0-4 sliding; 5 full" × 5, then the rest.
  auto same_shape = [](const layer_run& a, const layer_run& b) { return a.count == b.count && alike(a, b); };
  auto one = [&](const layer_run& r, bool with_range) {
    std::string t = with_range ? layer_range(r) + " " : std::to_string(r.count) + (r.count == 1 ? " layer " : " layers ");
    t += std::string(to_string(r.kind));
    if (r.span) t += " " + std::to_string(*r.span);
    if (r.kind == attention_kind::linear) return t;
    if (!r.rope) return t + " NoPE";
    t += " \xCE\xB8 " + compact(r.rope_theta);  // "θ"
    if (r.rotary_dims != m.rotary_dims) t += " R " + std::to_string(r.rotary_dims);
    if (r.scaled && m.rope_scaling && m.rope_scaling->type != rope_scaling_type::none)
      t += " " + std::string(to_string(m.rope_scaling->type)) + " \xC3\x97" + number(m.rope_scaling->factor);
    return t;
  };
  std::string text;
  const std::vector<layer_run>& map = m.layer_map;
  for (std::size_t i = 0; i < map.size();) {
    // The shortest period p whose block repeats at least twice from i.
    std::size_t best_p = 0, best_repeats = 1;
    for (std::size_t p = 1; p <= 4 && i + 2 * p <= map.size(); ++p) {
      std::size_t repeats = 1;
      while (i + (repeats + 1) * p <= map.size()) {
        bool same = true;
        for (std::size_t k = 0; k < p && same; ++k) same = same_shape(map[i + k], map[i + repeats * p + k]);
        if (!same) break;
        ++repeats;
      }
      if (repeats >= 2) { best_p = p; best_repeats = repeats; break; }
    }
    if (!text.empty()) text += "; ";
    if (best_p == 0) {
      text += one(map[i], true);
      ++i;
      continue;
    }
    const layer_run& last = map[i + best_repeats * best_p - 1];
    text += std::to_string(map[i].first) + "-" + std::to_string(last.first + last.count - 1) + ": (";
    for (std::size_t k = 0; k < best_p; ++k) text += (k ? ", " : "") + one(map[i + k], false);
    text += ") \xC3\x97 " + std::to_string(best_repeats);
    i += best_repeats * best_p;
  }
  return text;
}

const layer_run& layer_run_of_kind(const model_info& m, std::string_view kind, const std::string& key) {
  std::vector<std::string> kinds;
  for (const layer_run& r : m.layer_map) {
    if (!r.rope || r.kind == attention_kind::linear) continue;
    if (to_string(r.kind) == kind) return r;
    const std::string k(to_string(r.kind));
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  }
  std::string listed;
  for (std::size_t i = 0; i < kinds.size(); ++i) listed += (i ? (i + 1 == kinds.size() ? " or " : ", ") : "") + kinds[i];
  throw invalid_params(key, std::string(kind),
                       kinds.empty() ? "model " + m.name + " states no RoPE layers"
                                     : "model " + m.name + " has no " + std::string(kind) + " RoPE layers; it has " + listed);
}

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

namespace {

/// The warnings the layer map and the model's other attention features call for.
void layer_map_warnings(model_info& m) {
  // Models without RoPE have their one warning already: the planners refuse them.
  if (m.encoding == position_encoding::alibi || m.encoding == position_encoding::absolute) return;
  const layer_coverage c = self_extend_coverage(m);
  const std::string M = std::to_string(c.layers);
  const std::string L = std::to_string(m.context);
  if (c.no_rope)
    m.warnings.push_back(std::to_string(c.no_rope) + " of " + M + " layers use no RoPE (NoPE: layers " +
                         which_layers(m.layer_map, [](const layer_run& r) { return !r.rope && r.kind != attention_kind::linear; }) +
                         "): they have no positions to remap and need no extension");
  if (c.linear)
    m.warnings.push_back(std::to_string(c.linear) + " of " + M + " layers are linear attention without positions (layers " +
                         which_layers(m.layer_map, [](const layer_run& r) { return r.kind == attention_kind::linear; }) +
                         "): they need no extension");
  for (const layer_run& r : m.layer_map)
    if (r.kind == attention_kind::chunked && r.rope && r.span) {
      const std::string C = std::to_string(*r.span);
      const std::string chunked =
          "layers " + which_layers(m.layer_map, [](const layer_run& x) { return x.kind == attention_kind::chunked; }) +
          " attend within chunks of " + C + " tokens";
      m.warnings.push_back(*r.span <= m.context
                               ? chunked + ": no query there sees a distance of " + C + " or more, so grouping changes nothing on them"
                               : chunked + " (> L = " + L + "): Self-Extend acts on them up to distance " + std::to_string(*r.span - 1));
      break;
    }
  if (const std::optional<std::string> reason = self_extend_not_applicable(m)) {
    m.warnings.push_back(*reason);
  } else if (c.layers > 0 && (c.no_rope || c.linear || c.windowed) && c.extended < c.layers &&
             (c.no_rope || c.linear || std::any_of(m.layer_map.begin(), m.layer_map.end(),
                                                   [](const layer_run& r) { return r.kind == attention_kind::chunked; }))) {
    m.warnings.push_back("Self-Extend acts on " + std::to_string(c.extended) + " of " + M +
                         " layers (the RoPE layers that see distances of L = " + L + " or more); plans are for those layers");
  }
  if (m.dual_chunk) {
    const dual_chunk_attention& d = *m.dual_chunk;
    m.warnings.push_back("the config enables Dual Chunk Attention (chunk_size " + std::to_string(d.chunk_size) + ", local_size " +
                         std::to_string(d.local_size) + "), which already remaps positions past the trained window of " +
                         std::to_string(d.original_context) + "; Self-Extend replaces it: plans use L = " + L +
                         " and the runtime must run without DCA");
  }
  if (m.attention_sinks)
    m.warnings.push_back("attention sinks: a learned logit per head joins every softmax's denominator; a port must keep it "
                         "next to the remapped scores (attend and verify leave it out)");
  if (!m.query_temperature.empty())
    m.warnings.push_back("query temperature: " + m.query_temperature +
                         "; it depends on the true position, which a port must keep for it (Self-Extend remaps RoPE only)");
  if (!m.mrope_section.empty()) {
    std::string sections;
    for (std::size_t i = 0; i < m.mrope_section.size(); ++i) sections += (i ? ", " : "") + std::to_string(m.mrope_section[i]);
    m.warnings.push_back("multimodal RoPE (mrope_section [" + sections + "]): text tokens give every section the same "
                         "position, so plans hold for text; image and video positions are not remapped here");
  }
}

}  // namespace

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

  if (m.dual_chunk && !context_given) {
    m.context = m.dual_chunk->original_context;
    m.context_source = "dual_chunk_attention_config.original_max_position_embeddings (the window DCA extends)";
  }
  // A window at least L never applies: such layers attend fully.
  for (layer_run& r : m.layer_map)
    if (r.kind == attention_kind::sliding && r.span && *r.span >= m.context) {
      r.kind = attention_kind::full;
      r.span.reset();
    }
  if (!m.layer_map.empty()) {  // merge the runs that became alike
    std::vector<layer_run> merged;
    for (layer_run r : m.layer_map) append_layer(merged, r);
    m.layer_map = std::move(merged);
  }
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

  if (m.rope_scaling && m.rope_scaling->type != rope_scaling_type::none && !m.dual_chunk)
    m.warnings.push_back(scaling_warning(m, *m.rope_scaling, context_given));

  if (m.layer_map.empty()) {
    m.layer_map = map_from_sliding_facts(m);
    if (!m.layer_map.empty() && !m.sources.count("layer_attention"))
      m.sources["layer_attention"] = m.sliding_window ? "the sliding facts" : "every layer alike";
  }
  layer_map_warnings(m);

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
