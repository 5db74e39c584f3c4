// commands.hpp - one entry point per subcommand, each in its own cmd_<name>.cpp.
#pragma once

#include "cli_common.hpp"

namespace sxplan {

int run_models(const invocation& inv);
int run_model(const invocation& inv);
int run_check(const invocation& inv);
int run_advise(const invocation& inv);
int run_compare(const invocation& inv);
int run_table(const invocation& inv);
int run_reuse(const invocation& inv);
int run_llamacpp(const invocation& inv);
int run_attend(const invocation& inv);
int run_verify(const invocation& inv);
int run_conformance(const invocation& inv);
int run_rope(const invocation& inv);

}  // namespace sxplan
