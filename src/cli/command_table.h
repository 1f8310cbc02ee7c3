// runc's commands and flags: the grammar cli::parse_args reads the command line with.
#pragma once

#include <vector>

#include "cli/args.h"

namespace cli {

const std::vector<FlagSpec>& global_flags();
const std::vector<CommandSpec>& command_specs();

}  // namespace cli
