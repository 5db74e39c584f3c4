// json_tables.cpp - serialisation of in-memory position tables; key names are the JSON contract (docs/json.md).
#include "json_tables.hpp"

#include <string>

#include <boost/json.hpp>

namespace sxplan {

namespace json = boost::json;

json::object to_json(const selfextend::position_tables& t, const array_renderer& arrays) {
  json::object o;
  o["fractional_offset"] = t.fractional_offset;
  for (const selfextend::token_array which : selfextend::all_token_arrays) {
    const std::string name(selfextend::to_string(which));
    const bool real = which == selfextend::token_array::group_query_position && !t.group_query_position_real.empty();
    o[name] = real ? arrays.render(t.group_query_position_real) : arrays.render(t[which]);
  }
  return o;
}

namespace {
template <class T>
json::object dense(double fractional_offset, std::span<const T> values, std::span<const std::int64_t> shape,
                   const array_renderer& arrays) {
  json::object o;
  o["fractional_offset"] = fractional_offset;
  o["relative_position"] = arrays.render(values, shape);
  return o;
}
}  // namespace

json::object dense_to_json(double fractional_offset, std::span<const std::int64_t> relative_position,
                           std::span<const std::int64_t> shape, const array_renderer& arrays) {
  return dense(fractional_offset, relative_position, shape, arrays);
}

json::object dense_to_json(double fractional_offset, std::span<const double> relative_position,
                           std::span<const std::int64_t> shape, const array_renderer& arrays) {
  return dense(fractional_offset, relative_position, shape, arrays);
}

}  // namespace sxplan
