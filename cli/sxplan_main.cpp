// sxplan_main.cpp - sxplan's front door: parse the subcommand, dispatch, and turn errors into one-line
// messages and exit codes. Separate from main() so tests and the CLI fuzzer can run it in-process.
#include <algorithm>
#include <exception>
#include <new>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <selfextend/error.hpp>
#include <selfextend/json_writer.hpp>
#include <selfextend/version.hpp>

#include "commands.hpp"
#include "sxplan_main.hpp"

namespace {

struct subcommand {
  const char* name;
  int (*run)(const sxplan::invocation&);
  const char* summary;
};

const subcommand subcommands[] = {
    {"models", sxplan::run_models, "list the built-in model presets"},
    {"model", sxplan::run_model, "every fact read about a model (preset, config.json, GGUF) and its source"},
    {"check", sxplan::run_check, "judge one plan (G, W) for N tokens"},
    {"advise", sxplan::run_advise, "rank plans (G, W) for N tokens, with reasons"},
    {"compare", sxplan::run_compare, "Self-Extend, DCA, ReRoPE, Leaky ReRoPE and StreamingLLM side by side for N tokens"},
    {"table", sxplan::run_table, "exact position tables for other runtimes (npy, safetensors, CSV, JSON, C)"},
    {"reuse", sxplan::run_reuse, "which pretrained positions a plan reuses, and how often"},
    {"llamacpp", sxplan::run_llamacpp, "positions llama.cpp's group attention assigns, against the exact map"},
    {"rope", sxplan::run_rope, "a model's RoPE frequency rule: inv_freq, wavelengths, attention factor"},
    {"attend", sxplan::run_attend, "run Self-Extend attention on q, k, v (.npy)"},
    {"verify", sxplan::run_verify, "check a runtime's attention output against the reference"},
    {"conformance", sxplan::run_conformance, "write the conformance suite a runtime port runs through"},
};

void print_usage(std::ostream& out) {
  out << "Usage: sxplan <command> [options]\n       sxplan --version\n\n"
         "Plan Self-Extend (LongLM) context extension: choose the group size G and neighbor window W,\n"
         "see exactly which pretrained positions a plan uses.\n\nCommands:\n";
  std::size_t width = 0;
  for (const subcommand& c : subcommands) width = std::max(width, std::string(c.name).size());
  for (const subcommand& c : subcommands)
    out << "  " << c.name << std::string(width + 2 - std::string(c.name).size(), ' ') << c.summary << "\n";
  out << "\nRun `sxplan <command> --help` for a command's options.\n";
}

/// Library keys are JSON names (snake_case); the flag is the same name with hyphens.
/// One line of plain text for the terminal: control bytes (a newline in a value would break
/// "one line") and bytes of invalid UTF-8 are shown as \xNN, valid UTF-8 as it is.
std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t n = byte < 0x80 ? (byte < 0x20 || byte == 0x7f ? 0 : 1) : selfextend::utf8_sequence_length(text, i);
    if (n == 0) {
      out += "\\x";
      out += "0123456789abcdef"[byte >> 4];
      out += "0123456789abcdef"[byte & 0xf];
      continue;
    }
    out.append(text.substr(i, n));
    i += n - 1;
  }
  return out;
}

std::string flag_of(std::string key) {
  // An environment variable (SXPLAN_ISA) is named as it is set, not as a flag.
  if (std::all_of(key.begin(), key.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; })) return key;
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

/// The issue as the command line names things: its key, and every other input its rule names in
/// backquotes (`force`), become flags.
std::string as_flag(const selfextend::issue& i) {
  std::string rule;
  std::size_t at = 0;
  for (;;) {
    const std::size_t open = i.rule.find('`', at);
    const std::size_t close = open == std::string::npos ? std::string::npos : i.rule.find('`', open + 1);
    if (close == std::string::npos) break;
    const std::string name = i.rule.substr(open + 1, close - open - 1);
    const bool is_key = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
    rule += i.rule.substr(at, open - at) + (is_key ? flag_of(name) : i.rule.substr(open, close - open + 1));
    at = close + 1;
  }
  rule += i.rule.substr(at);
  return flag_of(i.key) + " = " + i.value + ": " + rule;
}

}  // namespace

namespace sxplan {

int run_sxplan(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    print_usage(err);
    return sxplan::exit_usage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    print_usage(out);
    return sxplan::exit_ok;
  }
  if (args[0] == "--version") {
    out << "sxplan " << selfextend::version_string << "\n";
    return sxplan::exit_ok;
  }
  const auto* command = std::find_if(std::begin(subcommands), std::end(subcommands),
                                     [&](const subcommand& c) { return args[0] == c.name; });
  if (command == std::end(subcommands)) {
    err << "sxplan: unknown command '" << printable(args[0]) << "' (see sxplan --help)\n";
    return sxplan::exit_usage;
  }
  const std::string name = command->name;
  try {
    const sxplan::invocation inv{name, std::vector<std::string>(args.begin() + 1, args.end()), out, err};
    const int code = command->run(inv);
    out.flush();
    if (!out) {
      err << "sxplan " << name << ": cannot write to standard output\n";
      return sxplan::exit_failure;
    }
    return code;
  } catch (const boost::program_options::error& e) {
    err << "sxplan " << name << ": " << printable(e.what()) << " (see sxplan " << name << " --help)\n";
    return sxplan::exit_usage;
  } catch (const selfextend::invalid_params& e) {
    for (const selfextend::issue& i : e.issues()) err << "sxplan " << name << ": " << printable(as_flag(i)) << "\n";
    return sxplan::exit_usage;
  } catch (const selfextend::no_solution& e) {
    // Valid input nothing satisfies (an explicit --max-group below every G that fits): a failure.
    err << "sxplan " << name << ": " << printable(as_flag(e.reason())) << "\n";
    return sxplan::exit_failure;
  } catch (const std::bad_alloc&) {
    // Every path that grows with the input refuses first; this is the backstop, still one line.
    err << "sxplan " << name << ": out of memory (the machine could not provide what this run needs)\n";
    return sxplan::exit_failure;
  } catch (const std::exception& e) {
    err << "sxplan " << name << ": " << printable(e.what()) << "\n";
    return sxplan::exit_failure;
  }
}

}  // namespace sxplan
