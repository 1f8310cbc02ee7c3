#include "sandbox/exec_check.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "sys/fs.h"

namespace sandbox {
namespace {

#if defined(__x86_64__)
constexpr std::uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr std::uint16_t kHostMachine = EM_AARCH64;
#else
constexpr std::uint16_t kHostMachine = 0;  // unknown: the machine check is skipped
#endif

constexpr std::size_t kHeadBytes = 4096;

struct MachineName {
    std::uint16_t machine;
    const char* name;
};
constexpr MachineName kMachines[] = {
    {EM_X86_64, "x86_64"}, {EM_386, "i386"},    {EM_AARCH64, "aarch64"},
    {EM_ARM, "arm"},       {EM_PPC64, "ppc64"}, {EM_S390, "s390x"},
    {EM_RISCV, "riscv64"}, {EM_MIPS, "mips"},   {EM_LOONGARCH, "loongarch64"},
};

template <typename T>
bool read_at(std::string_view file, std::uint64_t off, T& out) {
    if (off > file.size() || file.size() - off < sizeof(T)) return false;
    std::memcpy(&out, file.data() + off, sizeof(T));
    return true;
}

sys::SysError args0_error(const std::string& path, std::string hint) {
    return sys::SysError{"process.args[0]:", "\"" + path + "\"", 0, std::move(hint)};
}

// Whether `path` names an existing file in the container (symlinks followed inside it).
bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string read_head(int fd) {
    std::string head(kHeadBytes, '\0');
    ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    head.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return head;
}

}  // namespace

std::optional<std::string> shebang_interpreter(std::string_view head) {
    if (head.substr(0, 2) != "#!") return std::nullopt;
    std::string_view line =
        head.substr(2, head.find('\n') == std::string_view::npos ? std::string_view::npos
                                                                 : head.find('\n') - 2);
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) return std::string{};
    std::size_t end = line.find_first_of(" \t\r", start);
    return std::string(line.substr(start, end == std::string_view::npos ? end : end - start));
}

ElfFacts elf_facts(std::string_view file) {
    ElfFacts f;
    if (file.size() < EI_NIDENT || std::memcmp(file.data(), ELFMAG, SELFMAG) != 0) return f;
    f.is_elf = true;
    f.is_64 = file[EI_CLASS] == ELFCLASS64;
    if (!f.is_64) {
        Elf32_Ehdr eh{};
        if (read_at(file, 0, eh)) f.machine = eh.e_machine;
        return f;  // 32-bit programs: the machine is what matters here
    }
    Elf64_Ehdr eh{};
    if (!read_at(file, 0, eh)) return f;
    f.machine = eh.e_machine;
    for (std::uint16_t i = 0; i < eh.e_phnum; ++i) {
        Elf64_Phdr ph{};
        if (eh.e_phentsize < sizeof ph ||
            !read_at(file, eh.e_phoff + std::uint64_t{i} * eh.e_phentsize, ph)) {
            f.headers_complete = false;
            break;
        }
        if (ph.p_type != PT_INTERP) continue;
        if (ph.p_offset > file.size() || file.size() - ph.p_offset < ph.p_filesz) {
            f.headers_complete = false;
            break;
        }
        std::string_view interp = file.substr(ph.p_offset, ph.p_filesz);
        f.interpreter = std::string(interp.substr(0, interp.find('\0')));
        break;
    }
    return f;
}

std::string machine_name(std::uint16_t machine) {
    for (const auto& m : kMachines)
        if (m.machine == machine) return m.name;
    return "machine " + std::to_string(machine);
}

constexpr const char* kNoexecHint =
    "it is on a file system mounted noexec, where execve refuses every program; drop noexec "
    "from that mount or run the program from elsewhere";

std::string explain_denied(const std::string& path) {
    struct statvfs vfs {};
    if (::statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOEXEC) != 0) return kNoexecHint;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
    std::array<char, 8> mode{};
    std::snprintf(mode.data(), mode.size(), "%04o", st.st_mode & 07777);
    return std::string("its mode ") + mode.data() + " (owner " + std::to_string(st.st_uid) +
           ", group " + std::to_string(st.st_gid) + ") does not let uid " +
           std::to_string(::geteuid()) +
           " execute it; add an execute bit (chmod +x) or run it as another user";
}

sys::Status check_executable(const std::string& path, std::vector<std::string>& warnings) {
    struct statvfs vfs {};
    if (::statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_NOEXEC) != 0)
        return sys::fail(args0_error(path, kNoexecHint));
    auto fd = sys::open_path(path, O_RDONLY);
    if (!fd) return {};  // execute-only (no read bit): nothing more to learn before execve
    std::string head = read_head(fd->get());
    if (auto interp = shebang_interpreter(head)) {
        if (interp->empty())
            return sys::fail(args0_error(path, "its \"#!\" line names no interpreter"));
        if ((*interp)[0] == '/' && !exists(*interp))
            return sys::fail(args0_error(
                path, "it starts with \"#!" + *interp + "\", and " + *interp +
                          " does not exist in the container; execve would fail with a bare "
                          "\"No such file or directory\" although the script is there"));
        return {};
    }
    ElfFacts elf = elf_facts(head);
    if (!elf.is_elf) return {};  // a script without "#!" fails with ENOEXEC; the stub says so
    if (kHostMachine != 0 && elf.machine != kHostMachine) {
        warnings.push_back("process.args[0]: \"" + path + "\" is a program for " +
                           machine_name(elf.machine) + ", and this machine runs " +
                           machine_name(kHostMachine) +
                           ": execve will fail with \"Exec format error\" unless binfmt_misc "
                           "on the host runs such programs (qemu-user-binfmt)");
        return {};
    }
    if (!elf.interpreter.empty() && !exists(elf.interpreter))
        return sys::fail(args0_error(
            path, "it is dynamically linked and its ELF interpreter " + elf.interpreter +
                      " does not exist in the container; execve would fail with a bare "
                      "\"No such file or directory\" although the program is there (a "
                      "program built for another C library, or a missing libc package)"));
    return {};
}

}  // namespace sandbox
