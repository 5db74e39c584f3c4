// json_writer.cpp - the JSON envelope and the deterministic writer (docs/json.md).
#include <selfextend/json_writer.hpp>

#include <cmath>
#include <ostream>
#include <sstream>

#include <boost/json.hpp>

#include <selfextend/methods.hpp>
#include <selfextend/version.hpp>

#include "text.hpp"

namespace selfextend {

namespace json = boost::json;

json::object json_envelope(std::string_view command, json::object params, json::value result,
                           std::span<const std::string> warnings) {
  json::object doc;
  doc["schema_version"] = json_schema_version;
  doc["planner_version"] = version_string;
  doc["command"] = command;
  doc["params"] = std::move(params);
  doc["result"] = std::move(result);
  json::array all;
  for (const std::string& w : warnings) all.emplace_back(w);
  doc["warnings"] = std::move(all);
  return doc;
}

json::object method_parameters_json(const method_params& m) {
  json::object o{{"method", std::string(to_string(m.kind))}};
  switch (m.kind) {
    case method_kind::self_extend:
      o["group"] = m.self_extend.group;
      o["window"] = m.self_extend.window;
      o["shift"] = std::string(to_string(m.self_extend.shift));
      break;
    case method_kind::dca:
      o["chunk_size"] = m.chunk_size;
      o["local_window"] = m.local_window;
      break;
    case method_kind::rerope: o["window"] = m.window; break;
    case method_kind::leaky_rerope:
      o["window"] = m.window;
      o["leak"] = m.leak;
      break;
    case method_kind::streaming:
      o["start_size"] = m.start_size;
      o["recent_size"] = m.recent_size;
      break;
  }
  return o;
}

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned b0 = byte(i);
  if (b0 < 0x80) return 1;
  const auto cont = [&](std::size_t k) { return (byte(k) & 0xC0u) == 0x80u; };
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    const unsigned b1 = byte(i + 1);
    if ((b0 == 0xE0 && b1 < 0xA0) || (b0 == 0xED && b1 > 0x9F)) return 0;  // overlong, surrogates
    return cont(i + 1) && cont(i + 2) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    const unsigned b1 = byte(i + 1);
    if ((b0 == 0xF0 && b1 < 0x90) || (b0 == 0xF4 && b1 > 0x8F)) return 0;  // overlong, past U+10FFFF
    return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

namespace {

void write_string(std::ostream& out, json::string_view s) {
  out << '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      // A JSON document is UTF-8: a byte that does not start a valid sequence (a file name or a
      // model name read from a file can hold anything) becomes U+FFFD instead of breaking it.
      const std::size_t n = utf8_sequence_length(std::string_view(s.data(), s.size()), i);
      if (n == 0) {
        out << "\\ufffd";
      } else {
        out.write(s.data() + i, static_cast<std::streamsize>(n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\r': out << "\\r"; break;
      case '\t': out << "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out << "\\u00" << "0123456789abcdef"[(c >> 4) & 0xf] << "0123456789abcdef"[c & 0xf];
        } else {
          out << c;
        }
    }
  }
  out << '"';
}

void write_double(std::ostream& out, double d) {
  if (!std::isfinite(d)) {  // JSON has no NaN/Inf; the library never produces them in results
    out << "null";
    return;
  }
  out << detail::real_number(d);
}

bool is_number_array(const json::array& a) {
  for (const json::value& v : a)
    if (!v.is_number() && !v.is_null() && !v.is_bool()) return false;
  return true;
}

/// Writes `v` at nesting depth `indent`. Reaching `hole` (if any) writes nothing and records where
/// it stands in `hole_at`, so json_envelope_around_result can split the text there.
class writer {
 public:
  writer(std::ostream& out, const json::value* hole) : out_(out), hole_(hole) {}
  [[nodiscard]] std::streampos hole_at() const { return hole_at_; }

  void value(const json::value& v, int indent) {
    if (&v == hole_) {
      hole_at_ = out_.tellp();
      return;
    }
    switch (v.kind()) {
      case json::kind::null: out_ << "null"; break;
      case json::kind::bool_: out_ << (v.get_bool() ? "true" : "false"); break;
      case json::kind::int64: out_ << v.get_int64(); break;
      case json::kind::uint64: out_ << v.get_uint64(); break;
      case json::kind::double_: write_double(out_, v.get_double()); break;
      case json::kind::string: write_string(out_, v.get_string()); break;
      case json::kind::array: array(v.get_array(), indent); break;
      case json::kind::object: object(v.get_object(), indent); break;
    }
  }

 private:
  void array(const json::array& a, int indent) {
    if (a.empty()) {
      out_ << "[]";
      return;
    }
    if (is_number_array(a)) {  // numbers stay on one line: tables can have millions of them
      out_ << '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out_ << ", ";
        value(a[i], indent + 1);
      }
      out_ << ']';
      return;
    }
    out_ << "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      out_ << pad(indent + 1);
      value(a[i], indent + 1);
      out_ << (i + 1 < a.size() ? ",\n" : "\n");
    }
    out_ << pad(indent) << ']';
  }

  void object(const json::object& o, int indent) {
    if (o.empty()) {
      out_ << "{}";
      return;
    }
    out_ << "{\n";
    std::size_t i = 0;
    for (const auto& [key, member] : o) {
      out_ << pad(indent + 1);
      write_string(out_, key);
      out_ << ": ";
      value(member, indent + 1);
      out_ << (++i < o.size() ? ",\n" : "\n");
    }
    out_ << pad(indent) << '}';
  }

  static std::string pad(int indent) { return std::string(static_cast<std::size_t>(indent) * 2, ' '); }

  std::ostream& out_;
  const json::value* hole_;
  std::streampos hole_at_ = -1;
};

}  // namespace

void write_json(std::ostream& out, const json::value& value) {
  writer(out, nullptr).value(value, 0);
  out << '\n';
}

json_envelope_text json_envelope_around_result(std::string_view command, json::object params) {
  const json::value doc = json_envelope(command, std::move(params), nullptr);
  std::ostringstream text;
  writer w(text, &doc.get_object().at("result"));
  w.value(doc, 0);
  text << '\n';
  const std::string all = text.str();
  const auto split = static_cast<std::size_t>(w.hole_at());
  return {all.substr(0, split), all.substr(split)};
}

}  // namespace selfextend
