#include "cli/docs.h"

#include <algorithm>

#include "sys/text.h"

namespace cli {
namespace {

// Text for troff: a leading dot or quote would start a request; backslashes escape.
std::string roff(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\') {
            out += "\\e";
        } else if (c == '-') {
            out += "\\-";
        } else {
            out += c;
        }
    }
    if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
    return out;
}

std::string flag_names(const FlagSpec& f) {
    std::string out;
    for (const auto& n : sys::split(f.names, ',')) {
        if (!out.empty()) out += ", ";
        out += (n.size() == 1 ? "-" : "--") + n;
    }
    return out;
}

std::string flags_section(const std::vector<FlagSpec>& flags) {
    std::string out;
    for (const auto& f : flags) {
        out += ".TP\n.B " + roff(flag_names(f)) + (f.takes_value ? " \\fIvalue\\fR" : "") + "\n";
        out += roff(f.help) + "\n";
    }
    return out;
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

}  // namespace

std::string man_page(const std::vector<FlagSpec>& globals, const std::vector<CommandSpec>& commands,
                     const std::string& command) {
    std::string see_also = ".SH SEE ALSO\n";
    if (command.empty()) {
        std::string out = ".TH HAKO 8 \"\" \"hako\" \"System Administration\"\n";
        out += ".SH NAME\nhako \\- run OCI containers (a runc-compatible runtime)\n";
        out +=
            ".SH SYNOPSIS\n.B hako\n[\\fIglobal flags\\fR] \\fIcommand\\fR [\\fIflags\\fR] "
            "[\\fIarguments\\fR]\n";
        out +=
            ".SH DESCRIPTION\nhako turns an OCI bundle (config.json and a root filesystem) "
            "into an isolated process. Its command line is runc's: podman, containerd and "
            "Docker call it as they call runc.\n";
        out += ".SH COMMANDS\n";
        for (const auto& c : commands) {
            out += ".TP\n.B " + roff(c.name) + "\n" + roff(c.help) + " (\\fBhako\\-" +
                   roff(c.name) + "\\fR(8))\n";
            see_also += ".BR hako\\-" + roff(c.name) + " (8),\n";
        }
        out += ".SH GLOBAL FLAGS\n" + flags_section(globals);
        out +=
            ".TP\n.B \\-\\-help, \\-h\nshow help\n.TP\n.B \\-\\-version, \\-v\nprint the version\n";
        return out + see_also + ".BR runc (8)\n";
    }
    auto c = std::find_if(commands.begin(), commands.end(),
                          [&](const CommandSpec& s) { return command == s.name; });
    if (c == commands.end()) return {};
    std::string name = "hako-" + command;
    std::string out = ".TH " + upper(roff(name)) + " 8 \"\" \"hako\" \"System Administration\"\n";
    out += ".SH NAME\n" + roff(name) + " \\- " + roff(c->help) + "\n";
    out += ".SH SYNOPSIS\n.B hako " + roff(command) + "\n" + roff(c->usage) + "\n";
    out += ".SH DESCRIPTION\n" + roff(c->help) + ".\n";
    if (!c->flags.empty()) out += ".SH FLAGS\n" + flags_section(c->flags);
    out += ".TP\n.B \\-\\-help, \\-h\nshow help\n";
    return out + see_also + ".BR hako (8)\n";
}

std::string bash_completion(const std::vector<FlagSpec>& globals,
                            const std::vector<CommandSpec>& commands) {
    auto words = [](const std::vector<FlagSpec>& flags) {
        std::string out;
        for (const auto& f : flags)
            for (const auto& n : sys::split(f.names, ','))
                out += (out.empty() ? "" : " ") + std::string(n.size() == 1 ? "-" : "--") + n;
        return out;
    };
    std::string names;
    for (const auto& c : commands) names += (names.empty() ? "" : " ") + std::string(c.name);
    // Global flags that take a value: the word after them is that value, not the command.
    std::string valued;
    for (const auto& f : globals) {
        if (!f.takes_value) continue;
        for (const auto& n : sys::split(f.names, ','))
            valued += (valued.empty() ? "" : "|") + std::string(n.size() == 1 ? "-" : "--") + n +
                      (n.size() == 1 ? "" : "|-" + n);
    }
    std::string out =
        "# bash completion for hako (made by `hako completion`)\n"
        "_hako() {\n"
        "    local cur=${COMP_WORDS[COMP_CWORD]} cmd= i\n"
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "        case ${COMP_WORDS[i]} in " +
        valued +
        ") ((i++)) ;; -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac\n"
        "    done\n"
        "    local flags\n"
        "    case $cmd in\n"
        "        '') flags=\"" +
        words(globals) + " --help --version\" ;;\n";
    for (const auto& c : commands)
        out += "        " + std::string(c.name) + ") flags=\"" + words(c.flags) + " --help\" ;;\n";
    out +=
        "    esac\n"
        "    if [[ $cur == -* ]]; then\n"
        "        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
        "    elif [[ -z $cmd ]]; then\n"
        "        COMPREPLY=($(compgen -W \"" +
        names +
        "\" -- \"$cur\"))\n"
        "    else\n"
        "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
        "    fi\n"
        "}\n"
        "complete -F _hako hako\n";
    return out;
}

}  // namespace cli
