// convert.cpp - see convert.hpp.
#include "convert.hpp"
#include "choices.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <cmath>

#include <boost/json.hpp>

#include <selfextend/error.hpp>
#include <selfextend/gguf.hpp>
#include <selfextend/hf_config.hpp>

namespace sxpy {

namespace json = boost::json;

namespace {

// Set once at import; the interpreter keeps the module (and so these) alive until it exits.
PyObject* invalid_params_type = nullptr;
PyObject* no_solution_type = nullptr;
PyObject* issue_type = nullptr;

/// The key of the one-entry object numpy_arrays stands in for an array: no result key starts with
/// a NUL byte, so a marker cannot be mistaken for a result.
constexpr json::string_view marker_key{"\0ndarray", 8};

std::string repr_text(py::handle value) { return py::repr(value).cast<std::string>(); }
std::string str_text(py::handle value) { return py::str(value).cast<std::string>(); }

void raise_invalid_params(const selfextend::invalid_params& e) {
  py::list issues;
  for (const selfextend::issue& i : e.issues())
    issues.append(py::reinterpret_borrow<py::object>(issue_type)(i.key, i.value, i.rule));
  py::object exc = py::reinterpret_borrow<py::object>(invalid_params_type)(e.what());
  exc.attr("issues") = std::move(issues);
  PyErr_SetObject(invalid_params_type, exc.ptr());
}

void raise_no_solution(const selfextend::no_solution& e) {
  const selfextend::issue& i = e.reason();
  py::object exc = py::reinterpret_borrow<py::object>(no_solution_type)(e.what());
  exc.attr("issue") = py::reinterpret_borrow<py::object>(issue_type)(i.key, i.value, i.rule);
  exc.attr("least_satisfying") = e.least_satisfying();
  PyErr_SetObject(no_solution_type, exc.ptr());
}

/// A new exception class selfextend_planner.<name> deriving from `base`, with the class attributes
/// in `body` and the docstring `doc`, set on the module; returns the type (kept for the module's life).
PyObject* new_exception(py::module_& m, const char* name, PyObject* base, py::dict body, const char* doc) {
  body["__doc__"] = doc;
  PyObject* type = PyErr_NewException((std::string("selfextend_planner.") + name).c_str(), base, body.ptr());
  if (!type) throw py::error_already_set();
  m.attr(name) = py::reinterpret_borrow<py::object>(type);
  return type;
}

}  // namespace

void register_errors(py::module_& m) {
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  py::object issue = namedtuple("Issue", py::make_tuple("key", "value", "rule"), py::arg("module") = "selfextend_planner");
  issue.attr("__doc__") =
      "One broken rule: key (the argument, as in the CLI's flag and the JSON), value (as text), rule.";
  issue_type = issue.release().ptr();
  m.attr("Issue") = py::reinterpret_borrow<py::object>(issue_type);

  py::dict body;
  body["issues"] = py::list();
  invalid_params_type = new_exception(
      m, "InvalidParams", PyExc_ValueError, body,
      "Bad input: every broken rule at once in .issues, a list of Issue(key, value, rule).\n\n"
      "str(e) joins the messages \"key = value: rule\" with \"; \"; each is the line the CLI prints\n"
      "for the same input (after \"sxplan <command>: --\"). A ValueError.");

  py::dict no_solution_body;
  no_solution_body["issue"] = py::none();
  no_solution_body["least_satisfying"] = 0;
  no_solution_type = new_exception(
      m, "NoSolution", PyExc_RuntimeError, no_solution_body,
      "Valid input that no answer satisfies: an explicit max_group below every G that fits.\n\n"
      ".issue is the Issue(key, value, rule) (key \"max_group\"), .least_satisfying the smallest value of\n"
      "that key that has an answer (the smallest G that fits). The CLI exits 1 for it. A RuntimeError.");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const selfextend::invalid_params& e) {
      raise_invalid_params(e);
    } catch (const selfextend::no_solution& e) {
      raise_no_solution(e);
    }
  });
}

