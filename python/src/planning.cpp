// planning.cpp - check, advise, position_tables, dense_map, reuse, llamacpp, compare, compare_svg: one library call each,
// the result through the CLI's JSON builder (cli/json_*.hpp), so every dict has exactly the keys of
// the subcommand's JSON `result`.
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include <selfextend/advice.hpp>
#include <selfextend/compare.hpp>
#include <selfextend/llamacpp.hpp>
#include <selfextend/method_maps_plot.hpp>
#include <selfextend/position_tables.hpp>
#include <selfextend/reuse.hpp>
#include <selfextend/reuse_plot.hpp>
#include <selfextend/rope_file.hpp>
#include <selfextend/table_writers.hpp>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "choices.hpp"
#include "convert.hpp"
#include "json_llamacpp.hpp"
#include "json_output.hpp"
#include "json_reuse.hpp"
#include "json_rope.hpp"
#include "rope_options.hpp"
#include "json_tables.hpp"
#include "search_options.hpp"

namespace sxpy {

namespace {

/// The keyword of read_plan.
constexpr const char* plan_keywords[] = {"shift"};

/// G, W and the shift of a plan; `shift` is the keyword's value (None = int).
selfextend::plan read_plan(py::handle group, py::handle window, py::handle shift) {
  for (const auto& [key, value] : {std::pair{"group", group}, std::pair{"window", window}})
    if (value.is_none()) throw selfextend::invalid_params(key, "(none)", "is required for method selfextend");
  return {int64_arg("group", group), int64_arg("window", window),
          sxplan::shift_choice(optional_text("shift", shift).value_or("int"))};
}

py::object check(py::object tokens, py::object group, py::object window, py::kwargs kwargs) {
  keywords kw("check", std::move(kwargs), {model_keywords, plan_keywords, method_keywords});
  const model_choice choice = *take_model(kw, true);
  const selfextend::method_params method = read_method(kw, group, window, &choice.model);
  if (method.kind != selfextend::method_kind::self_extend) {
    const selfextend::comparison_request req = selfextend::comparison_for(choice.model, int64_arg("tokens", tokens));
    return to_python(sxplan::to_json(selfextend::assess_method(method, req)));
  }
  const selfextend::self_extend_params params{choice.model.context, int64_arg("tokens", tokens), method.self_extend};
  return to_python(sxplan::to_json(selfextend::assess(params)));
}

/// The inputs both runtimes' advisors share (search_options.hpp), from the arguments.
template <class Request>
void read_search_options(keywords& kw, const model_choice& choice, py::handle tokens, Request& req) {
  sxplan::search_options o;
  o.tokens = int64_arg("tokens", tokens);
  o.window = optional_int64("window", kw.take("window"));
  o.group = optional_int64("group", kw.take("group"));
  o.target = optional_text("target", kw.take("target"));
  o.max_group = optional_int64("max_group", kw.take("max_group"));
  sxplan::apply_search_options(o, choice.model.context, req);
  req.not_applicable = selfextend::self_extend_not_applicable(choice.model);
}

py::object advise(py::object tokens, py::kwargs kwargs) {
  constexpr const char* options[] = {"window", "group", "target", "max_group", "top", "shift", "runtime", "method"};
  keywords kw("advise", std::move(kwargs), {model_keywords, options});
  const model_choice choice = *take_model(kw, true);
  const std::string method_name = optional_text("method", kw.take("method")).value_or("selfextend");
  const selfextend::method_kind method = selfextend::method_kind_named(method_name);
  if (method != selfextend::method_kind::self_extend) {
    // These shape Self-Extend's search only; refused rather than ignored, as the CLI does.
    for (const char* key : options) {
      if (std::string_view(key) == "method") continue;
      if (const py::object value = kw.take(key); !value.is_none())
        throw selfextend::invalid_params(key, py::str(value).cast<std::string>(), "applies to method selfextend only");
    }
    const selfextend::comparison_request req = selfextend::comparison_for(choice.model, int64_arg("tokens", tokens));
    return to_python(sxplan::to_json(selfextend::recommend_method(method, req)));
  }
  const std::string runtime = sxplan::runtime_choice(optional_text("runtime", kw.take("runtime")).value_or("longlm"));
  const py::object top = kw.take("top");
  const py::object shift = kw.take("shift");
  if (runtime == "llamacpp") {
    // These shape LongLM's ranking only; refused rather than ignored, as the CLI does.
    for (const auto& [key, value] : {std::pair{"top", top}, std::pair{"shift", shift}})
      if (!value.is_none()) throw selfextend::invalid_params(key, py::str(value).cast<std::string>(), "applies to runtime longlm only");
    selfextend::llamacpp_advice_request req;
    read_search_options(kw, choice, tokens, req);
    const selfextend::llamacpp_advice result = selfextend::advise_llamacpp(req);
    return to_python(sxplan::to_json(result, sxplan::llamacpp_command_line(result, choice.gguf.value_or("MODEL.gguf"))));
  }
  selfextend::advice_request req;
  read_search_options(kw, choice, tokens, req);
  req.top = optional_int64("top", top).value_or(req.top);
  req.shift = sxplan::shift_choice(optional_text("shift", shift).value_or("int"));
  return to_python(sxplan::to_json(selfextend::advise(req)));
}

/// Another method's per-token arrays, two per branch, as position_tables returns them.
template <class T>
struct method_tables {
  std::vector<std::string> names;
  std::vector<std::vector<T>> arrays;
};

template <class T>
py::object method_position_tables(const selfextend::table_request& r) {
  auto tables = std::make_unique<method_tables<T>>();
  tables->names = selfextend::method_token_array_names(r.method.kind);
  {
    py::gil_scoped_release unlocked;
    for (std::size_t k = 0; k < tables->names.size(); ++k) {
      std::vector<T>& a = tables->arrays.emplace_back(static_cast<std::size_t>(r.tokens));
      selfextend::fill_branch_positions(r.method, static_cast<int>(k / 2),
                                        k % 2 ? selfextend::rotation_side::key : selfextend::rotation_side::query, 0,
                                        std::span<T>(a));
    }
  }
  return result_to_python(std::move(tables), [](const method_tables<T>& t, const sxplan::array_renderer& a) {
    boost::json::object o;
    for (std::size_t k = 0; k < t.names.size(); ++k) o[t.names[k]] = a.render(std::span<const T>(t.arrays[k]));
    return o;
  });
}

py::object position_tables(py::object tokens, py::object group, py::object window, py::kwargs kwargs) {
  keywords kw("position_tables", std::move(kwargs), {plan_keywords, method_keywords});
  selfextend::table_request r;
  r.method = read_method(kw, group, window);
  r.extension = r.method.self_extend;
  r.tokens = int64_arg("tokens", tokens);
  if (r.method.kind != selfextend::method_kind::self_extend) {
    if (std::vector<selfextend::issue> issues = selfextend::validate(r); !issues.empty())
      throw selfextend::invalid_params(std::move(issues));
    return selfextend::integer_positions(r.method) ? method_position_tables<std::int64_t>(r)
                                                   : method_position_tables<double>(r);
  }
  // Every rule at once, as `sxplan table` reports them.
  if (std::vector<selfextend::issue> issues = selfextend::validate(r); !issues.empty())
    throw selfextend::invalid_params(std::move(issues));
  auto tables = std::make_unique<selfextend::position_tables>();
  {
    py::gil_scoped_release unlocked;
    *tables = selfextend::build_position_tables(r.extension, r.tokens);
  }
  return result_to_python(std::move(tables), [](const selfextend::position_tables& t, const sxplan::array_renderer& a) {
    return sxplan::to_json(t, a);
  });
}

template <class T>
py::object dense_rows(const selfextend::table_request& r) {
  const std::vector<std::int64_t> shape = selfextend::dense_shape(r.tokens, r.phase);
  auto values = std::make_unique<std::vector<T>>();
  {
    py::gil_scoped_release unlocked;
    const auto n = static_cast<std::size_t>(r.tokens);
    values->resize(r.phase == selfextend::table_phase::prefill ? n * n : n);
    if (r.phase == selfextend::table_phase::prefill) {
      for (std::size_t q = 0; q < n; ++q)
        selfextend::fill_method_dense_row(r.method, static_cast<std::int64_t>(q), 0, std::span<T>(values->data() + q * n, n));
    } else {
      selfextend::fill_method_dense_row(r.method, r.tokens - 1, 0, std::span<T>(*values));
    }
  }
  const bool other = r.method.kind != selfextend::method_kind::self_extend;
  const double offset = other ? 0.0 : selfextend::fractional_offset(r.extension);
  return result_to_python(std::move(values), [&](const std::vector<T>& v, const sxplan::array_renderer& a) {
    boost::json::object o = sxplan::dense_to_json(offset, std::span<const T>(v), shape, a);
    if (other) o.erase("fractional_offset");  // Self-Extend's alone, as the table's JSON
    return o;
  });
}

py::object dense_map(py::object tokens, py::object group, py::object window, py::kwargs kwargs) {
  constexpr const char* options[] = {"phase", "force"};
  keywords kw("dense_map", std::move(kwargs), {plan_keywords, options, method_keywords});
  selfextend::table_request r;
  r.method = read_method(kw, group, window);
  r.extension = r.method.self_extend;
  r.tokens = int64_arg("tokens", tokens);
  if (const auto phase = optional_text("phase", kw.take("phase"))) r.phase = sxplan::phase_choice(*phase);
  r.layout = selfextend::table_layout::dense;
  if (const py::object force = kw.take("force"); !force.is_none()) r.force = bool_arg("force", force);
  // The same rules and size guard as `sxplan table --layout dense`.
  if (std::vector<selfextend::issue> issues = selfextend::validate(r); !issues.empty())
    throw selfextend::invalid_params(std::move(issues));
  return selfextend::integer_positions(r.method) ? dense_rows<std::int64_t>(r) : dense_rows<double>(r);
}

py::object reuse(py::object tokens, py::object group, py::object window, py::kwargs kwargs) {
  constexpr const char* options[] = {"force"};
  keywords kw("reuse", std::move(kwargs), {model_keywords, plan_keywords, method_keywords, options});
  const model_choice choice = *take_model(kw, true);
  const selfextend::method_params method = read_method(kw, group, window, &choice.model);
  const py::object force_arg = kw.take("force");
  const bool force = !force_arg.is_none() && bool_arg("force", force_arg);
  if (method.kind != selfextend::method_kind::self_extend) {
    const std::int64_t n = int64_arg("tokens", tokens);
    auto stats = std::make_unique<selfextend::method_reuse_stats>();
    {
      py::gil_scoped_release unlocked;
      *stats = selfextend::compute_method_reuse(method, choice.model.context, n, force);
    }
    return result_to_python(std::move(stats), [](const selfextend::method_reuse_stats& s, const sxplan::array_renderer& a) {
      return sxplan::to_json(s, a);
    });
  }
  const selfextend::self_extend_params params{choice.model.context, int64_arg("tokens", tokens), method.self_extend};
  auto stats = std::make_unique<selfextend::reuse_stats>();
  {
    py::gil_scoped_release unlocked;
    *stats = selfextend::compute_reuse(params, {.keep_counts = true, .force = force});
  }
  return result_to_python(std::move(stats), [](const selfextend::reuse_stats& s, const sxplan::array_renderer& a) {
    return sxplan::to_json(s, a);
  });
}

py::object llamacpp(py::object tokens, py::object ga_n, py::object ga_w, py::kwargs kwargs) {
  constexpr const char* options[] = {"mode", "generate", "batch", "rows"};
  keywords kw("llamacpp", std::move(kwargs), {model_keywords, options});
  selfextend::llamacpp_schedule s;
  if (const auto mode = optional_text("mode", kw.take("mode"))) s.mode = sxplan::mode_choice(*mode);
  const model_choice choice = *take_model(kw, true);
  s.context = choice.model.context;
  s.tokens = int64_arg("tokens", tokens);
  s.generate = optional_int64("generate", kw.take("generate")).value_or(0);
  s.batch = optional_int64("batch", kw.take("batch")).value_or(selfextend::llamacpp_default_batch);
  s.ga_n = int64_arg("ga_n", ga_n);
  if (s.mode == selfextend::llamacpp_mode::main) {
    if (ga_w.is_none()) throw selfextend::invalid_params("ga_w", "(none)", "is required");
    s.ga_w = int64_arg("ga_w", ga_w);
  } else if (!ga_w.is_none()) {
    throw selfextend::invalid_params("ga_w", py::str(ga_w).cast<std::string>(),
                                     "does not apply in passkey mode: llama-passkey groups by batch");
  }
  const py::object rows_arg = kw.take("rows");
  const std::vector<std::int64_t> rows = rows_arg.is_none() ? std::vector<std::int64_t>{} : int64_list("rows", rows_arg);
  auto report = std::make_unique<selfextend::llamacpp_report>();
  {
    py::gil_scoped_release unlocked;
    *report = selfextend::analyse_llamacpp(s, rows);
  }
  return result_to_python(std::move(report), [](const selfextend::llamacpp_report& r, const sxplan::array_renderer& a) {
    return sxplan::to_json(r, a);
  });
}

py::object compare(py::object tokens, py::kwargs kwargs) {
  keywords kw("compare", std::move(kwargs), {model_keywords});
  const model_choice choice = *take_model(kw, true);
  const selfextend::comparison_request req = selfextend::comparison_for(choice.model, int64_arg("tokens", tokens));
  return to_python(sxplan::to_json(selfextend::compare_methods(req)));
}

py::str compare_svg(py::object tokens, py::kwargs kwargs) {
  keywords kw("compare_svg", std::move(kwargs), {model_keywords});
  const model_choice choice = *take_model(kw, true);
  const selfextend::comparison_request req = selfextend::comparison_for(choice.model, int64_arg("tokens", tokens));
  std::string svg;
  {
    py::gil_scoped_release unlocked;
    svg = selfextend::method_maps_svg(selfextend::compare_methods(req), req);
  }
  return py::str(svg);
}

/// A write the library failed (disk full, a directory in the way) as OSError, as the CLI's exit 1.
template <class Write>
decltype(auto) writing(const std::string& path, Write&& write) {
  try {
    return std::forward<Write>(write)();
  } catch (const std::runtime_error& e) {
    PyErr_SetString(PyExc_OSError, (path + ": " + e.what()).c_str());
    throw py::error_already_set();
  }
}

py::object arrays_info(const std::vector<selfextend::table_array_info>& arrays) {
  py::list out;
  for (const selfextend::table_array_info& a : arrays) {
    py::dict d;
    d["name"] = a.name;
    d["dtype"] = a.dtype;
    d["shape"] = py::cast(a.shape);
    out.append(d);
  }
  return out;
}

py::object write_table(py::object path, py::object tokens, py::object group, py::object window, py::kwargs kwargs) {
  constexpr const char* options[] = {"phase", "layout", "format", "force"};
  keywords kw("write_table", std::move(kwargs), {plan_keywords, method_keywords, options});
  const std::string output = *optional_path("path", path);
  selfextend::table_request r;
  r.method = read_method(kw, group, window);
  r.extension = r.method.self_extend;
  r.tokens = int64_arg("tokens", tokens);
  if (const auto phase = optional_text("phase", kw.take("phase"))) r.phase = sxplan::phase_choice(*phase);
  if (const auto layout = optional_text("layout", kw.take("layout")))
    r.layout = sxplan::parse_choice("layout", *layout, selfextend::parse_table_layout, "tokens or dense");
  const std::string allowed = "json, csv, npy, safetensors or c-header";
  // As `sxplan table -o`: the format given, else the one the extension implies.
  if (const auto format = optional_text("format", kw.take("format"))) {
    r.format = sxplan::parse_choice("format", *format, selfextend::parse_table_format, allowed);
  } else if (const auto implied = selfextend::format_for_extension(output)) {
    r.format = *implied;
  } else {
    throw selfextend::invalid_params("format", "(none)", "cannot tell the format from '" + output + "': give format= " + allowed);
  }
  if (const py::object force = kw.take("force"); !force.is_none()) r.force = bool_arg("force", force);
  if (std::vector<selfextend::issue> issues = selfextend::validate(r); !issues.empty())
    throw selfextend::invalid_params(std::move(issues));
  // The GIL is back before writing() raises: the release ends inside the lambda.
  const selfextend::table_summary summary = writing(output, [&] {
    py::gil_scoped_release unlocked;
    return selfextend::write_position_table(output, r);
  });
  py::dict out;
  out["output"] = output;
  out["bytes"] = summary.bytes;
  out["arrays"] = arrays_info(summary.arrays);
  return out;
}

py::str reuse_svg(py::object tokens, py::object group, py::object window, py::kwargs kwargs) {
  constexpr const char* options[] = {"buckets", "path"};
  keywords kw("reuse_svg", std::move(kwargs), {model_keywords, plan_keywords, options});
  std::vector<std::pair<std::string, std::string>> inputs;
  for (const char* key : {"config", "gguf"})
    if (const auto p = optional_path(key, kw.take(key))) inputs.emplace_back(key, *p);
  const model_choice choice = *take_model(kw, true);
  const selfextend::self_extend_params params{choice.model.context, int64_arg("tokens", tokens),
                                              read_plan(group, window, kw.take("shift"))};
  selfextend::reuse_plot_options plot;
  if (const auto buckets = optional_int64("buckets", kw.take("buckets"))) {
    if (*buckets < 1 || *buckets > selfextend::max_reuse_buckets)
      throw selfextend::invalid_params("buckets", std::to_string(*buckets),
                                       "must be in 1.." + std::to_string(selfextend::max_reuse_buckets));
    plot.buckets = *buckets;
  }
  const std::optional<std::string> output = optional_path("path", kw.take("path"));
  if (output) sxplan::require_distinct_output("path", *output, inputs);
  // The summary alone: the chart is recounted per bar, in O(bars) memory whatever N is (as the CLI).
  const selfextend::reuse_stats stats = selfextend::compute_reuse(params, {.keep_counts = false});
  const std::string svg = selfextend::reuse_svg(stats, plot);
  if (output)
    writing(*output, [&] {
      py::gil_scoped_release unlocked;  // released inside, so writing() raises holding the GIL
      selfextend::write_reuse_svg(*output, stats, plot);
    });
  return py::str(svg);
}

py::object model(py::kwargs kwargs) {
  keywords kw("model", std::move(kwargs), {model_keywords});
  const model_choice choice = *take_model(kw, true, true, false);  // shows any model, RoPE or not
  return to_python(sxplan::model_result(choice.model));
}

/// A rope() call's rule, layout and sequence length, from its keywords (shared by rope and write_rope).
struct rope_call {
  selfextend::rope_rule rule;
  selfextend::rope_style style = selfextend::rope_style::neox;
  std::int64_t tokens = 0;
  std::vector<std::pair<std::string, std::string>> inputs;  ///< {keyword, path} of the files read
};

constexpr const char* rope_model_keys[] = {"model", "config", "gguf"};
// The rule's keywords, config.json's keys (as `sxplan rope`'s --rope-scaling TYPE and its options).
constexpr const char* rope_rule_keys[] = {"rope_theta", "rotary_dims", "rope_style", "max_position_embeddings",
                                          "rope_scaling", "factor", "original_max_position_embeddings",
                                          "attention_factor", "beta_fast", "beta_slow", "mscale", "mscale_all_dim",
                                          "truncate", "low_freq_factor", "high_freq_factor", "short_factor",
                                          "long_factor", "rope_freqs"};
constexpr const char* rope_other_keys[] = {"tokens", "layer_type"};

rope_call read_rope_call(keywords& kw) {
  rope_call call;
  for (const char* key : {"config", "gguf"})
    if (const auto path = optional_path(key, kw.take(key))) call.inputs.emplace_back(key, *path);
  std::vector<std::pair<std::string, py::object>> given;
  for (const char* key : rope_rule_keys)
    if (py::object value = kw.take(key); !value.is_none()) given.emplace_back(key, std::move(value));
  call.tokens = optional_int64("tokens", kw.take("tokens")).value_or(0);
  // As `sxplan rope`: a model states its rule; otherwise the keywords do.
  const std::optional<std::string> layer_type = optional_text("layer_type", kw.take("layer_type"));
  const std::optional<model_choice> choice = take_model(kw, false, false);
  if (layer_type && !choice)
    throw selfextend::invalid_params("layer_type", *layer_type, "needs model, config or gguf: it picks the RoPE of one kind of the model's layers");
  if (choice) {
    if (!given.empty())
      throw selfextend::invalid_params(given.front().first, py::str(given.front().second).cast<std::string>(),
                                       "conflicts with " + choice->key + ": the model states its RoPE");
    const sxplan::rope_choice of_model = sxplan::rope_of_model(choice->model, layer_type);
    call.rule = of_model.rule;
    call.style = of_model.style;
  } else {
    sxplan::rope_rule_options o;
    o.option_name = [](const std::string& key) { return key; };
    for (const auto& [key, value] : given) {
      o.shown[key] = py::str(value).cast<std::string>();
      const py::handle v = value;
      if (key == "rope_theta") o.theta = real_arg(key, v);
      else if (key == "rotary_dims") o.rotary_dims = int64_arg(key, v);
      else if (key == "rope_style") o.style = sxplan::rope_style_choice(*optional_text(key, v));
      else if (key == "max_position_embeddings") o.max_position_embeddings = int64_arg(key, v);
      else if (key == "rope_scaling") o.scaling = optional_text(key, v);
      else if (key == "factor") o.factor = real_arg(key, v);
      else if (key == "original_max_position_embeddings") o.original_max_position_embeddings = int64_arg(key, v);
      else if (key == "attention_factor") o.attention_factor = real_arg(key, v);
      else if (key == "beta_fast") o.beta_fast = real_arg(key, v);
      else if (key == "beta_slow") o.beta_slow = real_arg(key, v);
      else if (key == "mscale") o.mscale = real_arg(key, v);
      else if (key == "mscale_all_dim") o.mscale_all_dim = real_arg(key, v);
      else if (key == "truncate") o.truncate = bool_arg(key, v);
      else if (key == "low_freq_factor") o.low_freq_factor = real_arg(key, v);
      else if (key == "high_freq_factor") o.high_freq_factor = real_arg(key, v);
      else if (key == "short_factor") o.short_factor = real_list(key, v);
      else if (key == "long_factor") o.long_factor = real_list(key, v);
      else if (key == "rope_freqs") o.rope_freqs = real_list(key, v);
    }
    const sxplan::rope_choice given_rule = sxplan::rope_rule_from(o);
    call.rule = given_rule.rule;
    call.style = given_rule.style;
  }
  return call;
}

py::object rope(py::kwargs kwargs) {
  keywords kw("rope", std::move(kwargs), {rope_model_keys, rope_rule_keys, rope_other_keys});
  const rope_call call = read_rope_call(kw);
  auto f = std::make_unique<selfextend::rope_frequencies>(selfextend::evaluate_rope(call.rule, call.tokens));
  return result_to_python(std::move(f), [](const selfextend::rope_frequencies& r, const sxplan::array_renderer& a) {
    return sxplan::to_json(r, nullptr, a);
  });
}

py::object write_rope(py::object path, py::kwargs kwargs) {
  constexpr const char* options[] = {"positions_for", "shift", "force"};
  keywords kw("write_rope", std::move(kwargs), {rope_model_keys, rope_rule_keys, rope_other_keys, options});
  const std::string output = *optional_path("path", path);
  rope_call call = read_rope_call(kw);
  sxplan::require_distinct_output("path", output, call.inputs);
  selfextend::rope_file_request request;
  request.rule = call.rule;
  request.style = call.style;
  const py::object positions_for = kw.take("positions_for");
  const py::object shift = kw.take("shift");
  if (!positions_for.is_none()) {
    // (G, W, N), as --positions-for G,W,N.
    const std::vector<std::int64_t> gwn = int64_list("positions_for", positions_for);
    if (gwn.size() != 3)
      throw selfextend::invalid_params("positions_for", py::str(positions_for).cast<std::string>(), "must be (G, W, N)");
    request.positions_plan = selfextend::plan{gwn[0], gwn[1], sxplan::shift_choice(optional_text("shift", shift).value_or("int"))};
    request.positions_tokens = gwn[2];
    if (call.tokens == 0) call.tokens = gwn[2];
  } else if (!shift.is_none()) {
    throw selfextend::invalid_params("shift", py::str(shift).cast<std::string>(), "needs positions_for");
  }
  request.tokens = call.tokens;
  if (const py::object force = kw.take("force"); !force.is_none()) request.force = bool_arg("force", force);
  const selfextend::rope_frequencies f = selfextend::evaluate_rope(call.rule, call.tokens);
  const std::vector<selfextend::table_array_info> arrays = writing(output, [&] {
    py::gil_scoped_release unlocked;
    return selfextend::write_rope_file(output, f, request);
  });
  py::dict out;
  out["path"] = output;
  out["arrays"] = arrays_info(arrays);
  return out;
}

}  // namespace

void bind_planning(py::module_& m) {
  m.def("check", &check, py::arg("tokens"), py::arg("group") = py::none(), py::arg("window") = py::none(), docs::check);
  m.def("advise", &advise, py::arg("tokens"), docs::advise);
  m.def("position_tables", &position_tables, py::arg("tokens"), py::arg("group") = py::none(),
        py::arg("window") = py::none(), docs::position_tables);
  m.def("dense_map", &dense_map, py::arg("tokens"), py::arg("group") = py::none(), py::arg("window") = py::none(),
        docs::dense_map);
  m.def("reuse", &reuse, py::arg("tokens"), py::arg("group") = py::none(), py::arg("window") = py::none(), docs::reuse);
  m.def("compare", &compare, py::arg("tokens"), docs::compare);
  m.def("compare_svg", &compare_svg, py::arg("tokens"), docs::compare_svg);
  m.def("write_table", &write_table, py::arg("path"), py::arg("tokens"), py::arg("group") = py::none(),
        py::arg("window") = py::none(), docs::write_table);
  m.def("reuse_svg", &reuse_svg, py::arg("tokens"), py::arg("group"), py::arg("window"), docs::reuse_svg);
  m.def("write_rope", &write_rope, py::arg("path"), docs::write_rope);
  m.def("model", &model, docs::model);
  m.def("rope", &rope, docs::rope);
  m.def("llamacpp", &llamacpp, py::arg("tokens"), py::arg("ga_n"), py::arg("ga_w") = py::none(), docs::llamacpp);
}

}  // namespace sxpy
