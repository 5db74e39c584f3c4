// table_writers.cpp - streaming writers for position tables (docs/formats.md).
#include <selfextend/table_writers.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <ostream>
#include <stdexcept>

#include <boost/json.hpp>

#include <selfextend/atomic_output.hpp>
#include <selfextend/json_writer.hpp>
#include <selfextend/npy.hpp>
#include <selfextend/version.hpp>

#include "checked_math.hpp"
#include "size_limit.hpp"
#include "text.hpp"

namespace selfextend {

std::string_view to_string(table_format format) noexcept {
  switch (format) {
    case table_format::json: return "json";
    case table_format::csv: return "csv";
    case table_format::npy: return "npy";
    case table_format::safetensors: return "safetensors";
    case table_format::c_header: return "c-header";
  }
  return "npy";
}

std::optional<table_format> parse_table_format(std::string_view text) noexcept {
  for (const table_format f : {table_format::json, table_format::csv, table_format::npy, table_format::safetensors,
                               table_format::c_header})
    if (text == to_string(f)) return f;
  return std::nullopt;
}

std::optional<table_format> format_for_extension(const std::filesystem::path& path) noexcept {
  const std::string ext = path.extension().string();
  if (ext == ".json") return table_format::json;
  if (ext == ".csv") return table_format::csv;
  if (ext == ".npy") return table_format::npy;
  if (ext == ".safetensors") return table_format::safetensors;
  if (ext == ".h") return table_format::c_header;
  return std::nullopt;
}

std::string_view to_string(table_layout layout) noexcept { return layout == table_layout::tokens ? "tokens" : "dense"; }

std::optional<table_layout> parse_table_layout(std::string_view text) noexcept {
  if (text == "tokens") return table_layout::tokens;
  if (text == "dense") return table_layout::dense;
  return std::nullopt;
}

namespace {

bool other_method(const table_request& r) noexcept { return r.method.kind != method_kind::self_extend; }

/// Arrays of the tokens layout: Self-Extend's four, or two per branch of another method.
std::int64_t token_array_count(const table_request& r) {
  return other_method(r) ? static_cast<std::int64_t>(method_token_array_names(r.method.kind).size())
                         : static_cast<std::int64_t>(all_token_arrays.size());
}

/// The largest value in any array of another method's table: N - 1 (true positions), its largest
/// relative position, and each branch's rotations of the last token (the constant ones included).
detail::wide_int largest_method_value(const method_params& m, std::int64_t tokens) {
  double largest = std::max(static_cast<double>(tokens - 1), largest_position(m, tokens));
  for (int b = 0; b < static_cast<int>(branch_names(m.kind).size()); ++b)
    largest = std::max({largest, branch_query_position(m, b, tokens - 1), branch_key_position(m, b, tokens - 1)});
  return static_cast<detail::wide_int>(largest);
}

}  // namespace

std::int64_t token_table_bytes(const table_request& r) {
  if (r.tokens < 1) throw invalid_params("tokens", std::to_string(r.tokens), "must be at least 1");
  return detail::saturate(detail::wide_int{r.tokens} * token_array_count(r) * 8);
}

std::vector<issue> validate(const table_request& r) {
  std::vector<issue> issues = other_method(r) ? validate(r.method) : validate(r.extension);
  if (r.tokens < 1) issues.push_back({"tokens", std::to_string(r.tokens), "must be at least 1"});
  if (!issues.empty()) return issues;
  // Even with force a table must stay countable in int64 bytes (file offsets, safetensors'
  // data_offsets, the summary's byte count); the limit itself is liftable.
  const std::int64_t bytes =
      r.layout == table_layout::dense ? dense_table_bytes(r.tokens, r.phase) : token_table_bytes(r);
  if (bytes == detail::int64_max) {
    issues.push_back({"tokens", std::to_string(r.tokens),
                      "the table would need more than 2^63 - 1 bytes, more than any file can hold"});
    return issues;
  }
  try {
    if (r.layout == table_layout::dense)
      require_dense_size(r.tokens, r.phase, r.limit_bytes, r.force);
    else
      detail::require_within_limit("tokens", std::to_string(r.tokens),
                                   "the per-token [" + std::to_string(token_array_count(r)) + ", N] table", bytes,
                                   r.limit_bytes, r.force);
  } catch (const invalid_params& e) {
    issues.insert(issues.end(), e.issues().begin(), e.issues().end());
  }
  // Real positions are written as double in the C header; integer ones must fit int32_t.
  if (r.format == table_format::c_header && (!other_method(r) || integer_positions(r.method))) {
    // Self-Extend: N - 1 (neighbor, dense) or gq(N - 1) (group query).
    const detail::wide_int largest =
        other_method(r) ? largest_method_value(r.method, r.tokens)
                        : std::max<detail::wide_int>(r.tokens - 1, detail::wide_int{(r.tokens - 1) / r.extension.group} +
                                                                       r.extension.window -
                                                                       r.extension.window / r.extension.group);
    if (largest > std::numeric_limits<std::int32_t>::max())
      issues.push_back({"tokens", std::to_string(r.tokens),
                        "positions up to " + std::to_string(static_cast<std::int64_t>(largest)) +
                            " do not fit the C header's int32_t (use npy or safetensors)"});
  }
  return issues;
}

namespace {

constexpr std::size_t chunk_elements = std::size_t{1} << 16;

/// One array of the file: which values, stored as integers or reals.
struct array_spec {
  std::string name;
  bool real = false;
  std::vector<std::int64_t> shape;
  std::optional<token_array> which;  ///< Self-Extend's per-token array; nullopt: dense or another method's
  int method_array = -1;             ///< another method's per-token array: branch 2b (query) or 2b + 1 (key)
  [[nodiscard]] std::int64_t count() const {
    std::int64_t n = 1;
    for (const std::int64_t d : shape) n *= d;
    return n;
  }
};

std::vector<array_spec> arrays_of(const table_request& r) {
  if (other_method(r)) {
    // One dtype for a method's whole table: float64 when any position is real.
    const bool real = !integer_positions(r.method);
    if (r.layout == table_layout::dense) return {{"relative_position", real, dense_shape(r.tokens, r.phase), std::nullopt}};
    std::vector<array_spec> out;
    const std::vector<std::string> names = method_token_array_names(r.method.kind);
    for (std::size_t k = 0; k < names.size(); ++k)
      out.push_back({names[k], real, {r.tokens}, std::nullopt, static_cast<int>(k)});
    return out;
  }
  const bool fractional = r.extension.shift == shift_rule::fractional;
  std::vector<array_spec> out;
  if (r.layout == table_layout::dense) {
    out.push_back({"relative_position", fractional, dense_shape(r.tokens, r.phase), std::nullopt});
    return out;
  }
  for (const token_array which : all_token_arrays) {
    // The [4, N] .npy has one dtype: float64 for every row when the shift is fractional.
    const bool real = fractional && (r.format == table_format::npy || which == token_array::group_query_position);
    out.push_back({std::string(to_string(which)), real, {r.tokens}, which});
  }
  return out;
}

/// Fills elements [first, first + out.size()) of `a` in C order.
/// One dense row of the request's method, from key first_key.
template <class T>
void fill_row(const table_request& r, std::int64_t query, std::int64_t first_key, std::span<T> out) {
  if (other_method(r)) fill_method_dense_row(r.method, query, first_key, out);
  else fill_dense_row(r.extension, query, first_key, out);
}

template <class T>
void fill(const table_request& r, const array_spec& a, std::int64_t first, std::span<T> out) {
  if (a.which) {
    fill_token_positions(r.extension, *a.which, first, out);
    return;
  }
  if (a.method_array >= 0) {
    fill_branch_positions(r.method, a.method_array / 2, a.method_array % 2 ? rotation_side::key : rotation_side::query,
                          first, out);
    return;
  }
  if (r.phase == table_phase::decode) {
    fill_row(r, r.tokens - 1, first, out);
    return;
  }
  // Prefill: element e is (row e / N, key e % N); a chunk may span rows.
  std::size_t done = 0;
  while (done < out.size()) {
    const std::int64_t e = first + static_cast<std::int64_t>(done);
    const std::int64_t row = e / r.tokens, key = e % r.tokens;
    const std::size_t n = std::min<std::size_t>(out.size() - done, static_cast<std::size_t>(r.tokens - key));
    fill_row(r, row, key, out.subspan(done, n));
    done += n;
  }
}

/// A byte sink with a 1 MiB buffer that counts what it wrote.
class sink {
 public:
  explicit sink(std::ostream& out) : out_(out) { buffer_.reserve(capacity + 64); }
  void put(std::string_view s) {
    buffer_.append(s);
    if (buffer_.size() >= capacity) flush();
  }
  void put_raw(const void* data, std::size_t n) {
    flush();
    out_.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    written_ += static_cast<std::int64_t>(n);
    check();
  }
  void number(std::int64_t v) {
    std::array<char, 24> b{};
    put(std::string_view(b.data(), static_cast<std::size_t>(std::to_chars(b.data(), b.data() + b.size(), v).ptr - b.data())));
  }
  void number(double v) {
    put(detail::real_number(v));
  }
  void flush() {
    if (buffer_.empty()) return;
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    written_ += static_cast<std::int64_t>(buffer_.size());
    buffer_.clear();
    check();
  }
  [[nodiscard]] std::int64_t written() const noexcept { return written_; }