void type_error(const std::string& key, py::handle value, const std::string& rule) {
  throw py::type_error(key + " = " + repr_text(value) + ": " + rule);
}

keywords::keywords(const char* function, py::kwargs kwargs, std::initializer_list<keyword_names> accepted)
    : given_(std::move(kwargs)) {
  for (const keyword_names group : accepted) accepted_.insert(accepted_.end(), group.begin(), group.end());
  for (const auto& item : given_) {
    const std::string name = str_text(item.first);
    if (std::find(accepted_.begin(), accepted_.end(), name) == accepted_.end())
      throw py::type_error(std::string(function) + "() got an unexpected keyword argument '" + name + "'");
  }
}

py::object keywords::take(const char* name) {
  if (std::find(accepted_.begin(), accepted_.end(), name) == accepted_.end())
    throw std::logic_error(std::string("binding reads the keyword ") + name + " it does not declare");
  return given_.contains(name) ? py::object(given_[name]) : py::object(py::none());
}

std::int64_t int64_arg(const std::string& key, py::handle value) {
  // bool is an int in Python, but True tokens is a mistake; so is 15800.0 (the CLI says the same).
  if (PyBool_Check(value.ptr()) || !PyIndex_Check(value.ptr())) type_error(key, value, "must be an integer");
  py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr()));
  if (!index) throw py::error_already_set();
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow != 0) throw selfextend::invalid_params(key, str_text(index), "does not fit in 64 bits");
  if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
  return static_cast<std::int64_t>(v);
}

std::optional<std::int64_t> optional_int64(const std::string& key, py::handle value) {
  if (value.is_none()) return std::nullopt;
  return int64_arg(key, value);
}

double real_arg(const std::string& key, py::handle value) {
  if (PyBool_Check(value.ptr()) || !(PyFloat_Check(value.ptr()) || PyIndex_Check(value.ptr()) ||
                                     py::isinstance(value, py::module_::import("numbers").attr("Real"))))
    type_error(key, value, "must be a number");
  const double v = PyFloat_AsDouble(value.ptr());
  if (v == -1.0 && PyErr_Occurred()) throw py::error_already_set();
  if (!std::isfinite(v)) throw selfextend::invalid_params(key, str_text(value), "must be a finite number");
  return v;
}

std::optional<double> optional_real(const std::string& key, py::handle value) {
  if (value.is_none()) return std::nullopt;
  return real_arg(key, value);
}

std::optional<std::string> optional_text(const std::string& key, py::handle value) {
  if (value.is_none()) return std::nullopt;
  if (!PyUnicode_Check(value.ptr())) type_error(key, value, "must be a string");
  return value.cast<std::string>();
}

bool bool_arg(const std::string& key, py::handle value) {
  if (!PyBool_Check(value.ptr())) type_error(key, value, "must be True or False");
  return value.ptr() == Py_True;
}

std::optional<std::string> optional_path(const std::string& key, py::handle value) {
  if (value.is_none()) return std::nullopt;
  py::object path = py::reinterpret_steal<py::object>(PyOS_FSPath(value.ptr()));
  if (!path) {
    PyErr_Clear();
    type_error(key, value, "must be a path (str or os.PathLike)");
  }
  if (!PyUnicode_Check(path.ptr())) type_error(key, value, "must be a path (str or os.PathLike)");
  return path.cast<std::string>();
}

std::vector<std::int64_t> int64_list(const std::string& key, py::handle value) {
  if (PyUnicode_Check(value.ptr()) || !py::isinstance<py::iterable>(value))
    type_error(key, value, "must be a sequence of integers");
  std::vector<std::int64_t> out;
  for (py::handle item : value) out.push_back(int64_arg(key, item));
  return out;
}

