// module.cpp - selfextend_planner._core: the module's entry point.
#include <selfextend/version.hpp>

#include "bindings.hpp"
#include "convert.hpp"

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  // Each docstring starts with its Python signature (keyword-only options included), which
  // pybind11's generated one, showing **kwargs, would hide.
  py::options options;
  options.disable_function_signatures();
  m.doc() = sxpy::docs::module;
  m.attr("__version__") = selfextend::version_string;
  sxpy::register_errors(m);
  sxpy::bind_planning(m);
  sxpy::bind_kernels(m);
}
