// cli_common.cpp - shared parsing and rendering helpers of sxplan.
#include "cli_common.hpp"
#include "json_output.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <ostream>
#include <system_error>

#include <boost/json.hpp>

#include <selfextend/error.hpp>
#include <selfextend/gguf.hpp>
#include <selfextend/hf_config.hpp>

#include "choices.hpp"

namespace sxplan {

namespace json = boost::json;
using selfextend::invalid_params;

namespace {
bool looks_negative_number(const std::string& s) {
  return s.size() >= 2 && s[0] == '-' && (std::isdigit(static_cast<unsigned char>(s[1])) || s[1] == '.');
}
}  // namespace

po::variables_map parse(const invocation& inv, const po::options_description& options) {
  // Every option is given at most once with at most one value, so a longer list cannot be valid;
  // refusing it first keeps parsing linear (Boost's parser erases tokens from the front of its
  // list: 100,000 arguments took 37 s).
  const std::size_t most = 2 * options.options().size();
  if (inv.args.size() > most)
    throw po::error(std::to_string(inv.args.size()) + " arguments are more than its " +
                    std::to_string(options.options().size()) + " options can take (each at most once, with one value)");
  // Boost reads "-5" after "--group" as an option; glue it on as "--group=-5".
  std::vector<std::string> args;
  args.reserve(inv.args.size());
  for (std::size_t i = 0; i < inv.args.size(); ++i) {
    const std::string& a = inv.args[i];
    if (a.rfind("--", 0) == 0 && a.find('=') == std::string::npos && i + 1 < inv.args.size() &&
        looks_negative_number(inv.args[i + 1])) {
      args.push_back(a + "=" + inv.args[i + 1]);
      ++i;
    } else {
      args.push_back(a);
    }
  }
  // Boost.Program_options formats its errors by substituting placeholders such as
  // %canonical_option% into a template that includes the offending option text; an option
  // containing '%' can make that substitution loop forever (found by fuzz_cli_args). No option
  // name contains '%', so such a token is rejected here, before Boost sees it — checked on the
  // tokens Boost will see, after the joins above ("--t" "-1%x" becomes "--t=-1%x").
  for (const std::string& a : args)
    if (a.size() > 1 && a[0] == '-' && a.find('%') != std::string::npos)
      throw selfextend::invalid_params("option", a, "is not an option of sxplan " + inv.command + " (see --help)");
  po::variables_map vm;
  const auto style = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;
  // No command takes positional arguments; a stray word (say, an output name without -o) is an
  // error rather than something silently dropped.
  const po::parsed_options parsed =
      po::command_line_parser(args).options(options).style(style).allow_unregistered().run();
  for (const po::basic_option<char>& o : parsed.options) {
    if (o.position_key >= 0)
      throw po::error("unexpected argument '" + o.value.front() + "': options start with --");
    if (o.unregistered) throw po::unknown_option(o.original_tokens.empty() ? o.string_key : o.original_tokens.front());
  }
  po::store(parsed, vm);
  po::notify(vm);
  return vm;
}

void print_help(const invocation& inv, const std::string& synopsis, const std::string& summary,
                const po::options_description& options) {
  inv.out << "Usage: sxplan " << inv.command << " " << synopsis << "\n\n" << summary << "\n\n" << options << "\n";
}

std::int64_t parse_int64(const std::string& flag, const std::string& text) {
  return selfextend::parse_integer(flag, text);
}

double parse_double(const std::string& flag, const std::string& text) {
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || first == last || !std::isfinite(value))
    throw invalid_params(flag, text, "must be a finite number");
  return value;
}

std::optional<std::int64_t> optional_int64(const po::variables_map& vm, const std::string& flag) {
  if (!vm.count(flag)) return std::nullopt;
  return parse_int64(flag, vm[flag].as<std::string>());
}

std::int64_t required_int64(const po::variables_map& vm, const std::string& flag) {
  if (!vm.count(flag)) throw invalid_params(flag, "(none)", "is required");
  return parse_int64(flag, vm[flag].as<std::string>());
}

selfextend::shift_rule shift_option(const po::variables_map& vm) {
  return shift_choice(vm.count("shift") ? vm["shift"].as<std::string>() : "int");
}