std::vector<double> real_list(const std::string& key, py::handle value) {
  if (PyUnicode_Check(value.ptr()) || !py::isinstance<py::iterable>(value)) type_error(key, value, "must be a sequence of numbers");
  std::vector<double> out;
  for (py::handle item : value) {
    if (py::isinstance<py::iterable>(item)) type_error(key, value, "must be one-dimensional");
    out.push_back(real_arg(key, item));
  }
  return out;
}

void require_readable(const std::string& path) {
  // O_NONBLOCK: a FIFO without a writer must not hang the interpreter; the reader refuses it later.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    PyErr_SetFromErrnoWithFilename(PyExc_OSError, path.c_str());
    throw py::error_already_set();
  }
  ::close(fd);
}

std::optional<model_choice> take_model(keywords& kw, bool required, bool with_context, bool planning) {
  // As `sxplan` (cli_common.cpp resolve_model): one of model=, config=, gguf=, or context= alone;
  // context= next to one of them plans against that L instead (the facts' rules applied with it).
  const std::optional<std::int64_t> context =
      with_context ? optional_int64("context", kw.take("context")) : std::optional<std::int64_t>();
  const std::optional<std::string> preset = optional_text("model", kw.take("model"));
  const std::optional<std::string> config = optional_path("config", kw.take("config"));
  const std::optional<std::string> gguf = optional_path("gguf", kw.take("gguf"));
  std::vector<std::pair<std::string, std::string>> given;
  if (preset) given.emplace_back("model", *preset);
  if (config) given.emplace_back("config", *config);
  if (gguf) given.emplace_back("gguf", *gguf);
  if (given.empty() && !context) {
    if (!required) return std::nullopt;
    throw selfextend::invalid_params("context", "(none)", "a model is required: give context, model, config or gguf");
  }
  if (given.size() > 1)
    throw selfextend::invalid_params(given[1].first, given[1].second,
                                     "conflicts with " + given[0].first + ": give only one of model, config, gguf");
  model_choice choice;
  selfextend::fact_overrides overrides;
  overrides.context = context;
  if (given.empty()) {
    // L >= 2 is the library's rule, checked with every other one so all are reported together.
    choice.key = "context";
    choice.model.context = *context;
    choice.model.name = "context";
    choice.model.source = "context";
    choice.model.context_source = "given";
    return choice;
  }
  choice.key = given[0].first;
  if (preset) {
    choice.model = selfextend::find_model(*preset, overrides);
  } else if (config) {
    require_readable(*config);
    choice.model = selfextend::read_hf_config(*config, overrides);
  } else {
    require_readable(*gguf);
    choice.model = selfextend::read_gguf(*gguf, overrides);
    choice.gguf = gguf;
  }
  if (planning) selfextend::require_rope(choice.model, given[0].first, given[0].second);
  // What the CLI prints as "warning:" lines (pre-scaled RoPE, sliding windows, ...): Python warnings.
  for (const std::string& w : choice.model.warnings)
    if (PyErr_WarnEx(PyExc_UserWarning, w.c_str(), 2) != 0) throw py::error_already_set();
  return choice;
}

json::value numpy_arrays::add(const void* data, py::dtype dtype, std::size_t size,
                              std::span<const std::int64_t> shape) const {
  view v{data, std::move(dtype), {}};
  if (shape.empty()) v.shape.push_back(static_cast<py::ssize_t>(size));
  for (const std::int64_t extent : shape) v.shape.push_back(static_cast<py::ssize_t>(extent));
  views_.push_back(std::move(v));
  json::object marker;
  marker[marker_key] = views_.size() - 1;
  return marker;
}

json::value numpy_arrays::render(std::span<const std::int64_t> values, std::span<const std::int64_t> shape) const {
  return add(values.data(), py::dtype::of<std::int64_t>(), values.size(), shape);
}

json::value numpy_arrays::render(std::span<const double> values, std::span<const std::int64_t> shape) const {
  return add(values.data(), py::dtype::of<double>(), values.size(), shape);
}

