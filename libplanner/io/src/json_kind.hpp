// json_kind.hpp - how the strict JSON readers (config.json, a conformance manifest) name a value's type.
#pragma once

#include <boost/json/value.hpp>

namespace selfextend::detail {

/// "a string", "an array", "an object", "a boolean", "null" or "a number", for "must be X, got Y".
[[nodiscard]] inline const char* json_kind(const boost::json::value& v) noexcept {
  switch (v.kind()) {
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::null: return "null";
    default: return "a number";
  }
}

}  // namespace selfextend::detail
