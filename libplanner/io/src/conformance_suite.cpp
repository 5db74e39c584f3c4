// conformance_suite.cpp - the conformance suite's files: writing the arrays and manifest.json, reading
// the manifest strictly, checking a runtime's outputs.
#include <selfextend/conformance_suite.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>
#include <system_error>

#include <boost/json.hpp>

#include <selfextend/atomic_output.hpp>
#include <selfextend/json_writer.hpp>
#include <selfextend/npy.hpp>

#include "json_kind.hpp"
#include "whole_file.hpp"

namespace selfextend {

namespace json = boost::json;

namespace {

constexpr std::string_view manifest_name = "manifest.json";

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::int64_t write_array(const std::filesystem::path& path, const npy_array& array) {
  write_npy(path, array);
  return static_cast<std::int64_t>(array.data.size());
}

json::object manifest_entry(const conformance_case& c, bool has_inv_freq) {
  const rope_params& r = c.params.rope;
  const std::string dir = c.name + "/";
  json::object o;
  o["name"] = c.name;
  o["q"] = dir + "q.npy";
  o["k"] = dir + "k.npy";
  o["v"] = dir + "v.npy";
  o["expected"] = dir + "expected.npy";
  if (c.method.kind == method_kind::self_extend) {
    o["group"] = c.params.extension.group;
    o["window"] = c.params.extension.window;
    o["shift"] = std::string(to_string(c.params.extension.shift));
  } else {
    o["method"] = std::string(to_string(c.method.kind));
    o["method_parameters"] = method_parameters_json(c.method);
  }
  o["rope"] = json::object{{"theta", r.theta},
                           {"style", std::string(to_string(r.style))},
                           {"rotary_dims", r.rotary_dims == 0 ? c.params.shape.head_dim : r.rotary_dims}};
  o["scale_base"] = r.scale_base > 0 ? json::value(r.scale_base) : json::value(nullptr);
  o["inv_freq"] = has_inv_freq ? json::value(dir + "inv_freq.npy") : json::value(nullptr);
  o["attention_factor"] = r.attention_factor;
  o["atol"] = c.tol.atol;
  o["rtol"] = c.tol.rtol;
  o["catches"] = c.catches;
  return o;
}

/// Reads one manifest: every failure names the case and the file.
class manifest_reader {
 public:
  explicit manifest_reader(std::filesystem::path dir) : dir_(std::move(dir)) {}

  std::vector<manifest_case> read() {
    const std::filesystem::path path = dir_ / manifest_name;
    std::error_code missing;
    if (!std::filesystem::is_regular_file(path, missing)) fail_file(path, "does not exist or is not a regular file");
    const std::vector<std::byte> bytes = detail::read_whole_file(path, "suite", "manifest");
    json::error_code ec;
    const json::value root =
        json::parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), ec);
    if (ec) fail_file(path, "is not valid JSON (" + ec.message() + ")");
    if (!root.is_object()) fail_file(path, "must be a JSON object");
    const json::object& top = root.as_object();
    for (const auto& entry : top)
      if (entry.key() != "schema_version" && entry.key() != "cases")
        fail_file(path, "unknown key \"" + std::string(entry.key()) + "\" (expected schema_version, cases)");
    const json::value* version = top.if_contains("schema_version");
    if (!version || !version->is_int64() || version->as_int64() != 1)
      fail_file(path, "schema_version must be 1");
    const json::value* cases = top.if_contains("cases");
    if (!cases || !cases->is_array() || cases->as_array().empty())
      fail_file(path, "cases must be a non-empty array");
    std::vector<manifest_case> out;
    std::set<std::string> names;
    std::size_t index = 0;
    for (const json::value& entry : cases->as_array()) {
      out.push_back(read_case(path, entry, index++));
      if (!names.insert(out.back().name).second)
        fail_case(out.back().name, path, "name is used by an earlier case");
    }
    return out;
  }

 private:
  [[noreturn]] static void fail_file(const std::filesystem::path& file, const std::string& rule) {
    throw invalid_params("suite", file.string(), rule);
  }
  [[noreturn]] static void fail_case(const std::string& name, const std::filesystem::path& file, const std::string& rule) {
    throw invalid_params("suite", file.string(), "case " + name + ": " + rule);
  }

  static const char* kind(const json::value& v) { return detail::json_kind(v); }