void add_model_options(po::options_description& options) {
  options.add_options()
    ("context", po::value<std::string>()->value_name("L"),
     "pretrained context L in tokens; with --model, --config or --gguf it replaces the L they give")
    ("model", po::value<std::string>()->value_name("NAME"), "built-in model preset or its Hugging Face id (see `sxplan models`)")
    ("config", po::value<std::string>()->value_name("PATH"), "Hugging Face config.json, or a model folder holding one")
    ("gguf", po::value<std::string>()->value_name("PATH"), "GGUF model file (header, tensor table and RoPE tensors only)");
}

void add_shift_option(po::options_description& options) {
  options.add_options()
    ("shift", po::value<std::string>()->value_name("int|float"),
     "group query shift: int = W - floor(W/G) (default), float = W - W/G (LongLM Llama.py prefill)");
}

void add_method_options(po::options_description& options, const std::string& method_note) {
  options.add_options()
    ("method", po::value<std::string>()->value_name("M"),
     ("selfextend (default), dca, rerope, leaky-rerope or streaming (docs/methods.md); rerope and leaky-rerope "
      "take --window w" + method_note).c_str())
    ("chunk-size", po::value<std::string>()->value_name("C"), "dca: chunk_size")
    ("local-window", po::value<std::string>()->value_name("W"), "dca: local_window (vLLM's local_size)")
    ("leak", po::value<std::string>()->value_name("K"), "leaky-rerope: k > 1, far positions advance 1/k per token (default 16)")
    ("start-size", po::value<std::string>()->value_name("S"), "streaming: attention sinks kept (default 4)")
    ("recent-size", po::value<std::string>()->value_name("R"), "streaming: recent keys kept (default 2000)");
}

selfextend::method_params method_options(const po::variables_map& vm, const selfextend::model_info* model) {
  selfextend::method_params m;
  const std::string name = vm.count("method") ? vm["method"].as<std::string>() : "selfextend";
  m.kind = selfextend::method_kind_named(name);
  // Each method's flags; any other method's flag is refused rather than ignored.
  for (const std::string_view key : selfextend::method_parameter_keys) {
    std::string flag(key);
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (vm.count(flag) && !selfextend::method_takes(m.kind, key))
      throw invalid_params(flag, vm[flag].as<std::string>(), "does not apply to --method " + name);
  }
  using selfextend::method_kind;
  switch (m.kind) {
    case method_kind::self_extend: break;  // G, W and the shift are the command's to read
    case method_kind::dca:
      if (model && model->dual_chunk && !vm.count("chunk-size") && !vm.count("local-window")) {
        m.chunk_size = model->dual_chunk->chunk_size;  // the model's own (Qwen2.5-1M)
        m.local_window = model->dual_chunk->local_size;
      } else {
        m.chunk_size = required_int64(vm, "chunk-size");
        m.local_window = required_int64(vm, "local-window");
      }
      break;
    case method_kind::rerope: m.window = required_int64(vm, "window"); break;
    case method_kind::leaky_rerope:
      m.window = required_int64(vm, "window");
      if (vm.count("leak")) m.leak = parse_double("leak", vm["leak"].as<std::string>());
      break;
    case method_kind::streaming:
      if (const auto start = optional_int64(vm, "start-size")) m.start_size = *start;
      if (const auto recent = optional_int64(vm, "recent-size")) m.recent_size = *recent;
      break;
  }
  selfextend::require_valid_method(m);
  return m;
}

std::string describe_method(const selfextend::method_params& m) {
  using selfextend::method_kind;
  switch (m.kind) {
    case method_kind::self_extend:
      return "G = " + std::to_string(m.self_extend.group) + ", W = " + std::to_string(m.self_extend.window) + ", " +
             std::string(selfextend::to_string(m.self_extend.shift)) + " shift";
    case method_kind::dca:
      return "DCA chunk_size " + std::to_string(m.chunk_size) + ", local_window " + std::to_string(m.local_window);
    case method_kind::rerope: return "ReRoPE w = " + std::to_string(m.window);
    case method_kind::leaky_rerope: return "Leaky ReRoPE w = " + std::to_string(m.window) + ", k = " + significant(m.leak);
    case method_kind::streaming:
      return "StreamingLLM start_size " + std::to_string(m.start_size) + ", recent_size " + std::to_string(m.recent_size);
  }
  return "";
}

