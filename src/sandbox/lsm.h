// AppArmor profiles and SELinux labels: applied when the LSM is enabled, refused in words when
// it is not (config.md: a profile asked for on a host without the LSM is an error).
#pragma once

#include "spec/config.h"
#include "sys/sys_error.h"

namespace sandbox {

bool apparmor_enabled();
bool selinux_enabled();
// Checked at create, before anything runs.
sys::Status check_lsm(const spec::Spec& s);
// In the init, just before the process setup: the label/profile the program will exec into,
// written through the procfs handle opened before pivot_root.
sys::Status apply_exec_labels(const spec::Spec& s, int proc_fd);

}  // namespace sandbox