  static void only_keys(const std::string& name, const std::filesystem::path& file, const json::object& o,
                        std::initializer_list<std::string_view> allowed) {
    for (const auto& entry : o)
      if (std::find(allowed.begin(), allowed.end(), std::string_view(entry.key())) == allowed.end())
        fail_case(name, file, "unknown key \"" + std::string(entry.key()) + "\"");
    for (const std::string_view key : allowed)
      if (!o.contains(key)) fail_case(name, file, "missing key \"" + std::string(key) + "\"");
  }

  static std::int64_t integer(const std::string& name, const std::filesystem::path& file, const json::object& o,
                              std::string_view key) {
    const json::value& v = o.at(key);
    if (v.is_int64()) return v.as_int64();
    if (v.is_uint64() && v.as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(v.as_uint64());
    fail_case(name, file, std::string(key) + " must be an integer, got " + kind(v));
  }
  static double real(const std::string& name, const std::filesystem::path& file, const json::object& o,
                     std::string_view key) {
    const json::value& v = o.at(key);
    if (v.is_double()) return v.as_double();
    if (v.is_int64()) return static_cast<double>(v.as_int64());
    if (v.is_uint64()) return static_cast<double>(v.as_uint64());
    fail_case(name, file, std::string(key) + " must be a number, got " + kind(v));
  }
  static std::string text(const std::string& name, const std::filesystem::path& file, const json::object& o,
                          std::string_view key) {
    const json::value& v = o.at(key);
    if (!v.is_string()) fail_case(name, file, std::string(key) + " must be a string, got " + kind(v));
    return std::string(v.as_string());
  }

  /// A path relative to the suite directory that names an existing regular file.
  std::filesystem::path file_of(const std::string& name, const std::filesystem::path& manifest, const json::object& o,
                                std::string_view key) const {
    const std::string relative = text(name, manifest, o, key);
    const std::filesystem::path p(relative);
    if (relative.empty() || p.is_absolute())
      fail_case(name, manifest, std::string(key) + " must be a path relative to the suite directory, got \"" + relative + "\"");
    const std::filesystem::path full = dir_ / p;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(full, ec))
      fail_case(name, full, std::string(key) + ": file does not exist or is not a regular file");
    return full;
  }

  /// "method" and "method_parameters" (method_parameters_json's keys, exactly) of another method's case.
  static method_params read_method(const std::string& name, const std::filesystem::path& manifest, const json::object& o) {
    const std::string kind = text(name, manifest, o, "method");
    const std::optional<method_kind> parsed = parse_method_kind(kind);
    if (!parsed || *parsed == method_kind::self_extend)
      fail_case(name, manifest, "method must be dca, rerope, leaky-rerope or streaming, got \"" + kind + "\"");
    const json::value& p = o.at("method_parameters");
    if (!p.is_object()) fail_case(name, manifest, std::string("method_parameters must be an object, got ") + kind_of(p));
    const json::object& params = p.as_object();
    method_params m;
    m.kind = *parsed;
    switch (m.kind) {
      case method_kind::self_extend: break;
      case method_kind::dca:
        only_keys(name, manifest, params, {"method", "chunk_size", "local_window"});
        m.chunk_size = integer(name, manifest, params, "chunk_size");
        m.local_window = integer(name, manifest, params, "local_window");
        break;
      case method_kind::rerope:
        only_keys(name, manifest, params, {"method", "window"});
        m.window = integer(name, manifest, params, "window");
        break;
      case method_kind::leaky_rerope:
        only_keys(name, manifest, params, {"method", "window", "leak"});
        m.window = integer(name, manifest, params, "window");
        m.leak = real(name, manifest, params, "leak");
        break;
      case method_kind::streaming:
        only_keys(name, manifest, params, {"method", "start_size", "recent_size"});
        m.start_size = integer(name, manifest, params, "start_size");
        m.recent_size = integer(name, manifest, params, "recent_size");
        break;
    }
    if (text(name, manifest, params, "method") != kind)
      fail_case(name, manifest, "method_parameters.method must equal method (\"" + kind + "\")");
    if (const std::vector<issue> issues = validate(m); !issues.empty())
      fail_case(name, manifest, "method_parameters." + issues.front().key + " = " + issues.front().value + ": " + issues.front().rule);
    return m;
  }
  static const char* kind_of(const json::value& v) { return detail::json_kind(v); }

