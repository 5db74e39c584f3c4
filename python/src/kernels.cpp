// kernels.cpp - attention and verify over NumPy arrays: float32/float64, [H, N, D] or [N, D], read in
// place (float32 into the tiled kernel, float64 into the reference, converted otherwise), computed
// with the GIL released.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include <selfextend/attention.hpp>
#include <selfextend/methods.hpp>

#include "attention_inputs.hpp"
#include "bindings.hpp"
#include "choices.hpp"
#include "convert.hpp"
#include "json_attention.hpp"

namespace sxpy {

namespace {

/// One attention tensor as the caller passed it: C-contiguous, aligned, native float32 or float64.
struct tensor {
  py::array array;  ///< keeps the caller's buffer alive (and unchanged in size) during the call
  std::vector<std::int64_t> shape;
  bool single = false;  ///< float32 (else float64)

  [[nodiscard]] std::size_t size() const { return static_cast<std::size_t>(array.size()); }
  [[nodiscard]] const void* data() const { return array.data(); }
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  // Appended piece by piece: GCC 12's LTO reads `", " + std::to_string(...)` here as a memcpy
  // past the object size (-Wstringop-overflow), a false positive that breaks the -Werror build.
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k) s += ", ";
    s += std::to_string(shape[k]);
  }
  return s + "]";
}

tensor read_tensor(const std::string& key, py::handle value) {
  if (value.is_none()) type_error(key, value, "must be a NumPy array");
  tensor t;
  // Views an ndarray or any buffer-protocol object as it is; a list becomes a new array (there is
  // nothing of the caller's to share).
  t.array = py::array::ensure(value);
  if (!t.array) {
    PyErr_Clear();
    type_error(key, value, "must be a NumPy array");
  }
  for (py::ssize_t d = 0; d < t.array.ndim(); ++d) t.shape.push_back(static_cast<std::int64_t>(t.array.shape(d)));
  const std::string dtype = py::str(t.array.dtype().attr("str")).cast<std::string>();
  if (dtype != "<f4" && dtype != "<f8") throw selfextend::invalid_params(key, shape_text(t.shape), sxplan::unsupported_dtype_rule(dtype));
  const py::object flags = t.array.attr("flags");
  if (!flags["C_CONTIGUOUS"].cast<bool>() || !flags["ALIGNED"].cast<bool>())
    throw selfextend::invalid_params(key, shape_text(t.shape),
                                     "must be C-contiguous and aligned (np.ascontiguousarray copies it into such an array)");
  t.single = dtype == "<f4";
  return t;
}

/// The tensor's elements as T: the caller's memory when it holds T, else a converted copy in `copy`
/// (float64 to float32 by the kernel's rule, which refuses what float32 cannot hold, naming `key`).
template <class T>
std::span<const T> elements(const char* key, const tensor& t, std::vector<T>& copy) {
  const bool same = t.single == std::is_same_v<T, float>;
  if (same) return {static_cast<const T*>(t.data()), t.size()};
  if constexpr (std::is_same_v<T, float>) {
    copy = selfextend::to_float32(key, {static_cast<const double*>(t.data()), t.size()});
  } else {
    const auto* in = static_cast<const float*>(t.data());
    copy.assign(in, in + t.size());
  }
  return copy;
}

/// q, k, v and everything the kernel needs besides them, read as `sxplan attend` reads its options
/// (attention_inputs.cpp): the parameters first, then the arrays, then the rules that need the shape.
struct attention_call {
  selfextend::attention_params params;
  selfextend::method_params method;  ///< method= and its parameters (Self-Extend: params.extension)
  std::optional<sxplan::rope_choice> model_rope;  ///< model=/config=/gguf=: the model's rule
  tensor q, k, v;
};

/// Options shared by attention() and verify(), declared here and read below, a line each.
constexpr const char* attention_keywords[] = {"shift",    "rope_theta", "rope_style", "rotary_dims",      "scale_base",
                                              "inv_freq", "threads",    "force",      "attention_factor", "model",
                                              "config",   "gguf",       "layer_type", "method",           "chunk_size",
                                              "local_window", "leak",   "start_size", "recent_size"};

