// convert.hpp - what every binding of selfextend_planner shares: Python arguments read with the CLI's
// rules, library errors as InvalidParams / OSError, and results converted from the CLI's JSON
// builders to Python objects, with the arrays a result owns handed to NumPy without copying.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <selfextend/methods.hpp>
#include <selfextend/models.hpp>

#include "json_arrays.hpp"

namespace sxpy {

namespace py = pybind11;

/// Creates selfextend_planner.InvalidParams (a ValueError) and Issue, and translates
/// selfextend::invalid_params into InvalidParams carrying `.issues`.
void register_errors(py::module_& m);

/// Raises TypeError "<key> = <repr(value)>: <rule>": the argument has the wrong Python type.
[[noreturn]] void type_error(const std::string& key, py::handle value, const std::string& rule);

/// A group of keyword-only arguments several functions accept.
using keyword_names = std::span<const char* const>;
/// context, model, config, gguf: the ways to name the model (take_model).
inline constexpr const char* model_keywords[] = {"context", "model", "config", "gguf"};

/// The keyword-only arguments of one call. The constructor raises TypeError for a keyword none of
/// the `accepted` groups holds, as Python does, before any value is looked at (a misspelt option
/// is reported as such, not as the missing one); the binding then takes each, in any order.
class keywords {
 public:
  keywords(const char* function, py::kwargs kwargs, std::initializer_list<keyword_names> accepted);
  /// The argument `name` (one of the accepted), or None when not given (None means the default).
  py::object take(const char* name);

 private:
  py::dict given_;
  std::vector<std::string> accepted_;
};

// Scalars, read with the CLI's rules and messages: an int for an integer (bool and float refused as
// TypeError, "does not fit in 64 bits" as InvalidParams), a finite real, a string.
std::int64_t int64_arg(const std::string& key, py::handle value);
std::optional<std::int64_t> optional_int64(const std::string& key, py::handle value);
double real_arg(const std::string& key, py::handle value);
std::optional<double> optional_real(const std::string& key, py::handle value);
std::optional<std::string> optional_text(const std::string& key, py::handle value);
bool bool_arg(const std::string& key, py::handle value);
/// A path (str or os.PathLike) for `key`.
std::optional<std::string> optional_path(const std::string& key, py::handle value);
/// A sequence of integers (a list, a tuple or a 1-D integer array) for `key`.
std::vector<std::int64_t> int64_list(const std::string& key, py::handle value);

/// A 1-D sequence of reals (a list, a tuple or a 1-D array) for `key`, as float64 values.
std::vector<double> real_list(const std::string& key, py::handle value);

/// Raises FileNotFoundError, PermissionError, ... (OSError with errno and the path) when `path`
/// cannot be opened for reading; malformed contents stay InvalidParams from the library's readers.
void require_readable(const std::string& path);

/// method, chunk_size, local_window, leak, start_size, recent_size: read_method's keywords besides
/// group, window and shift (which a function declares as its own).
inline constexpr const char* method_keywords[] = {"method", "chunk_size", "local_window", "leak", "start_size", "recent_size"};

/// The method a call names (method= and its keywords, as the CLI's --method and its flags): for
/// selfextend (the default) group and window are required; a parameter of another method is
/// refused, naming it (the library's method_takes). On a `model` that states its Dual Chunk
/// Attention (Qwen2.5-1M), dca without chunk_size and local_window takes the model's own.
/// Self-Extend's plan is left to the caller's checks; another method's is validated here.
selfextend::method_params read_method(keywords& kw, py::handle group, py::handle window,
                                      const selfextend::model_info* model = nullptr);

/// The model a call names: one of model=, config=, gguf=, or context= alone (the CLI's --model,
/// --config, --gguf, --context); context= next to one of them replaces its L. Taken from `kw`. `required` false: none given returns nullopt;
/// `with_context` false: only a real model (model=, config=, gguf=) is accepted.
struct model_choice {
  std::string key;  ///< the argument that named it: context, model, config or gguf
  selfextend::model_info model;
  std::optional<std::string> gguf;  ///< the GGUF path, when the model came from one
};
/// `planning` refuses a model whose position encoding is not RoPE, as every planning command does.
/// The model's warnings are issued as Python UserWarnings.
std::optional<model_choice> take_model(keywords& kw, bool required, bool with_context = true, bool planning = true);

/// The array renderer of the Python front end: records each array the builder renders and stands
/// in a marker for it; to_python() replaces the markers by NumPy views of the same memory.
class numpy_arrays final : public sxplan::array_renderer {
 public:
  [[nodiscard]] boost::json::value render(std::span<const std::int64_t> values,
                                          std::span<const std::int64_t> shape) const override;
  [[nodiscard]] boost::json::value render(std::span<const double> values,
                                          std::span<const std::int64_t> shape) const override;

  struct view {
    const void* data;
    py::dtype dtype;
    std::vector<py::ssize_t> shape;
  };
  [[nodiscard]] const view* find(const boost::json::value& v) const;

 private:
  boost::json::value add(const void* data, py::dtype dtype, std::size_t size, std::span<const std::int64_t> shape) const;
  mutable std::vector<view> views_;
};

/// A JSON value as Python objects (dict, list, str, int, float, bool, None); markers of `arrays`
/// become NumPy arrays over the library's memory whose base is `owner`.
py::object to_python(const boost::json::value& v, const numpy_arrays& arrays, const py::object& owner);
/// A result without library-owned arrays.
py::object to_python(const boost::json::object& o);

/// A heap-allocated library result handed to Python: `build(result, arrays)` is the CLI's JSON
/// builder; the returned dict's arrays are views into `result`, which a capsule keeps alive.
template <class Result, class Build>
py::object result_to_python(std::unique_ptr<Result> result, Build&& build) {
  numpy_arrays arrays;
  const boost::json::object o = std::forward<Build>(build)(*result, static_cast<const sxplan::array_renderer&>(arrays));
  py::capsule owner(result.get(), [](void* p) { delete static_cast<Result*>(p); });
  (void)result.release();  // the capsule owns it now
  return to_python(o, arrays, owner);
}

/// A vector the library filled, as a NumPy array of `shape` owning it (no copy).
template <class T>
py::array vector_to_numpy(std::vector<T> values, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(std::move(shape), owned->data(), owner);
}

}  // namespace sxpy
