// Manual pages (troff, section 8) and bash completion, both made from the command table, so
// that they cannot drift from what the parser accepts. `hako man [COMMAND]`, `hako completion`.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"

namespace cli {

// hako(8) when `command` is empty, else hako-COMMAND(8); empty for an unknown command.
std::string man_page(const std::vector<FlagSpec>& globals, const std::vector<CommandSpec>& commands,
                     const std::string& command);

// A bash completion script: commands, then each command's flags.
std::string bash_completion(const std::vector<FlagSpec>& globals,
                            const std::vector<CommandSpec>& commands);

}  // namespace cli