const numpy_arrays::view* numpy_arrays::find(const json::value& v) const {
  const json::object* o = v.if_object();
  if (!o || o->size() != 1) return nullptr;
  const json::value* index = o->if_contains(marker_key);
  if (!index || !index->is_uint64()) return nullptr;
  return &views_.at(static_cast<std::size_t>(index->get_uint64()));
}

py::object to_python(const json::value& v, const numpy_arrays& arrays, const py::object& owner) {
  switch (v.kind()) {
    case json::kind::null: return py::none();
    case json::kind::bool_: return py::bool_(v.get_bool());
    case json::kind::int64: return py::int_(v.get_int64());
    case json::kind::uint64: return py::int_(v.get_uint64());
    case json::kind::double_: return py::float_(v.get_double());
    case json::kind::string: return py::str(std::string(v.get_string()));
    case json::kind::array: {
      py::list out;
      for (const json::value& item : v.get_array()) out.append(to_python(item, arrays, owner));
      return out;
    }
    case json::kind::object: {
      if (const numpy_arrays::view* a = arrays.find(v)) {
        // An empty array has no memory to share: NumPy allocates its own (nothing to copy).
        return py::array(a->dtype, a->shape, {}, a->data, a->data ? owner : py::object());
      }
      py::dict out;
      for (const auto& [key, value] : v.get_object()) out[py::str(std::string(key))] = to_python(value, arrays, owner);
      return out;
    }
  }
  return py::none();
}

py::object to_python(const json::object& o) { return to_python(json::value(o), numpy_arrays(), py::none()); }

selfextend::method_params read_method(keywords& kw, py::handle group, py::handle window,
                                      const selfextend::model_info* model) {
  using selfextend::method_kind;
  selfextend::method_params m;
  const std::string name = optional_text("method", kw.take("method")).value_or("selfextend");
  m.kind = selfextend::method_kind_named(name);
  std::vector<std::pair<std::string_view, py::object>> given;
  for (const std::string_view key : selfextend::method_parameter_keys) {
    py::object value = key == "group"    ? py::reinterpret_borrow<py::object>(group)
                       : key == "window" ? py::reinterpret_borrow<py::object>(window)
                                         : kw.take(std::string(key).c_str());
    // Any other method's parameter is refused rather than ignored.
    if (!value.is_none() && !selfextend::method_takes(m.kind, key))
      throw selfextend::invalid_params(std::string(key), py::str(value).cast<std::string>(), "does not apply to method " + name);
    given.emplace_back(key, std::move(value));
  }
  const auto value = [&](std::string_view key) {
    for (const auto& [k, v] : given)
      if (k == key) return v;
    return py::object(py::none());
  };
  const auto required = [&](const char* key) {
    if (value(key).is_none()) throw selfextend::invalid_params(key, "(none)", "is required for method " + name);
    return int64_arg(key, value(key));
  };
  switch (m.kind) {
    case method_kind::self_extend:
      m.self_extend = {required("group"), required("window"),
                       sxplan::shift_choice(optional_text("shift", value("shift")).value_or("int"))};
      return m;
    case method_kind::dca:
      if (model && model->dual_chunk && value("chunk_size").is_none() && value("local_window").is_none()) {
        m.chunk_size = model->dual_chunk->chunk_size;
        m.local_window = model->dual_chunk->local_size;
      } else {
        m.chunk_size = required("chunk_size");
        m.local_window = required("local_window");
      }
      break;
    case method_kind::rerope: m.window = required("window"); break;
    case method_kind::leaky_rerope:
      m.window = required("window");
      if (const auto leak = optional_real("leak", value("leak"))) m.leak = *leak;
      break;
    case method_kind::streaming:
      if (const auto start = optional_int64("start_size", value("start_size"))) m.start_size = *start;
      if (const auto recent = optional_int64("recent_size", value("recent_size"))) m.recent_size = *recent;
      break;
  }
  selfextend::require_valid_method(m);
  return m;
}

}  // namespace sxpy
