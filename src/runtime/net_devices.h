// linux.netDevices (runtime-spec 1.3): host interfaces moved into the container's network
// namespace at create, renamed, with their permanent global addresses, and brought up. They are
// not moved back at delete: the spec forbids it (the kernel returns physical devices to the
// initial namespace when the container's goes away; virtual ones are destroyed).
#pragma once

#include <sys/types.h>

#include "spec/config.h"
#include "sys/sys_error.h"

namespace runtime {

// Before anything exists: every named device is there to be moved.
sys::Status check_net_devices(const spec::Linux& l);

// Once the init `pid` has its network namespace: move, rename, re-address, bring up.
sys::Status move_net_devices(const spec::Linux& l, pid_t pid);

}  // namespace runtime