  manifest_case read_case(const std::filesystem::path& manifest, const json::value& entry, std::size_t index) const {
    const std::string fallback = "#" + std::to_string(index);
    if (!entry.is_object()) fail_case(fallback, manifest, std::string("must be an object, got ") + kind(entry));
    const json::object& o = entry.as_object();
    std::string name = fallback;
    if (const json::value* n = o.if_contains("name"); n && n->is_string()) name = std::string(n->as_string());
    // Self-Extend's cases state group, window and shift; another method's its name and parameters.
    const bool other_method = o.contains("method");
    if (other_method)
      only_keys(name, manifest, o,
                {"name", "q", "k", "v", "expected", "method", "method_parameters", "rope", "scale_base", "inv_freq",
                 "attention_factor", "atol", "rtol", "catches"});
    else
      only_keys(name, manifest, o,
                {"name", "q", "k", "v", "expected", "group", "window", "shift", "rope", "scale_base", "inv_freq",
                 "attention_factor", "atol", "rtol", "catches"});
    if (name.empty() || name == "." || name == ".." ||
        name.find_first_of("/\\") != std::string::npos)
      fail_case(fallback, manifest, "name \"" + name + "\" must be a non-empty file name (no / or \\)");
    manifest_case c;
    c.name = name;
    c.q = file_of(name, manifest, o, "q");
    c.k = file_of(name, manifest, o, "k");
    c.v = file_of(name, manifest, o, "v");
    c.expected = file_of(name, manifest, o, "expected");
    if (other_method) {
      c.method = read_method(name, manifest, o);
    } else {
      c.extension.group = integer(name, manifest, o, "group");
      c.extension.window = integer(name, manifest, o, "window");
      const std::string shift = text(name, manifest, o, "shift");
      const auto rule = parse_shift_rule(shift);
      if (!rule) fail_case(name, manifest, "shift must be \"int\" or \"float\", got \"" + shift + "\"");
      c.extension.shift = *rule;
    }
    const json::value& rope = o.at("rope");
    if (!rope.is_object()) fail_case(name, manifest, std::string("rope must be an object, got ") + kind(rope));
    only_keys(name, manifest, rope.as_object(), {"theta", "style", "rotary_dims"});
    c.rope.theta = real(name, manifest, rope.as_object(), "theta");
    const std::string style = text(name, manifest, rope.as_object(), "style");
    const auto parsed_style = parse_rope_style(style);
    if (!parsed_style) fail_case(name, manifest, "rope.style must be \"neox\" or \"gptj\", got \"" + style + "\"");
    c.rope.style = *parsed_style;
    c.rope.rotary_dims = integer(name, manifest, rope.as_object(), "rotary_dims");
    c.rope.scale_base = o.at("scale_base").is_null() ? 0.0 : real(name, manifest, o, "scale_base");
    if (!o.at("inv_freq").is_null()) {
      c.inv_freq = file_of(name, manifest, o, "inv_freq");
      const npy_array freq = read_npy(c.inv_freq, "suite");
      if (freq.shape.size() != 1 || (freq.dtype != npy_dtype::f8 && freq.dtype != npy_dtype::f4))
        fail_case(name, c.inv_freq, "inv_freq must be a one-dimensional <f8 or <f4 array, got " +
                                        std::string(to_string(freq.dtype)) + " " + shape_text(freq.shape));
      c.rope.inv_freq = freq.to_doubles();
    }
    c.rope.attention_factor = real(name, manifest, o, "attention_factor");
    c.tol = {real(name, manifest, o, "atol"), real(name, manifest, o, "rtol")};
    if (!std::isfinite(c.tol.atol) || c.tol.atol < 0 || !std::isfinite(c.tol.rtol) || c.tol.rtol < 0)
      fail_case(name, manifest, "atol and rtol must be finite numbers >= 0");
    c.catches = text(name, manifest, o, "catches");
    return c;
  }

  std::filesystem::path dir_;
};

}  // namespace

