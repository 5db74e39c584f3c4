// attention_inputs.cpp - shared option parsing and input reading of `sxplan attend` / `sxplan verify`.
#include "attention_inputs.hpp"
#include "json_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include <boost/json.hpp>

#include <selfextend/error.hpp>

#include "choices.hpp"

namespace sxplan {

namespace json = boost::json;
using selfextend::invalid_params;

void add_attention_options(po::options_description& options) {
  options.add_options()
    ("q", po::value<std::string>()->value_name("Q.npy"), "queries, <f4 or <f8, [H, Nq, D] or [Nq, D]")
    ("k", po::value<std::string>()->value_name("K.npy"), "keys, [Hkv, Nk, D] or [Nk, D]; H a multiple of Hkv")
    ("v", po::value<std::string>()->value_name("V.npy"), "values, the shape of k")
    ("group", po::value<std::string>()->value_name("G"), "group size G >= 1")
    ("window", po::value<std::string>()->value_name("W"), "neighbor window W >= 1 (rerope, leaky-rerope: their window w)");
  add_method_options(options, "; other than selfextend: the tiled and reference kernels");
  options.add_options()
    ("rope-theta", po::value<std::string>()->value_name("T"), "RoPE base (default 10000)")
    ("rope-style", po::value<std::string>()->value_name("neox|gptj"), "RoPE pair layout (default neox, HF rotate_half)")
    ("rotary-dims", po::value<std::string>()->value_name("R"), "rotate only the first R dims (even; default D)")
    ("model", po::value<std::string>()->value_name("NAME"),
     "rotate as this preset does: theta, layout, rotary dims, frequency rule and attention factor")
    ("config", po::value<std::string>()->value_name("PATH"), "rotate as a Hugging Face config.json states")
    ("gguf", po::value<std::string>()->value_name("PATH"), "rotate as a GGUF file states (header and tensors)")
    ("layer-type", po::value<std::string>()->value_name("full|sliding|chunked"),
     "with a model: rotate as its layers of this kind do (default: the layers Self-Extend acts on)")
    ("inv-freq", po::value<std::string>()->value_name("FILE.npy"),
     "the inverse frequencies, 1-D <f4/<f8 of R/2 values > 0 (instead of theta)")
    ("attention-factor", po::value<std::string>()->value_name("A"),
     "multiply cos and sin by A > 0, as transformers' attention_scaling (default 1)")
    ("scale-base", po::value<std::string>()->value_name("S"),
     "log scaling: query at position i times max(1, ln(i+1)/ln S); S > 1 (default off)");
  add_shift_option(options);
  options.add_options()
    ("threads", po::value<std::string>()->value_name("N"), "worker threads (default 0 = all cores)")
    ("force", "run even when the kernel needs more than 8 GiB of working memory");
}

std::string unsupported_dtype_rule(const std::string& dtype) {
  return "dtype " + dtype + " is not supported here (attention tensors are <f4 or <f8)";
}

selfextend::npy_file_header read_float_npy_header(const po::variables_map& vm, const std::string& key) {
  if (!vm.count(key)) throw invalid_params(key, "(none)", "is required");
  const std::string path = vm[key].as<std::string>();
  selfextend::npy_file_header header = selfextend::read_npy_header(path, key);
  if (header.dtype != selfextend::npy_dtype::f4 && header.dtype != selfextend::npy_dtype::f8)
    throw invalid_params(key, path, unsupported_dtype_rule(std::string(selfextend::to_string(header.dtype))));
  return header;
}

void require_valid_before_shape(const selfextend::attention_params& p, const std::optional<rope_choice>& model_rope) {
  // rotary_dims needs head_dim: it is checked once the shape is known.
  selfextend::attention_params early = p;
  early.shape = {1, 1, 1, 1, 2};
  early.rope.rotary_dims = 0;
  // The frequencies' values are checked here; their count needs head_dim (checked below).
  if (!early.rope.inv_freq.empty()) early.shape.head_dim = 2 * static_cast<std::int64_t>(early.rope.inv_freq.size());
  if (model_rope) {  // the model's rule, checked before any tensor is read
    if (std::vector<selfextend::issue> issues = selfextend::validate(model_rope->rule); !issues.empty())
      throw invalid_params(std::move(issues));
  }
  if (std::vector<selfextend::issue> issues = selfextend::validate(early); !issues.empty())
    throw invalid_params(std::move(issues));
}

void complete_attention_params(selfextend::attention_params& p, const std::optional<rope_choice>& model_rope,
                               const std::string& q_source) {
  if (model_rope) {
    if (model_rope->head_dim.value_or(0) > 0 && *model_rope->head_dim != p.shape.head_dim)
      throw invalid_params("q", q_source,
                           "head_dim " + std::to_string(p.shape.head_dim) + " differs from the model's head_dim " +
                               std::to_string(*model_rope->head_dim));
    // The length-dependent rules (dynamic, longrope) are evaluated for the number of keys.
    p.rope = selfextend::rope_params_for(model_rope->rule, p.shape.key_tokens, model_rope->style, p.rope.scale_base);
  }
  selfextend::require_valid(p);  // rotary_dims and inv_freq against head_dim
}

attention_inputs read_attention_headers(const po::variables_map& vm, selfextend::attention_kernel kernel,
                                        bool check_memory) {
  attention_inputs in;
  in.kernel = kernel;
  selfextend::attention_params& p = in.params;
  // Parameters first: a bad flag is reported before any large file is read.
  in.method = method_options(vm);
  if (in.method.kind == selfextend::method_kind::self_extend) {
    p.extension = {required_int64(vm, "group"), required_int64(vm, "window"), shift_option(vm)};
    in.method.self_extend = p.extension;
  }
  require_model_for_layer_type(vm);
  if (names_model(vm)) in.model_rope = resolve_model_rope(vm);  // refuses --rope-theta & co. next to it
  if (vm.count("inv-freq") && vm.count("rope-theta"))
    throw invalid_params("rope_theta", vm["rope-theta"].as<std::string>(),
                         "conflicts with --inv-freq: the frequencies are given");
  if (vm.count("rope-theta")) p.rope.theta = parse_double("rope_theta", vm["rope-theta"].as<std::string>());
  if (vm.count("attention-factor"))
    p.rope.attention_factor = parse_double("attention_factor", vm["attention-factor"].as<std::string>());
  if (vm.count("inv-freq")) {
    in.inv_freq_path = vm["inv-freq"].as<std::string>();
    p.rope.inv_freq = read_inv_freq(vm);
    if (p.rope.inv_freq.empty()) throw invalid_params("inv_freq", in.inv_freq_path, "holds no values");
  }
  if (in.model_rope) {
    p.rope.style = in.model_rope->style;
    p.rope.theta = in.model_rope->rule.theta;
    p.rope.rotary_dims = in.model_rope->rule.rotary_dims;
  }
  if (vm.count("rope-style")) p.rope.style = rope_style_choice(vm["rope-style"].as<std::string>());
  if (vm.count("rotary-dims")) {
    p.rope.rotary_dims = parse_int64("rotary_dims", vm["rotary-dims"].as<std::string>());
    // The library reads 0 as "all of head_dim"; typed by a person it is a mistake, not that default.
    if (p.rope.rotary_dims == 0)
      throw invalid_params("rotary_dims", "0", "must be even, 2 <= R <= head_dim (omit it to rotate all head_dim dims)");
  }
  if (vm.count("scale-base")) p.rope.scale_base = parse_double("scale_base", vm["scale-base"].as<std::string>());
  if (const auto threads = optional_int64(vm, "threads")) p.threads = *threads;
  p.force = vm.count("force") > 0;
  require_valid_before_shape(p, in.model_rope);

  // Headers only: shapes, the rules that need them and the memory guard come before any data.
  in.q_header = read_float_npy_header(vm, "q");
  in.k_header = read_float_npy_header(vm, "k");
  in.v_header = read_float_npy_header(vm, "v");
  in.q_path = vm["q"].as<std::string>();
  in.k_path = vm["k"].as<std::string>();
  in.v_path = vm["v"].as<std::string>();
  in.q_dtype = in.q_header.dtype;
  p.shape = selfextend::make_attention_shape(in.q_header.shape, in.k_header.shape, in.v_header.shape);
  complete_attention_params(p, in.model_rope, in.q_path);
  if (check_memory) selfextend::require_working_memory(p, in.method, kernel);
  return in;
}

void read_attention_data(attention_inputs& in) {
  const selfextend::attention_shape& s = in.params.shape;
  // Each file is converted while it is read: memory is one copy of the inputs in the kernel's type.
  if (in.kernel == selfextend::attention_kernel::tiled) {
    in.q = selfextend::read_npy_floats(in.q_path, "q", in.q_header);
    selfextend::require_finite("q", in.q, s.query_tokens, s.head_dim);
    in.k = selfextend::read_npy_floats(in.k_path, "k", in.k_header);
    selfextend::require_finite("k", in.k, s.key_tokens, s.head_dim);
    in.v = selfextend::read_npy_floats(in.v_path, "v", in.v_header);
    selfextend::require_finite("v", in.v, s.key_tokens, s.head_dim);
  } else {
    in.qd = selfextend::read_npy_doubles(in.q_path, "q", in.q_header);
    selfextend::require_finite("q", in.qd, s.query_tokens, s.head_dim);
    in.kd = selfextend::read_npy_doubles(in.k_path, "k", in.k_header);
    selfextend::require_finite("k", in.kd, s.key_tokens, s.head_dim);
    in.vd = selfextend::read_npy_doubles(in.v_path, "v", in.v_header);
    selfextend::require_finite("v", in.vd, s.key_tokens, s.head_dim);
  }
}

json::object echo_attention(const attention_inputs& in) {
  const selfextend::attention_params& p = in.params;
  json::object o;
  o["q"] = in.q_path;
  o["k"] = in.k_path;
  o["v"] = in.v_path;
  o["method"] = std::string(selfextend::to_string(in.method.kind));
  if (in.method.kind == selfextend::method_kind::self_extend) {
    o["group"] = p.extension.group;
    o["window"] = p.extension.window;
    o["shift"] = std::string(selfextend::to_string(p.extension.shift));
  } else {
    o["method_parameters"] = to_json(in.method);
  }
  o["rope_theta"] = p.rope.theta;
  o["rope_style"] = std::string(selfextend::to_string(p.rope.style));
  o["rotary_dims"] = p.rope.rotary_dims == 0 ? p.shape.head_dim : p.rope.rotary_dims;
  o["scale_base"] = p.rope.scale_base > 0 ? json::value(p.rope.scale_base) : json::value(nullptr);
  echo_model_source(o, in.model_rope && in.model_rope->model ? &*in.model_rope->model : nullptr);
  o["rope_scaling"] = in.model_rope ? echo_rope_scaling(in.model_rope->rule.scaling) : json::value(nullptr);
  o["inv_freq"] = in.inv_freq_path.empty() ? json::value(nullptr) : json::value(in.inv_freq_path);
  o["attention_factor"] = p.rope.attention_factor;
  o["heads"] = p.shape.heads;
  o["kv_heads"] = p.shape.kv_heads;
  o["query_tokens"] = p.shape.query_tokens;
  o["key_tokens"] = p.shape.key_tokens;
  o["head_dim"] = p.shape.head_dim;
  o["threads"] = p.threads;
  o["force"] = p.force;
  return o;
}

namespace {

/// " (decode)" for one query over a longer cache, " (chunked prefill)" for a shorter chunk, else "".
std::string query_kind(const selfextend::attention_shape& s) {
  if (s.query_tokens == s.key_tokens) return "";
  return s.query_tokens == 1 ? " (decode)" : " (chunked prefill)";
}

}  // namespace

std::vector<std::string> model_warnings(const attention_inputs& in) {
  return rope_model_warnings(in.model_rope ? in.model_rope->model : std::nullopt);
}

std::string describe_attention(const attention_inputs& in) {
  const selfextend::attention_params& p = in.params;
  const selfextend::attention_shape& s = p.shape;
  std::string text = "H = " + std::to_string(s.heads) + ", Hkv = " + std::to_string(s.kv_heads) +
                     ", Nq = " + std::to_string(s.query_tokens) + ", Nk = " + std::to_string(s.key_tokens) +
                     ", D = " + std::to_string(s.head_dim) + query_kind(s) + "; " + describe_method(in.method) + "; RoPE " +
                     std::string(selfextend::to_string(p.rope.style)) + ", theta " + fixed(p.rope.theta, 0) +
                     ", rotary dims " + std::to_string(p.rope.rotary_dims == 0 ? s.head_dim : p.rope.rotary_dims);
  if (in.model_rope && in.model_rope->rule.scaling)
    text += ", " + describe_rope_scaling(in.model_rope->rule.scaling) + " at " + grouped(s.key_tokens) + " keys";
  if (!in.inv_freq_path.empty()) text += ", inv_freq from " + in.inv_freq_path;
  if (p.rope.attention_factor != 1) text += ", attention factor " + fixed(p.rope.attention_factor, 6);
  if (p.rope.scale_base > 0) text += ", log scale base " + fixed(p.rope.scale_base, 1);
  return text;
}

namespace {

/// "1h02m", "3m07s", "42s": a duration for people.
std::string duration_text(double seconds) {
  const auto total = static_cast<std::int64_t>(seconds + 0.5);
  const std::int64_t h = total / 3600, m = total / 60 % 60, sec = total % 60;
  auto two = [](std::int64_t x) { return (x < 10 ? "0" : "") + std::to_string(x); };
  if (h > 0) return std::to_string(h) + "h" + two(m) + "m";
  if (m > 0) return std::to_string(m) + "m" + two(sec) + "s";
  return std::to_string(sec) + "s";
}

}  // namespace

selfextend::progress_callback terminal_progress(const invocation& inv) {
  if (!isatty(STDERR_FILENO)) return {};
  // Percent steps only: the callback may fire hundreds of times. The remaining time assumes the
  // rest goes at the average rate so far.
  struct state {
    int last = -1;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  };
  auto shared = std::make_shared<state>();
  std::ostream* err = &inv.err;
  const std::string name = inv.command;
  return [shared, err, name](double fraction) {
    const int percent = static_cast<int>(fraction * 100);
    if (percent == shared->last) return;
    shared->last = percent;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - shared->start).count();
    std::string eta;
    if (fraction > 0.005 && percent < 100) eta = ", about " + duration_text(elapsed * (1 - fraction) / fraction) + " left";
    *err << "\rsxplan " << name << ": " << percent << "%" << eta << "\033[K" << (percent >= 100 ? "\r\033[K" : "")
         << std::flush;
  };
}

std::string scientific(double value) {
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::scientific, 2);
  return std::string(buffer.data(), result.ptr);
}

}  // namespace sxplan
