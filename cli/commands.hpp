// commands.hpp - one entry point per subcommand, each in its own cmd_<name>.cpp.
#pragma once

#include "cli_common.hpp"

namespace sxplan {

int run_models(const invocation& inv);
int run_check(const invocation& inv);
int run_advise(const invocation& inv);
int run_llamacpp(const invocation& inv);

}  // namespace sxplan
