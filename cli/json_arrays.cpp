// json_arrays.cpp - the CLI's array renderer: plain JSON arrays.
#include "json_arrays.hpp"

#include <boost/json/array.hpp>

namespace sxplan {

namespace {

template <class T>
boost::json::value nested(std::span<const T> values, std::span<const std::int64_t> shape) {
  if (shape.size() != 2) return boost::json::array(values.begin(), values.end());
  const auto columns = static_cast<std::size_t>(shape[1]);
  boost::json::array rows;
  rows.reserve(static_cast<std::size_t>(shape[0]));
  for (std::size_t first = 0; first < values.size(); first += columns) {
    const std::span<const T> row = values.subspan(first, columns);
    rows.emplace_back(boost::json::array(row.begin(), row.end()));
  }
  return rows;
}

}  // namespace

boost::json::value array_renderer::render(std::span<const std::int64_t> values,
                                          std::span<const std::int64_t> shape) const {
  return nested(values, shape);
}

boost::json::value array_renderer::render(std::span<const double> values, std::span<const std::int64_t> shape) const {
  return nested(values, shape);
}

const array_renderer& json_arrays() noexcept {
  static const array_renderer renderer;
  return renderer;
}

}  // namespace sxplan
