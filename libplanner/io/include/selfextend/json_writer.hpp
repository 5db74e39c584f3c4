// json_writer.hpp - the one JSON document layout of the project: the envelope every document shares
// and the deterministic writer (target selfextend::planner_io). The only public header that uses
// Boost.JSON types; docs/json.md describes the document.
#pragma once

#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace selfextend {

struct method_params;  // methods.hpp

/// Versions every JSON document (docs/json.md: keys are only added within one version).
inline constexpr int json_schema_version = 1;

/// The one place a document is assembled: {"schema_version", "planner_version", "command",
/// "params", "result", "warnings"} in that order. `command` names the document kind (the sxplan command that
/// prints it; "table" for a table file), `params` the resolved inputs, `result` the output,
/// `warnings` every warning the command gives, model warnings included (an empty array when none).
[[nodiscard]] boost::json::object json_envelope(std::string_view command, boost::json::object params,
                                                boost::json::value result,
                                                std::span<const std::string> warnings = {});

/// A method and its parameters as every document spells them: {"method": "dca", "chunk_size": ...,
/// "local_window": ...}; Self-Extend's are group, window and shift (docs/json.md).
[[nodiscard]] boost::json::object method_parameters_json(const method_params& m);

/// Bytes of the valid UTF-8 sequence starting at s[i] (1 to 4), or 0 when the byte there does not
/// start one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, cut short).
[[nodiscard]] std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

/// Writes `value` as pretty-printed, deterministic JSON and a final newline (always valid UTF-8:
/// control bytes are escaped, a byte of invalid UTF-8 in a string becomes U+FFFD): 2-space indent, keys in
/// insertion order, arrays of numbers on one line (tables can hold millions), doubles as the shortest
/// text that round-trips, always with a '.' or an exponent so a real stays a real; NaN and infinity
/// (which no result holds) as null.
void write_json(std::ostream& out, const boost::json::value& value);

/// The text of json_envelope(command, params, ...) around a result too large to build in memory:
/// write `before_result`, then the result value (an object whose keys are indented by 4 spaces and
/// whose closing brace by 2, as write_json would place them), then `after_result`.
struct json_envelope_text {
  std::string before_result;
  std::string after_result;
};
[[nodiscard]] json_envelope_text json_envelope_around_result(std::string_view command, boost::json::object params);

}  // namespace selfextend
