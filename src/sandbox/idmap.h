// Id-mapped mounts (mount uidMappings/gidMappings): a user namespace holding the mount's maps,
// made once per mount by the runtime, and applied with mount_setattr(MOUNT_ATTR_IDMAP).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "spec/config.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

std::string id_map_text(const std::vector<spec::IdMapping>& maps);

// Subordinate ids (/etc/subuid, /etc/subgid): the ranges granted to user `name` or uid `id`.
struct SubIdRange {
    std::uint64_t start = 0, count = 0;
};
std::vector<SubIdRange> parse_subids(const std::string& text, const std::string& name,
                                     std::uint32_t id);
// The user name of `uid` in /etc/passwd-style text (empty when absent).
std::string user_name(const std::string& passwd, std::uint32_t uid);

// Maps an unprivileged caller may ask for (what newuidmap allows): its own id with size 1, and
// ranges inside its subordinate ids. `field` is "linux.uidMappings", `file` "/etc/subuid".
sys::Status check_owned_maps(const std::vector<spec::IdMapping>& maps, std::uint32_t own,
                             const std::string& who, const std::vector<SubIdRange>& ranges,
                             const std::string& field, const std::string& file);
// The same check for this process's user against the system's files (nothing to check for root).
sys::Status check_caller_maps(const spec::Linux& l);
// Write the user namespace maps of `pid`: root writes them; an unprivileged caller writes a map
// of its own id itself (with setgroups denied, as the kernel requires) and uses newuidmap /
// newgidmap (Debian's uidmap) for anything else.
sys::Status write_id_maps(pid_t pid, const spec::Linux& l);
// An fd of a new user namespace with these maps (a helper process lives only while it is made).
sys::Result<sys::UniqueFd> make_userns_fd(const std::vector<spec::IdMapping>& uids,
                                          const std::vector<spec::IdMapping>& gids,
                                          const std::string& which);

}  // namespace sandbox
