// What execve(2) would refuse about the container's program, found at `create` and said in
// words: a "#!" interpreter or an ELF interpreter (ld-linux) missing from the container, an ELF
// for another machine, a file on a noexec mount. The kernel's own answer is a bare ENOENT,
// ENOEXEC or EACCES, the first of them even though the file is there.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sys/sys_error.h"

namespace sandbox {

// The interpreter of a "#!" line ("#!/usr/bin/env python3" -> "/usr/bin/env"); nullopt if the
// text does not start with "#!".
std::optional<std::string> shebang_interpreter(std::string_view head);

struct ElfFacts {
    bool is_elf = false;
    bool is_64 = false;
    std::uint16_t machine = 0;     // e_machine
    std::string interpreter;       // PT_INTERP, empty for a static program
    bool headers_complete = true;  // the program headers lie inside `file`
};
// From the first bytes of a file (enough to hold its program headers and PT_INTERP).
ElfFacts elf_facts(std::string_view file);

// "x86_64", "aarch64"... for an e_machine; the number when unknown.
std::string machine_name(std::uint16_t machine);

// Why execve or access(X_OK) says "Permission denied" for `path`: a noexec mount, or a mode
// without an execute bit for the caller. Empty when neither explains it.
std::string explain_denied(const std::string& path);

// Checks `path` (resolved in the container, "/" being its root). Errors name process.args[0];
// `warnings` gets what might still work (an ELF of another machine, if binfmt_misc runs it).
sys::Status check_executable(const std::string& path, std::vector<std::string>& warnings);

}  // namespace sandbox