 private:
  void check() const {
    if (!out_) throw std::runtime_error("writing the table failed (disk full?)");
  }
  static constexpr std::size_t capacity = std::size_t{1} << 20;
  std::ostream& out_;
  std::string buffer_;
  std::int64_t written_ = 0;
};

/// Walks the elements of every array in chunks, reporting progress.
class generator {
 public:
  generator(const table_request& r, const table_progress& progress) : r_(r), progress_(progress) {
    for (const array_spec& a : arrays_of(r)) total_ += a.count();
  }
  /// Calls body(span<const int64_t> or span<const double>, first element) for each chunk of `a`.
  /// Dense prefill chunks are whole rows when `by_row` (text formats put one row per line).
  template <class Body>
  void each_chunk(const array_spec& a, bool by_row, Body&& body) {
    const std::int64_t n = a.count();
    const std::int64_t step = by_row && a.shape.size() == 2
                                  ? r_.tokens
                                  : static_cast<std::int64_t>(chunk_elements);
    if (a.real) doubles_.resize(static_cast<std::size_t>(std::min(n, step)));
    else ints_.resize(static_cast<std::size_t>(std::min(n, step)));
    for (std::int64_t first = 0; first < n; first += step) {
      const auto count = static_cast<std::size_t>(std::min(step, n - first));
      if (a.real) {
        const std::span<double> chunk(doubles_.data(), count);
        fill(r_, a, first, chunk);
        body(std::span<const double>(chunk), first);
      } else {
        const std::span<std::int64_t> chunk(ints_.data(), count);
        fill(r_, a, first, chunk);
        body(std::span<const std::int64_t>(chunk), first);
      }
      done_ += static_cast<std::int64_t>(count);
      if (progress_) progress_(done_, total_);
    }
  }
  [[nodiscard]] const table_request& request() const noexcept { return r_; }
  /// Progress for writers that fill chunks themselves.
  void report(std::int64_t elements) {
    done_ += elements;
    if (progress_) progress_(done_, total_);
  }

