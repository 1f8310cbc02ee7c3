// What hako reads from /proc and /etc: mountinfo with /proc/self/cgroup (NUL between them),
// /proc/<pid>/stat, /etc/subuid and /etc/passwd. Inside a user namespace or a container some of
// these are written by someone else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cgroup/cgroup.h"
#include "sandbox/idmap.h"
#include "sys/fs.h"
#include "sys/proc.h"
#include "sys/text.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    std::string first = text.substr(0, text.find('\0'));
    std::string second = first.size() < text.size() ? text.substr(first.size() + 1) : "";
    auto hierarchies = cgroup::parse_mountinfo(first);
    cgroup::apply_proc_cgroup(hierarchies, second);
    for (const auto& h : hierarchies) (void)cgroup::host_dir(h, second);
    (void)cgroup::container_path(first, second, "id");
    (void)sys::parse_proc_stat(text);
    (void)sandbox::parse_subids(text, "user", 1000);
    (void)sandbox::user_name(text, 0);
    (void)sys::colon_records(text);
    (void)sys::clean_path(text);
    return 0;
}