namespace {

/// The library asks for the context by its key; here it is a flag.
[[noreturn]] void rethrow_with_flags(const invalid_params& e) {
  std::vector<selfextend::issue> issues = e.issues();
  for (selfextend::issue& i : issues) {
    const std::string ask = "give the context L";
    if (i.rule.size() >= ask.size() && i.rule.compare(i.rule.size() - ask.size(), ask.size(), ask) == 0)
      i.rule.replace(i.rule.size() - ask.size(), ask.size(), "give --context L");
    const std::string plan = "give context ";
    if (const std::size_t at = i.rule.find(plan); at != std::string::npos) i.rule.replace(at, plan.size(), "give --context ");
  }
  throw invalid_params(std::move(issues));
}

}  // namespace

model_choice resolve_model(const po::variables_map& vm, bool planning) {
  std::vector<std::string> given;
  for (const char* flag : {"model", "config", "gguf"})
    if (vm.count(flag)) given.push_back(flag);
  if (given.empty() && !vm.count("context"))
    throw invalid_params("context", "(none)", "a model is required: give --context, --model, --config or --gguf");
  if (given.size() > 1)
    throw invalid_params(given[1], vm[given[1]].as<std::string>(),
                         "conflicts with --" + given[0] + ": give only one of --model, --config, --gguf");
  model_choice choice;
  selfextend::fact_overrides overrides;
  if (vm.count("context")) overrides.context = parse_int64("context", vm["context"].as<std::string>());
  try {
    if (given.empty()) {
      choice.model.context = *overrides.context;
      choice.model.name = "context";
      choice.model.source = "--context";
      choice.model.context_source = "given";
      // L >= 2 is checked by the library's validation with every other rule, so all are reported together.
    } else if (vm.count("model")) {
      choice.preset = vm["model"].as<std::string>();
      choice.model = selfextend::find_model(*choice.preset, overrides);
    } else if (vm.count("config")) {
      choice.config = vm["config"].as<std::string>();
      choice.model = selfextend::read_hf_config(*choice.config, overrides);
    } else {
      choice.gguf = vm["gguf"].as<std::string>();
      choice.model = selfextend::read_gguf(*choice.gguf, overrides);
    }
    if (planning && !given.empty()) selfextend::require_rope(choice.model, given[0], vm[given[0]].as<std::string>());
  } catch (const invalid_params& e) {
    rethrow_with_flags(e);
  }
  // The library names the key (context); here it is the flag.
  for (std::string& w : choice.model.warnings)
    for (const auto& [key, flag] : {std::pair<std::string, std::string>{"give context ", "give --context "},
                                    {"window as context to", "window as --context to"}})
      if (const std::size_t at = w.find(key); at != std::string::npos) w.replace(at, key.size(), flag);
  return choice;
}

void echo_model(json::object& params, const model_choice& choice) {
  params["context"] = choice.model.context;
  echo_model_source(params, &choice);
}

void echo_model_source(json::object& params, const model_choice* choice) {
  const auto text = [](const std::optional<std::string>& s) { return s ? json::value(*s) : json::value(nullptr); };
  params["preset"] = choice ? text(choice->preset) : json::value(nullptr);
  params["config"] = choice ? text(choice->config) : json::value(nullptr);
  params["gguf"] = choice ? text(choice->gguf) : json::value(nullptr);
  // --context alone names no model: there are no facts to echo.
  const bool named = choice && (choice->preset || choice->config || choice->gguf);
  params["model"] = named ? json::value(to_json(choice->model)) : json::value(nullptr);
}

void render_model_warnings(std::ostream& out, const model_choice& choice) {
  for (const std::string& w : choice.model.warnings) out << "\nwarning: " << w << "\n";
}

void require_distinct_output(const std::string& key, const std::string& output,
                             const std::vector<std::pair<std::string, std::string>>& inputs) {
  for (const auto& [flag, input] : inputs) {
    std::error_code ec;
    if (std::filesystem::equivalent(output, input, ec) && !ec)
      throw invalid_params(key, output,
                           "is also the input --" + flag + " (" + input + "); write the output to another file");
  }
}

std::string real_text(double value) {
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

std::string significant(double value) {
  std::array<char, 32> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::general, 6);
  return std::string(buffer.data(), result.ptr);
}

std::string fixed(double value, int decimals) {
  std::array<char, 64> buffer{};
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                    std::chars_format::fixed, decimals);
  return std::string(buffer.data(), result.ptr);
}

std::string grouped(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -(value + 1) + 1ULL : static_cast<unsigned long long>(value));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

}  // namespace sxplan