conformance_written write_conformance_suite(const std::filesystem::path& dir, const conformance_options& options) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    throw invalid_params("output", dir.string(), "exists and is not a directory");
  conformance_written written;
  written.cases = conformance_cases(options);
  json::array entries;
  for (const conformance_case& c : written.cases) {
    const std::filesystem::path case_dir = dir / c.name;
    std::filesystem::create_directories(case_dir, ec);
    if (ec) throw invalid_params("output", case_dir.string(), "cannot create the directory (" + ec.message() + ")");
    const conformance_tensors t = conformance_data(c, options.seed);
    const attention_shape& s = c.params.shape;
    written.bytes += write_array(case_dir / "q.npy", npy_array::from(std::span<const float>(t.q), {s.heads, s.query_tokens, s.head_dim}));
    written.bytes += write_array(case_dir / "k.npy", npy_array::from(std::span<const float>(t.k), {s.kv_heads, s.key_tokens, s.head_dim}));
    written.bytes += write_array(case_dir / "v.npy", npy_array::from(std::span<const float>(t.v), {s.kv_heads, s.key_tokens, s.head_dim}));
    written.bytes += write_array(case_dir / "expected.npy",
                                 npy_array::from(std::span<const double>(t.expected), {s.heads, s.query_tokens, s.head_dim}));
    const bool has_inv_freq = !c.params.rope.inv_freq.empty();
    if (has_inv_freq)
      written.bytes += write_array(case_dir / "inv_freq.npy",
                                   npy_array::from(std::span<const double>(c.params.rope.inv_freq),
                                                   {static_cast<std::int64_t>(c.params.rope.inv_freq.size())}));
    entries.push_back(manifest_entry(c, has_inv_freq));
  }
  // One case per line: diffable, and still one JSON document.
  written.manifest = dir / manifest_name;
  atomic_output_file out(written.manifest);
  out.stream() << "{\"schema_version\": 1, \"cases\": [\n";
  for (std::size_t i = 0; i < entries.size(); ++i)
    out.stream() << "  " << json::serialize(entries[i]) << (i + 1 < entries.size() ? ",\n" : "\n");
  out.stream() << "]}\n";
  out.commit();
  return written;
}

std::vector<manifest_case> read_conformance_manifest(const std::filesystem::path& dir) {
  return manifest_reader(dir).read();
}

conformance_report check_conformance_suite(const std::filesystem::path& suite, const std::filesystem::path& outputs,
                                           bool only_present) {
  const std::vector<manifest_case> cases = read_conformance_manifest(suite);
  conformance_report report;
  for (const manifest_case& c : cases) {
    conformance_result result;
    result.name = c.name;
    result.catches = c.catches;
    result.tol = c.tol;
    const std::filesystem::path output = outputs / (c.name + ".npy");
    std::error_code ec;
    if (!std::filesystem::exists(output, ec)) {
      if (!only_present)
        throw invalid_params("outputs", output.string(),
                             "case " + c.name + ": output missing (only_present skips missing outputs)");
      ++report.skipped;
      report.cases.push_back(std::move(result));
      continue;
    }
    const npy_array expected = read_npy(c.expected, "suite");
    if (expected.shape.size() != 3 || (expected.dtype != npy_dtype::f8 && expected.dtype != npy_dtype::f4))
      throw invalid_params("suite", c.expected.string(),
                           "case " + c.name + ": expected must be a float [H, Nq, D] array, got " +
                               std::string(to_string(expected.dtype)) + " " + shape_text(expected.shape));
    npy_array candidate;
    try {
      candidate = read_npy(output, "outputs");
    } catch (const invalid_params& e) {
      throw invalid_params("outputs", output.string(), "case " + c.name + ": " + e.issues().front().rule);
    }
    const bool same = candidate.shape == expected.shape;
    const bool single_head = expected.shape[0] == 1 && candidate.shape.size() == 2 &&
                             candidate.shape[0] == expected.shape[1] && candidate.shape[1] == expected.shape[2];
    if (!same && !single_head)
      throw invalid_params("outputs", output.string(),
                           "case " + c.name + ": shape " + shape_text(candidate.shape) + " must be " +
                               shape_text(expected.shape) + " (expected.npy's)");
    if (candidate.dtype != npy_dtype::f4 && candidate.dtype != npy_dtype::f8)
      throw invalid_params("outputs", output.string(),
                           "case " + c.name + ": dtype " + std::string(to_string(candidate.dtype)) +
                               " must be <f4 or <f8");
    result.present = true;
    result.comparison =
        compare_outputs(expected.to_doubles(), candidate.to_doubles(), expected.shape[1], expected.shape[2], c.tol);
    if (!result.comparison.passed) ++report.failed;
    report.cases.push_back(std::move(result));
  }
  report.passed = report.failed == 0 && report.skipped < static_cast<std::int64_t>(report.cases.size());
  return report;
}

}  // namespace selfextend
