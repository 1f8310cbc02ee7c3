#include "cli/args.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace cli {
namespace {

std::vector<std::string> names_of(const FlagSpec& f) {
    std::vector<std::string> out;
    std::string all = f.names;
    size_t pos = 0;
    while (pos <= all.size()) {
        size_t comma = all.find(',', pos);
        if (comma == std::string::npos) comma = all.size();
        out.push_back(all.substr(pos, comma - pos));
        pos = comma + 1;
    }
    return out;
}

const FlagSpec* find_flag(const std::vector<FlagSpec>& flags, const std::string& name) {
    for (const auto& f : flags) {
        auto names = names_of(f);
        if (std::find(names.begin(), names.end(), name) != names.end()) return &f;
    }
    return nullptr;
}

// Parse flags from argv[i...] into `out` until a positional argument; returns the index of the
// first argument that is not a flag.
sys::Result<std::size_t> parse_flags(const std::vector<std::string>& argv, std::size_t i,
                                     const std::vector<FlagSpec>& flags,
                                     std::map<std::string, std::string>& out,
                                     std::map<std::string, std::vector<std::string>>* repeated,
                                     bool& help, bool* version, const std::string& where) {
    while (i < argv.size()) {
        const std::string& a = argv[i];
        if (a == "--") return i + 1;
        if (a.size() < 2 || a[0] != '-') return i;
        std::string body = a.substr(a[1] == '-' ? 2 : 1);
        std::string name = body, value;
        bool has_value = false;
        if (auto eq = body.find('='); eq != std::string::npos) {
            name = body.substr(0, eq);
            value = body.substr(eq + 1);
            has_value = true;
        }
        if (name == "h" || name == "help") {
            help = true;
            ++i;
            continue;
        }
        if (version != nullptr && (name == "v" || name == "version")) {
            *version = true;
            ++i;
            continue;
        }
        const FlagSpec* f = find_flag(flags, name);
        if (f == nullptr)
            return sys::plain_error("flag provided but not defined: -" + name + where);
        std::string key = names_of(*f).back();
        if (f->takes_value) {
            if (!has_value) {
                if (i + 1 >= argv.size())
                    return sys::plain_error("flag needs an argument: -" + name + where);
                value = argv[++i];
            }
            out[key] = value;
            if (repeated != nullptr) (*repeated)[key].push_back(value);
        } else {
            if (has_value && value != "true" && value != "false")
                return sys::plain_error("invalid boolean value \"" + value + "\" for -" + name +
                                        where);
            out[key] = has_value ? value : "true";
        }
        ++i;
    }
    return i;
}

}  // namespace

bool ParsedArgs::flag(const std::string& key) const {
    auto it = flags.find(key);
    return it != flags.end() && it->second == "true";
}

std::string ParsedArgs::value(const std::string& key, const std::string& def) const {
    auto it = flags.find(key);
    return it == flags.end() ? def : it->second;
}

std::vector<std::string> ParsedArgs::values(const std::string& key) const {
    auto it = repeated.find(key);
    return it == repeated.end() ? std::vector<std::string>{} : it->second;
}

std::string ParsedArgs::global(const std::string& key, const std::string& def) const {
    auto it = globals.find(key);
    return it == globals.end() ? def : it->second;
}

sys::Result<ParsedArgs> parse_args(const std::vector<std::string>& argv,
                                   const std::vector<FlagSpec>& globals,
                                   const std::vector<CommandSpec>& commands) {
    ParsedArgs out;
    auto i = parse_flags(argv, 1, globals, out.globals, nullptr, out.help, &out.version, "");
    if (!i) return sys::fail(i.error());
    if (*i >= argv.size()) return out;
    out.command = argv[*i];
    auto cmd = std::find_if(commands.begin(), commands.end(),
                            [&](const CommandSpec& c) { return out.command == c.name; });
    if (cmd == commands.end())
        return sys::plain_error("no such command: " + out.command, "see `hako --help`");
    std::string where = " (in `hako " + out.command + "`)";
    // Flags may follow the positional arguments too (`update ID --memory 1M`), as runc's command
    // line library reorders them; not for commands that end in a command line of their own
    // (exec ID CMD -x), nor after "--".
    bool trailing_command = cmd->max_args > 8;
    std::size_t next = *i + 1;
    for (;;) {
        auto j =
            parse_flags(argv, next, cmd->flags, out.flags, &out.repeated, out.help, nullptr, where);
        if (!j) return sys::fail(j.error());
        bool ended_by_dashes = *j > next && argv[*j - 1] == "--";
        if (trailing_command || ended_by_dashes || *j >= argv.size()) {
            out.args.insert(out.args.end(), argv.begin() + static_cast<std::ptrdiff_t>(*j),
                            argv.end());
            break;
        }
        out.args.push_back(argv[*j]);
        next = *j + 1;
    }
    if (out.help) return out;
    if (out.args.size() < cmd->min_args || out.args.size() > cmd->max_args)
        return sys::plain_error(std::string("`hako ") + cmd->name + "` takes " + cmd->usage,
                                "see `hako " + out.command + " --help`");
    return out;
}

