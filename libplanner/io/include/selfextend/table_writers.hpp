// table_writers.hpp - position tables as files for other runtimes: .npy, .safetensors, CSV, JSON
// and a C header, streamed chunk by chunk and written atomically (target selfextend::planner_io).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/params.hpp>
#include <selfextend/position_tables.hpp>

namespace selfextend {

/// File formats of `sxplan table --format` (docs/formats.md describes each).
enum class table_format : std::uint8_t { json, csv, npy, safetensors, c_header };
/// "json", "csv", "npy", "safetensors", "c-header".
[[nodiscard]] std::string_view to_string(table_format format) noexcept;
[[nodiscard]] std::optional<table_format> parse_table_format(std::string_view text) noexcept;
/// The format an output name implies: .json, .csv, .npy, .safetensors, .h; nullopt otherwise.
[[nodiscard]] std::optional<table_format> format_for_extension(const std::filesystem::path& path) noexcept;

/// tokens: the per-token arrays (Self-Extend's four, two per branch for another method); dense: the
/// relative-position matrix (-1 above the diagonal, -2 for keys a method drops).
enum class table_layout : std::uint8_t { tokens, dense };
/// "tokens" / "dense".
[[nodiscard]] std::string_view to_string(table_layout layout) noexcept;
[[nodiscard]] std::optional<table_layout> parse_table_layout(std::string_view text) noexcept;

/// The `command` of a JSON table file's envelope (json_writer.hpp), as `sxplan table --json` prints it.
inline constexpr std::string_view table_document_command = "table";

/// Everything that determines a table file's bytes.
struct table_request {
  plan extension;                                      ///< G, W, shift (Self-Extend's tables)
  std::int64_t tokens = 1;                             ///< N
  table_phase phase = table_phase::prefill;            ///< decode: the dense layout is the row of query N - 1
  table_layout layout = table_layout::tokens;
  table_format format = table_format::npy;
  std::int64_t limit_bytes = default_dense_limit_bytes;  ///< data ceiling, either layout (8-byte elements)
  bool force = false;                                  ///< write a table above limit_bytes anyway
  /// Another position-remap method's tables (methods.hpp): used when its kind is not self_extend
  /// (then `extension` is not read). Its per-token arrays are two per branch, named by
  /// method_token_array_names; its dense entries are -1 masked, -2 not attended. Self-Extend's
  /// files are unchanged.
  method_params method = {};
  friend bool operator==(const table_request&, const table_request&) = default;
};

/// One array as stored in the file.
struct table_array_info {
  std::string name;                 ///< "group_query_position", "relative_position", or "positions" for the [rows, N] .npy
  std::string dtype;                ///< "int64", "float64", "int32" (C header) or "double" (C header)
  std::vector<std::int64_t> shape;  ///< C order
  friend bool operator==(const table_array_info&, const table_array_info&) = default;
};

/// What a written table holds; returned by write_position_table.
struct table_summary {
  table_request request;
  std::vector<table_array_info> arrays;
  std::int64_t bytes = 0;  ///< bytes written
  friend bool operator==(const table_summary&, const table_summary&) = default;
};

/// Every problem with `request` (plan or method, tokens >= 1, the size limit of either layout —
/// 8·N bytes per per-token array (32·N for Self-Extend), dense_table_bytes for dense — unless
/// force, a size below 2^63 bytes even with force, C header positions fitting int32_t); empty when
/// it can be written. Never throws.
[[nodiscard]] std::vector<issue> validate(const table_request& request);

/// Called after each chunk with (elements written, elements in total).
using table_progress = std::function<void(std::int64_t done, std::int64_t total)>;

/// Bytes of data of the request's per-token arrays: 8·N per array, saturating at INT64_MAX.
[[nodiscard]] std::int64_t token_table_bytes(const table_request& request);

/// Streams the table to `out` in request.format, generating it chunk by chunk (memory O(chunk)
/// for the tokens layout, O(N) for one dense row). The JSON format is json_envelope's document
/// (command table_document_command) with the arrays under result.
/// Throws invalid_params when validate(request) is not empty; std::runtime_error when `out` fails.
table_summary write_position_table(std::ostream& out, const table_request& request, const table_progress& progress = {});

/// Writes the table to `path` through atomic_output_file: on any failure (or interruption) no
/// partial file appears at `path`. Validates before creating anything.
/// Throws invalid_params (bad request) or std::runtime_error ("cannot write <path>: ...").
/// Example: write_position_table("se.npy", {.extension = {8, 1024}, .tokens = 16384});
///          -> se.npy holds a [4, 16384] int64 array.
table_summary write_position_table(const std::filesystem::path& path, const table_request& request,
                                   const table_progress& progress = {});

}  // namespace selfextend