 private:
  const table_request& r_;
  const table_progress& progress_;
  std::int64_t total_ = 0;
  std::int64_t done_ = 0;
  std::vector<std::int64_t> ints_;
  std::vector<double> doubles_;
};

/// The request's method and parameters as JSON params: Self-Extend's group, window and shift as
/// before, another method's "method" and "method_parameters" (as attend echoes them).
boost::json::object method_params_of(const table_request& r) {
  if (!other_method(r))
    return {{"group", r.extension.group}, {"window", r.extension.window}, {"shift", std::string(to_string(r.extension.shift))}};
  return {{"method", std::string(to_string(r.method.kind))}, {"method_parameters", method_parameters_json(r.method)}};
}

/// A JSON scalar as metadata text: "dca", "3072", "16.0".
std::string scalar_text(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_double()) return detail::real_number(v.get_double());
  return boost::json::serialize(v);
}

template <class T>
void put_values(sink& s, std::span<const T> values, std::string_view separator) {
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (k) s.put(separator);
    s.number(values[k]);
  }
}

void write_npy_table(sink& s, generator& g, std::vector<table_array_info>& info) {
  const auto arrays = arrays_of(g.request());
  const bool real = arrays.front().real;
  std::vector<std::int64_t> shape = arrays.front().shape;
  if (g.request().layout == table_layout::tokens) shape.insert(shape.begin(), static_cast<std::int64_t>(arrays.size()));
  s.put(npy_header(real ? npy_dtype::f8 : npy_dtype::i8, shape));
  info.push_back({g.request().layout == table_layout::tokens ? "positions" : "relative_position",
                  real ? "float64" : "int64", shape});
  for (const array_spec& a : arrays)
    g.each_chunk(a, false, [&](auto chunk, std::int64_t) { s.put_raw(chunk.data(), chunk.size_bytes()); });
}