/// Options shared by attention() and verify(), with the CLI's rules: a model states its RoPE (the
/// frequency rule included), so the RoPE options next to it are refused; theta next to explicit
/// frequencies too.
void read_attention_options(keywords& kw, py::handle group, py::handle window, attention_call& c) {
  selfextend::attention_params& p = c.params;
  c.method = read_method(kw, group, window);
  if (c.method.kind == selfextend::method_kind::self_extend) p.extension = c.method.self_extend;
  const std::optional<double> theta = optional_real("rope_theta", kw.take("rope_theta"));
  const std::optional<std::string> style = optional_text("rope_style", kw.take("rope_style"));
  const std::optional<std::int64_t> rotary_dims = optional_int64("rotary_dims", kw.take("rotary_dims"));
  const py::object inv_freq = kw.take("inv_freq");
  const std::optional<double> factor = optional_real("attention_factor", kw.take("attention_factor"));
  if (const auto scale_base = optional_real("scale_base", kw.take("scale_base"))) p.rope.scale_base = *scale_base;
  if (const auto threads = optional_int64("threads", kw.take("threads"))) p.threads = *threads;
  if (const py::object force = kw.take("force"); !force.is_none()) p.force = bool_arg("force", force);
  const std::optional<std::string> layer_type = optional_text("layer_type", kw.take("layer_type"));
  const std::optional<model_choice> choice = take_model(kw, false, false);
  if (layer_type && !choice)
    throw selfextend::invalid_params("layer_type", *layer_type, "needs model, config or gguf: it picks the RoPE of one kind of the model's layers");
  if (choice) {
    const std::pair<const char*, py::object> rope_options[] = {
        {"rope_theta", py::cast(theta)},     {"rope_style", py::cast(style)},
        {"rotary_dims", py::cast(rotary_dims)}, {"inv_freq", inv_freq}, {"attention_factor", py::cast(factor)}};
    for (const auto& [key, value] : rope_options)
      if (!value.is_none())
        throw selfextend::invalid_params(key, py::str(value).cast<std::string>(),
                                         "conflicts with " + choice->key + ": the model states its RoPE");
    c.model_rope = sxplan::rope_of_model(choice->model, layer_type);
    p.rope.style = c.model_rope->style;
    p.rope.theta = c.model_rope->rule.theta;
    p.rope.rotary_dims = c.model_rope->rule.rotary_dims;
  }
  if (theta && !inv_freq.is_none())
    throw selfextend::invalid_params("rope_theta", py::str(py::cast(*theta)).cast<std::string>(),
                                     "conflicts with inv_freq: the frequencies are given");
  if (theta) p.rope.theta = *theta;
  if (factor) p.rope.attention_factor = *factor;
  if (!inv_freq.is_none()) {
    p.rope.inv_freq = real_list("inv_freq", inv_freq);
    if (p.rope.inv_freq.empty()) throw selfextend::invalid_params("inv_freq", "[]", "holds no values");
  }
  if (style) p.rope.style = sxplan::rope_style_choice(*style);
  if (rotary_dims) p.rope.rotary_dims = *rotary_dims;
}

attention_call read_attention_call(keywords& kw, py::handle q, py::handle k, py::handle v, py::handle group,
                                   py::handle window) {
  attention_call c;
  read_attention_options(kw, group, window, c);
  sxplan::require_valid_before_shape(c.params, c.model_rope);
  c.q = read_tensor("q", q);
  c.k = read_tensor("k", k);
  c.v = read_tensor("v", v);
  c.params.shape = selfextend::make_attention_shape(c.q.shape, c.k.shape, c.v.shape);
  sxplan::complete_attention_params(c.params, c.model_rope, shape_text(c.q.shape));
  return c;
}

/// q, k, v as T (in place where their dtype is T), checked finite as the CLI checks its files.
template <class T>
struct typed_inputs {
  std::vector<T> q_copy, k_copy, v_copy;
  std::span<const T> q, k, v;
  explicit typed_inputs(const attention_call& c)
      : q(elements<T>("q", c.q, q_copy)), k(elements<T>("k", c.k, k_copy)), v(elements<T>("v", c.v, v_copy)) {
    const selfextend::attention_shape& s = c.params.shape;
    selfextend::require_finite("q", q, s.query_tokens, s.head_dim);
    selfextend::require_finite("k", k, s.key_tokens, s.head_dim);
    selfextend::require_finite("v", v, s.key_tokens, s.head_dim);
  }
};

std::vector<py::ssize_t> numpy_shape(const std::vector<std::int64_t>& shape) {
  return {shape.begin(), shape.end()};
}

