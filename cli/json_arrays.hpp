// json_arrays.hpp - how the result builders (json_*.hpp) render the large arrays a library result
// owns: per-token positions, per-position counts. The CLI writes them as JSON arrays; the Python
// module derives its own renderer that hands the same memory to NumPy without copying. Both front
// ends therefore share one builder per result, and with it one set of keys.
#pragma once

#include <cstdint>
#include <span>

#include <boost/json/value.hpp>

namespace sxplan {

/// Renders one array of a result, C order, of shape `shape` ([values.size()] when empty). This base
/// class is the CLI's: a JSON array of the values (an array of rows for rank 2). A renderer is
/// called while the result is alive and may keep the span (the Python module does, owning the
/// result for as long as any NumPy view of it exists).
class array_renderer {
 public:
  virtual ~array_renderer() = default;
  [[nodiscard]] virtual boost::json::value render(std::span<const std::int64_t> values,
                                                  std::span<const std::int64_t> shape = {}) const;
  [[nodiscard]] virtual boost::json::value render(std::span<const double> values,
                                                  std::span<const std::int64_t> shape = {}) const;
};

/// The CLI's renderer (plain JSON arrays); the default of every builder.
[[nodiscard]] const array_renderer& json_arrays() noexcept;

}  // namespace sxplan