void write_safetensors_table(sink& s, generator& g, std::vector<table_array_info>& info) {
  const table_request& r = g.request();
  const auto arrays = arrays_of(r);
  boost::json::object header;
  boost::json::object metadata{{"format", "pt"}};
  if (other_method(r)) {
    for (const auto& [key, value] : method_parameters_json(r.method)) metadata[key] = scalar_text(value);
    metadata["tokens"] = std::to_string(r.tokens);
  } else {
    metadata["group"] = std::to_string(r.extension.group);
    metadata["window"] = std::to_string(r.extension.window);
    metadata["tokens"] = std::to_string(r.tokens);
    metadata["shift"] = std::string(to_string(r.extension.shift));
  }
  metadata["phase"] = std::string(to_string(r.phase));
  metadata["layout"] = std::string(to_string(r.layout));
  metadata["planner_version"] = version_string;
  header["__metadata__"] = std::move(metadata);
  std::int64_t offset = 0;
  for (const array_spec& a : arrays) {
    const std::int64_t bytes = a.count() * 8;
    boost::json::array shape(a.shape.begin(), a.shape.end());
    header[a.name] = boost::json::object{{"dtype", a.real ? "F64" : "I64"},
                                         {"shape", std::move(shape)},
                                         {"data_offsets", boost::json::array{offset, offset + bytes}}};
    offset += bytes;
    info.push_back({a.name, a.real ? "float64" : "int64", a.shape});
  }
  std::string text = boost::json::serialize(header);
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned
  std::array<unsigned char, 8> length{};
  for (std::size_t k = 0; k < 8; ++k) length[k] = static_cast<unsigned char>((text.size() >> (8 * k)) & 0xff);
  s.put(std::string_view(reinterpret_cast<const char*>(length.data()), length.size()));
  s.put(text);
  for (const array_spec& a : arrays)
    g.each_chunk(a, false, [&](auto chunk, std::int64_t) { s.put_raw(chunk.data(), chunk.size_bytes()); });
}