std::string usage_text(const std::vector<FlagSpec>& globals,
                       const std::vector<CommandSpec>& commands, const std::string& command) {
    auto flag_lines = [](const std::vector<FlagSpec>& flags) {
        std::string out;
        for (const auto& f : flags) {
            std::string names;
            for (const auto& n : names_of(f))
                names += (names.empty() ? "" : ", ") + std::string(n.size() == 1 ? "-" : "--") + n;
            if (f.takes_value) names += " value";
            out += "   " + names + std::string(names.size() < 30 ? 30 - names.size() : 1, ' ') +
                   f.help + "\n";
        }
        return out;
    };
    for (const auto& c : commands) {
        if (command != c.name) continue;
        return std::string("usage: hako ") + c.name + " " + c.usage + "\n\n" + c.help +
               "\n\nflags:\n" + flag_lines(c.flags);
    }
    std::string out =
        "usage: hako [global flags] command [flags] [arguments...]\n\n"
        "hako runs OCI containers; its command line is runc's.\n\ncommands:\n";
    for (const auto& c : commands)
        out += "   " + std::string(c.name) + std::string(12 - std::string(c.name).size(), ' ') +
               c.help + "\n";
    out += "\nglobal flags:\n" + flag_lines(globals) +
           "   --help, -h                    show help\n"
           "   --version, -v                 print the version\n";
    return out;
}

std::optional<std::int64_t> parse_duration_ms(const std::string& text) {
    static const std::pair<const char*, double> kUnits[] = {
        {"ms", 1},   {"us", 1e-3}, {"µs", 1e-3},  {"ns", 1e-6},
        {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    if (text.empty()) return std::nullopt;
    double total = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        char* end = nullptr;
        double v = std::strtod(text.c_str() + pos, &end);
        auto used = static_cast<std::size_t>(end - (text.c_str() + pos));
        if (used == 0 || v < 0) return std::nullopt;
        for (std::size_t i = pos; i < pos + used; ++i)  // no hex, no exponent: Go's grammar
            if (!((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) return std::nullopt;
        pos += used;
        bool matched = false;
        for (const auto& [unit, ms] : kUnits) {
            if (text.compare(pos, std::strlen(unit), unit) == 0) {
                total += v * ms;
                pos += std::strlen(unit);
                matched = true;
                break;
            }
        }
        if (!matched) return std::nullopt;
    }
    // Go's limit (an int64 of nanoseconds, ~292 years); past it the conversion would be
    // undefined (found by fuzz_cli).
    constexpr double kMaxMs = 9.2e12;
    if (!(total <= kMaxMs)) return std::nullopt;
    return static_cast<std::int64_t>(total);
}

std::optional<std::int64_t> parse_size(const std::string& text) {
    if (text == "-1") return -1;
    std::size_t digits = 0;
    while (digits < text.size() &&
           ((text[digits] >= '0' && text[digits] <= '9') || text[digits] == '.'))
        ++digits;
    if (digits == 0) return std::nullopt;
    char* end = nullptr;
    std::string number = text.substr(0, digits);
    double v = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return std::nullopt;
    std::string unit;
    for (char c : text.substr(digits))
        unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::pair<const char*, int> kUnits[] = {{"", 0},  {"b", 0}, {"k", 1}, {"m", 2},
                                                         {"g", 3}, {"t", 4}, {"p", 5}};
    for (const auto& [name, power] : kUnits) {
        for (const char* tail : {"", "b", "ib"}) {
            if (unit != std::string(name) + (*name == '\0' ? "" : tail)) continue;
            double bytes = v;
            for (int i = 0; i < power; ++i) bytes *= 1024;
            if (bytes >= 9.2e18) return std::nullopt;
            return static_cast<std::int64_t>(bytes);
        }
    }
    return std::nullopt;
}

}  // namespace cli
