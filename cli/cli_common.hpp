// cli_common.hpp - what every sxplan subcommand shares: exit codes, number parsing,
// model selection, and the text/JSON output switch.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <stdexcept>
#include <utility>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/program_options.hpp>

#include <selfextend/json_writer.hpp>
#include <selfextend/methods.hpp>
#include <selfextend/models.hpp>
#include <selfextend/params.hpp>

namespace sxplan {

namespace po = boost::program_options;

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;  ///< run-time failure: unwritable output, verification mismatch
inline constexpr int exit_usage = 2;    ///< invalid usage or input, malformed input files included

/// Arguments after the subcommand name, plus where output goes.
struct invocation {
  std::string command;             ///< subcommand name, for messages
  std::vector<std::string> args;   ///< its arguments
  std::ostream& out;               ///< stdout: results only
  std::ostream& err;               ///< stderr: diagnostics
};

/// Parses `args` against `options` (no positionals), storing into a variables_map.
/// Accepts `--flag -5` for negative values so the library, not the parser, reports the rule.
po::variables_map parse(const invocation& inv, const po::options_description& options);

/// Prints "Usage: sxplan <command> <synopsis>" and the options; used for --help.
void print_help(const invocation& inv, const std::string& synopsis, const std::string& summary,
                const po::options_description& options);

/// Parses a signed 64-bit decimal integer for `--flag` (the library's parse_integer, so every
/// front end reads numbers alike), throwing invalid_params with the flag's name and the rule.
std::int64_t parse_int64(const std::string& flag, const std::string& text);
double parse_double(const std::string& flag, const std::string& text);
/// The optional integer flag `flag`, if given.
std::optional<std::int64_t> optional_int64(const po::variables_map& vm, const std::string& flag);
/// The required integer flag `flag`; a missing one is an invalid_params naming it.
std::int64_t required_int64(const po::variables_map& vm, const std::string& flag);
/// --shift int|float (default int).
selfextend::shift_rule shift_option(const po::variables_map& vm);

/// Adds --context, --model, --config, --gguf (the ways to name the pretrained window L).
void add_model_options(po::options_description& options);
/// Adds --shift.
void add_shift_option(po::options_description& options);
/// --method and the flags of the methods other than Self-Extend (--chunk-size, --local-window,
/// --leak, --start-size, --recent-size); --window is the command's own. `method_note` ends
/// --method's help. Read by method_options().
void add_method_options(po::options_description& options, const std::string& method_note = "");
/// --method and its flags; a flag of another method is refused, naming the method (the library's
/// method_takes). Self-Extend's G, W and shift are the command's to read. On a `model` that states
/// dual_chunk_attention_config (Qwen2.5-1M), --method dca without --chunk-size and --local-window
/// takes the model's own settings.
selfextend::method_params method_options(const po::variables_map& vm, const selfextend::model_info* model = nullptr);
/// "G = 4, W = 512, int shift", "ReRoPE w = 512", ...: a method and its parameters for people.
std::string describe_method(const selfextend::method_params& m);

/// The model the user named: one of --model/--config/--gguf, or --context alone; --context
/// with one of them replaces its L (the facts' rules are applied again with it).
struct model_choice {
  selfextend::model_info model;      ///< context always set
  std::optional<std::string> preset; ///< --model
  std::optional<std::string> config; ///< --config
  std::optional<std::string> gguf;   ///< --gguf
};
/// Reads it; `planning` refuses a model whose position encoding is not RoPE (Self-Extend remaps
/// RoPE positions only). Messages name flags (--context) where the library names keys.
model_choice resolve_model(const po::variables_map& vm, bool planning = true);

/// Echoes the model choice into a JSON params object: context, preset, config, gguf, and the
/// facts under `model` (docs/json.md).
void echo_model(boost::json::object& params, const model_choice& choice);
/// The same without context, for the commands that take a model only for its RoPE (rope, attend,
/// verify): preset, config, gguf and `model`, all null when `choice` is null.
void echo_model_source(boost::json::object& params, const model_choice* choice);
/// Prints each model warning as "\nwarning: ...".
void render_model_warnings(std::ostream& out, const model_choice& choice);

// Every command's document: selfextend::json_envelope assembles it, selfextend::write_json prints it.
using selfextend::json_envelope;
using selfextend::write_json;

/// Runs `write` (which writes an output file named by `--flag`) and prefixes a run-time failure's
/// message with the flag, so "cannot write X: reason" becomes "--flag: cannot write X: reason".
/// The failure stays a std::runtime_error (exit 1): an unwritable output is not bad input.
template <class Write>
decltype(auto) writing_output(const std::string& flag, Write&& write) {
  try {
    return std::forward<Write>(write)();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("--" + flag + ": " + e.what());
  }
}

/// Refuses (invalid_params {key, output, "is also the input --<flag> ..."}) an output path naming
/// the same file as one of `inputs` ({flag, path}), links and other spellings included.
void require_distinct_output(const std::string& key, const std::string& output,
                             const std::vector<std::pair<std::string, std::string>>& inputs);

/// Formats a real for people with `decimals` digits after the point.
std::string fixed(double value, int decimals);
/// The shortest text that reads back as `value` (0.5, 10000, 1.1902379989624023), as the library's messages write reals.
std::string real_text(double value);
/// Six significant digits, for people: 500000, 1.19024, 1e+06.
std::string significant(double value);
/// Groups thousands for people: 15800 -> "15,800".
std::string grouped(std::int64_t value);

}  // namespace sxplan