void write_csv_table(sink& s, generator& g, std::vector<table_array_info>& info) {
  const table_request& r = g.request();
  const auto arrays = arrays_of(r);
  for (const array_spec& a : arrays) info.push_back({a.name, a.real ? "float64" : "int64", a.shape});
  if (r.layout == table_layout::dense) {
    // N rows of N values (prefill) or one row of N (decode); no header row.
    const bool prefill = r.phase == table_phase::prefill;
    g.each_chunk(arrays[0], true, [&](auto chunk, std::int64_t first) {
      if (!prefill && first > 0) s.put(",");
      put_values(s, chunk, ",");
      if (prefill) s.put("\n");
    });
    if (!prefill) s.put("\n");
    return;
  }
  // One row per token: fill the columns chunk by chunk, then interleave.
  for (std::size_t k = 0; k < arrays.size(); ++k) s.put(std::string(k ? "," : "") + arrays[k].name);
  s.put("\n");
  std::vector<std::vector<std::int64_t>> ints(arrays.size());
  std::vector<std::vector<double>> reals(arrays.size());
  for (std::int64_t first = 0; first < r.tokens; first += static_cast<std::int64_t>(chunk_elements)) {
    const auto n = static_cast<std::size_t>(std::min<std::int64_t>(static_cast<std::int64_t>(chunk_elements), r.tokens - first));
    for (std::size_t k = 0; k < arrays.size(); ++k) {
      if (arrays[k].real) {
        reals[k].resize(n);
        fill(r, arrays[k], first, std::span<double>(reals[k]));
      } else {
        ints[k].resize(n);
        fill(r, arrays[k], first, std::span<std::int64_t>(ints[k]));
      }
    }
    g.report(static_cast<std::int64_t>(arrays.size() * n));
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t k = 0; k < arrays.size(); ++k) {
        if (k) s.put(",");
        if (arrays[k].real) s.number(reals[k][t]);
        else s.number(ints[k][t]);
      }
      s.put("\n");
    }
  }
}

void write_json_table(sink& s, generator& g, std::vector<table_array_info>& info) {
  const table_request& r = g.request();
  const auto arrays = arrays_of(r);
  // The envelope of every JSON document; only the result, which can hold millions of values, is
  // streamed here, in write_json's layout (number arrays on one line).
  boost::json::object params{{"tokens", r.tokens}};
  for (auto& [key, value] : method_params_of(r)) params[key] = value;
  params["phase"] = std::string(to_string(r.phase));
  params["layout"] = std::string(to_string(r.layout));
  params["format"] = std::string(to_string(r.format));
  const json_envelope_text frame = json_envelope_around_result(table_document_command, std::move(params));
  s.put(frame.before_result);
  // Self-Extend's result starts with its fractional offset; another method's with its first array.
  bool first_key = true;
  if (!other_method(r)) {
    s.put("{\n    \"fractional_offset\": ");
    s.number(fractional_offset(r.extension));
    first_key = false;
  }
  for (const array_spec& a : arrays) {
    info.push_back({a.name, a.real ? "float64" : "int64", a.shape});
    s.put(std::string(first_key ? "{" : ",") + "\n    \"" + a.name + "\": ");
    first_key = false;
    const bool rows = a.shape.size() == 2;
    s.put(rows ? "[\n      [" : "[");
    g.each_chunk(a, true, [&](auto chunk, std::int64_t first) {
      if (rows && first > 0) s.put("],\n      [");
      else if (!rows && first > 0) s.put(", ");
      put_values(s, chunk, ", ");
    });
    s.put(rows ? "]\n    ]" : "]");
  }
  s.put("\n  }");
  s.put(frame.after_result);
}

