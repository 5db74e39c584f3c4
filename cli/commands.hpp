// commands.hpp - one entry point per subcommand, each in its own cmd_<name>.cpp.
#pragma once

#include <ostream>

#include <selfextend/compare.hpp>

#include "cli_common.hpp"

namespace sxplan {

int run_models(const invocation& inv);
int run_model(const invocation& inv);
int run_check(const invocation& inv);
int run_advise(const invocation& inv);
int run_compare(const invocation& inv);

/// `advise --method M` for a method other than Self-Extend: its recommended parameters as text.
void render_method_advice(std::ostream& out, std::int64_t tokens, const model_choice& choice,
                          const selfextend::method_row& row);
int run_table(const invocation& inv);
int run_reuse(const invocation& inv);
int run_llamacpp(const invocation& inv);
int run_attend(const invocation& inv);
int run_verify(const invocation& inv);
int run_conformance(const invocation& inv);
int run_rope(const invocation& inv);

}  // namespace sxplan
