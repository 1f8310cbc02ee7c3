// The command line: NUL-separated arguments, parsed with runc's grammar (hako's own table).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/command_table.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> argv{"hako"};
    std::string cur;
    for (std::size_t i = 0; i < size; ++i) {
        if (data[i] == 0) {
            argv.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(static_cast<char>(data[i]));
        }
    }
    argv.push_back(cur);
    auto parsed = cli::parse_args(argv, cli::global_flags(), cli::command_specs());
    if (parsed) (void)cli::usage_text(cli::global_flags(), cli::command_specs(), parsed->command);
    (void)cli::parse_duration_ms(cur);
    return 0;
}