template <class To, class From>
std::vector<To> converted(const std::vector<From>& values) {
  return std::vector<To>(values.begin(), values.end());
}

py::object attention(py::object q, py::object k, py::object v, py::object group, py::object window, py::kwargs kwargs) {
  constexpr const char* options[] = {"kernel"};
  keywords kw("attention", std::move(kwargs), {attention_keywords, options});
  const selfextend::attention_kernel kernel =
      sxplan::kernel_choice(optional_text("kernel", kw.take("kernel")).value_or("tiled"));
  const attention_call c = read_attention_call(kw, q, k, v, group, window);
  if (kernel == selfextend::attention_kernel::blocked && c.method.kind != selfextend::method_kind::self_extend)
    throw selfextend::invalid_params("kernel", "blocked",
                                     "implements Self-Extend only; method " + std::string(selfextend::to_string(c.method.kind)) +
                                         " runs on tiled (the default) or reference");
  // The output has q's shape and dtype.
  const std::vector<py::ssize_t> shape = numpy_shape(c.q.shape);
  if (kernel == selfextend::attention_kernel::tiled) {
    std::vector<float> out;
    {
      py::gil_scoped_release unlocked;
      const typed_inputs<float> in(c);
      out = selfextend::tiled_method_attention(c.params, c.method, in.q, in.k, in.v);
    }
    if (c.q.single) return vector_to_numpy(std::move(out), shape);
    return vector_to_numpy(converted<double>(out), shape);
  }
  std::vector<double> out;
  {
    py::gil_scoped_release unlocked;
    const typed_inputs<double> in(c);
    out = kernel == selfextend::attention_kernel::blocked ? selfextend::blocked_attention(c.params, in.q, in.k, in.v)
          : c.method.kind == selfextend::method_kind::self_extend
              ? selfextend::reference_attention(c.params, in.q, in.k, in.v)
              : selfextend::reference_method_attention(c.params, c.method, in.q, in.k, in.v);
  }
  if (c.q.single) return vector_to_numpy(converted<float>(out), shape);
  return vector_to_numpy(std::move(out), shape);
}

py::object verify(py::object q, py::object k, py::object v, py::object candidate, py::object group, py::object window,
                  py::kwargs kwargs) {
  constexpr const char* options[] = {"atol", "rtol", "oracle"};
  keywords kw("verify", std::move(kwargs), {attention_keywords, options});
  selfextend::tolerance tol;
  if (const auto atol = optional_real("atol", kw.take("atol"))) tol.atol = *atol;
  if (const auto rtol = optional_real("rtol", kw.take("rtol"))) tol.rtol = *rtol;
  (void)selfextend::compare_outputs({}, {}, 1, 1, tol);  // a bad tolerance first, as the CLI does
  const std::optional<std::string> oracle_name = optional_text("oracle", kw.take("oracle"));
  const attention_call c = read_attention_call(kw, q, k, v, group, window);
  // Another method has one float64 kernel, the reference (blocked is Self-Extend's).
  const bool other_method = c.method.kind != selfextend::method_kind::self_extend;
  const selfextend::attention_kernel oracle = sxplan::oracle_choice(oracle_name.value_or(other_method ? "reference" : "blocked"));
  const tensor theirs = read_tensor("candidate", candidate);
  selfextend::require_output_shape("candidate", theirs.shape, c.params.shape);
  auto result = std::make_unique<selfextend::verification>();
  {
    py::gil_scoped_release unlocked;
    const typed_inputs<double> in(c);
    std::vector<double> copy;
    const std::span<const double> candidate_values = elements<double>("candidate", theirs, copy);
    *result = selfextend::verify_method_attention(c.params, c.method, in.q, in.k, in.v, candidate_values, tol, {}, oracle);
  }
  return to_python(sxplan::to_json(*result));
}

}  // namespace

void bind_kernels(py::module_& m) {
  // group and window may be None (or left out) for a method that has no G or w.
  m.def("attention", &attention, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("group") = py::none(),
        py::arg("window") = py::none(), docs::attention);
  m.def("verify", &verify, py::arg("q"), py::arg("k"), py::arg("v"), py::arg("candidate"), py::arg("group") = py::none(),
        py::arg("window") = py::none(), docs::verify);
}

}  // namespace sxpy