void write_c_header_table(sink& s, generator& g, std::vector<table_array_info>& info) {
  const table_request& r = g.request();
  const auto arrays = arrays_of(r);
  if (other_method(r)) {
    // Another method: its name and parameters as macros, the branches named in the comment.
    const boost::json::object params = method_parameters_json(r.method);
    std::string described, branches;
    for (const auto& [key, value] : params)
      if (key != "method") described += ", " + std::string(key) + " = " + scalar_text(value);
    for (const std::string_view b : branch_names(r.method.kind)) branches += (branches.empty() ? "" : ", ") + std::string(b);
    s.put("/* " + std::string(to_string(r.method.kind)) + " position tables generated by selfextend-planner " +
          std::string(version_string) + ".\n   N = " + std::to_string(r.tokens) + described + ", " +
          std::string(to_string(r.layout)) + " layout, " + std::string(to_string(r.phase)) + ".\n   Branches: " + branches +
          "; pair (i, j) scored at <branch>_query_position[i] - <branch>_key_position[j] in the branch docs/methods.md\n"
          "   selects (dense: -1 above the diagonal, -2 not attended). */\n");
    s.put("#ifndef SELFEXTEND_POSITION_TABLES_H\n#define SELFEXTEND_POSITION_TABLES_H\n\n#include <stdint.h>\n\n");
    s.put("#define SELFEXTEND_METHOD \"" + std::string(to_string(r.method.kind)) + "\"\n");
    for (const auto& [key, value] : params) {
      if (key == "method") continue;
      std::string macro(key);
      for (char& c : macro) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      s.put("#define SELFEXTEND_" + macro + " " + scalar_text(value) + "\n");
    }
    s.put("#define SELFEXTEND_TOKENS " + std::to_string(r.tokens) + "\n");
  } else {
    s.put("/* Self-Extend position tables generated by selfextend-planner " + std::string(version_string) +
          ".\n   G = " + std::to_string(r.extension.group) + ", W = " + std::to_string(r.extension.window) +
          ", N = " + std::to_string(r.tokens) + ", " + std::string(to_string(r.extension.shift)) + " shift, " +
          std::string(to_string(r.layout)) + " layout, " + std::string(to_string(r.phase)) +
          ".\n   Pair (i, j), j <= i: neighbor branch iff i - j < SELFEXTEND_WINDOW. */\n");
    s.put("#ifndef SELFEXTEND_POSITION_TABLES_H\n#define SELFEXTEND_POSITION_TABLES_H\n\n#include <stdint.h>\n\n");
    s.put("#define SELFEXTEND_GROUP " + std::to_string(r.extension.group) + "\n");
    s.put("#define SELFEXTEND_WINDOW " + std::to_string(r.extension.window) + "\n");
    s.put("#define SELFEXTEND_TOKENS " + std::to_string(r.tokens) + "\n");
    s.put(std::string("#define SELFEXTEND_FRACTIONAL_SHIFT ") + (r.extension.shift == shift_rule::fractional ? "1" : "0") + "\n");
  }
  for (const array_spec& a : arrays) {
    info.push_back({a.name, a.real ? "double" : "int32", a.shape});
    const bool square = a.shape.size() == 2;
    s.put(std::string("\nstatic const ") + (a.real ? "double" : "int32_t") + " selfextend_" + a.name +
          (square ? "[SELFEXTEND_TOKENS][SELFEXTEND_TOKENS]" : "[SELFEXTEND_TOKENS]") + " = {\n");
    g.each_chunk(a, true, [&](auto chunk, std::int64_t first) {
      // 16 values per line; a dense row is one brace group.
      if (square) s.put(first > 0 ? ",\n  {" : "  {");
      for (std::size_t k = 0; k < chunk.size(); ++k) {
        const std::int64_t e = square ? static_cast<std::int64_t>(k) : first + static_cast<std::int64_t>(k);
        if (e > 0) s.put(e % 16 == 0 ? ",\n  " : ", ");
        else if (!square) s.put("  ");
        s.number(chunk[k]);
      }
      if (square) s.put("}");
    });
    s.put("\n};\n");
  }
  s.put("\n#endif /* SELFEXTEND_POSITION_TABLES_H */\n");
}

}  // namespace

table_summary write_position_table(std::ostream& out, const table_request& request, const table_progress& progress) {
  detail::throw_if_any(validate(request));
  table_summary summary;
  summary.request = request;
  sink s(out);
  generator g(request, progress);
  switch (request.format) {
    case table_format::npy: write_npy_table(s, g, summary.arrays); break;
    case table_format::safetensors: write_safetensors_table(s, g, summary.arrays); break;
    case table_format::csv: write_csv_table(s, g, summary.arrays); break;
    case table_format::json: write_json_table(s, g, summary.arrays); break;
    case table_format::c_header: write_c_header_table(s, g, summary.arrays); break;
  }
  s.flush();
  summary.bytes = s.written();
  return summary;
}

table_summary write_position_table(const std::filesystem::path& path, const table_request& request,
                                   const table_progress& progress) {
  detail::throw_if_any(validate(request));
  atomic_output_file file(path);
  table_summary summary;
  try {
    summary = write_position_table(file.stream(), request, progress);
  } catch (const std::runtime_error& e) {
    // Name the file; the temporary is removed by file's destructor.
    throw std::runtime_error("cannot write " + path.string() + ": " + e.what());
  }
  file.commit();
  return summary;
}

}  // namespace selfextend
