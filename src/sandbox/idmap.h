// Id-mapped mounts (mount uidMappings/gidMappings): a user namespace holding the mount's maps,
// made once per mount by the runtime, and applied with mount_setattr(MOUNT_ATTR_IDMAP).
#pragma once

#include <vector>

#include "spec/config.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

std::string id_map_text(const std::vector<spec::IdMapping>& maps);
// An fd of a new user namespace with these maps (a helper process lives only while it is made).
sys::Result<sys::UniqueFd> make_userns_fd(const std::vector<spec::IdMapping>& uids,
                                          const std::vector<spec::IdMapping>& gids,
                                          const std::string& which);

}  // namespace sandbox
