// runc's command-line grammar (urfave/cli v1): global flags, a command, its flags, then
// positional arguments. Flags are "-name" or "--name", with "=value" or the next argument as the
// value; bool flags take no value (or "=true"/"=false"). Flag parsing stops at the first
// positional argument or "--", so `exec ID CMD -x` passes "-x" to CMD as runc does.
//
// Hand-written rather than CLI11: CLI11 pulls in <iostream>, whose static initialisation alone
// costs ~540 KiB of resident memory and ~0.25 ms per call, and it rejects runc's single-dash
// long flags. See README ("Dependencies").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sys/sys_error.h"

namespace cli {

struct FlagSpec {
    const char* names;  // "b,bundle": every name it answers to; the last is its key
    bool takes_value;
    const char* help;
};

struct CommandSpec {
    const char* name;
    const char* usage;  // "[flags] <container-id>"
    const char* help;
    std::vector<FlagSpec> flags;
    std::size_t min_args, max_args;  // positional arguments
};

struct ParsedArgs {
    std::map<std::string, std::string> globals;                // by key; bools hold "true"/"false"
    std::string command;                                       // empty: none given
    std::map<std::string, std::string> flags;                  // the last value of each
    std::map<std::string, std::vector<std::string>> repeated;  // every value, in order
    std::vector<std::string> args;
    bool help = false;
    bool version = false;

    [[nodiscard]] bool flag(const std::string& key) const;
    [[nodiscard]] std::string value(const std::string& key, const std::string& def = {}) const;
    [[nodiscard]] std::string global(const std::string& key, const std::string& def = {}) const;
    [[nodiscard]] std::vector<std::string> values(const std::string& key) const;
};

// A Go duration as runc takes it ("5s", "500ms", "1m30s", "1.5s") in milliseconds.
std::optional<std::int64_t> parse_duration_ms(const std::string& text);

// A size as runc's update flags take it (docker's RAMInBytes): "1024", "50M", "1.5g", "512kb",
// "2GiB"; binary multiples, case-insensitive. "-1" is -1 (no limit). nullopt when malformed.
std::optional<std::int64_t> parse_size(const std::string& text);

sys::Result<ParsedArgs> parse_args(const std::vector<std::string>& argv,
                                   const std::vector<FlagSpec>& globals,
                                   const std::vector<CommandSpec>& commands);

std::string usage_text(const std::vector<FlagSpec>& globals,
                       const std::vector<CommandSpec>& commands, const std::string& command);

}  // namespace cli
