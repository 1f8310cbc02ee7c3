// linux.resources.devices on cgroup v2: there is no devices.allow file, only an eBPF program of
// type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup (Documentation/admin-guide/
// cgroup-v2.rst, "Device controller"). The program is generated from the rules here.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "spec/config.h"
#include "sys/sys_error.h"

namespace cgroup {

// The program for `rules` with v1's meaning: the last rule that matches a device and access
// decides; a type "a" rule resets everything before it (deny-all, allow-all); with no "a" rule
// what matches nothing is allowed. The context is struct bpf_cgroup_dev_ctx; 1 allows.
std::vector<bpf_insn> device_filter_program(const std::vector<spec::DeviceRule>& rules);

// Load the program and make it the only one hako attached to the cgroup at `dir`: attached with
// BPF_F_ALLOW_MULTI, then any program attached before (an earlier `update`) is detached.
sys::Status attach_device_filter(const std::string& dir, const std::vector<bpf_insn>& program);

}  // namespace cgroup
