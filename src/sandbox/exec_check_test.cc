#include "sandbox/exec_check.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>

namespace sandbox {
namespace {

TEST(Shebang, InterpreterIsTheFirstWord) {
    EXPECT_EQ(shebang_interpreter("#!/bin/sh\necho"), "/bin/sh");
    EXPECT_EQ(shebang_interpreter("#! /usr/bin/env python3 -u\n"), "/usr/bin/env");
    EXPECT_EQ(shebang_interpreter("#!/bin/bash\r\n"), "/bin/bash");
    EXPECT_EQ(shebang_interpreter("#!\n"), "");
    EXPECT_EQ(shebang_interpreter("\x7f"
                                  "ELF"),
              std::nullopt);
    EXPECT_EQ(shebang_interpreter(""), std::nullopt);
}

std::string elf64(std::uint16_t machine, const std::string& interp) {
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_machine = machine;
    eh.e_phoff = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = interp.empty() ? 0 : 1;
    std::string out(reinterpret_cast<const char*>(&eh), sizeof eh);
    if (!interp.empty()) {
        Elf64_Phdr ph{};
        ph.p_type = PT_INTERP;
        ph.p_offset = sizeof eh + sizeof ph;
        ph.p_filesz = interp.size() + 1;
        out.append(reinterpret_cast<const char*>(&ph), sizeof ph);
        out += interp;
        out.push_back('\0');
    }
    return out;
}

TEST(ElfFacts, MachineAndInterpreter) {
    auto f = elf_facts(elf64(EM_AARCH64, "/lib/ld-linux-aarch64.so.1"));
    EXPECT_TRUE(f.is_elf && f.is_64);
    EXPECT_EQ(f.machine, EM_AARCH64);
    EXPECT_EQ(f.interpreter, "/lib/ld-linux-aarch64.so.1");
    EXPECT_EQ(machine_name(f.machine), "aarch64");
    EXPECT_EQ(elf_facts(elf64(EM_X86_64, "")).interpreter, "");
    EXPECT_FALSE(elf_facts("#!/bin/sh").is_elf);
}

TEST(ElfFacts, TruncatedHeadersAreNoticedNotRead) {
    std::string e = elf64(EM_X86_64, "/lib64/ld-linux-x86-64.so.2");
    auto f = elf_facts(e.substr(0, sizeof(Elf64_Ehdr) + 10));
    EXPECT_TRUE(f.is_elf);
    EXPECT_FALSE(f.headers_complete);
    EXPECT_EQ(f.interpreter, "");
}

}  // namespace
}  // namespace sandbox
