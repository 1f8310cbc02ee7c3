// Process attributes from config.md applied by the init: scheduler (sched_setattr), I/O
// priority, CPU affinity (execCPUAffinity) and the execution domain (linux.personality).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spec/config.h"
#include "sys/sys_error.h"

namespace sandbox {

// "0-3,7" -> {0,1,2,3,7}; nullopt when malformed.
std::optional<std::vector<int>> parse_cpu_list(const std::string& text);

sys::Status set_cpu_affinity(const std::string& list, const char* field);
sys::Status apply_process_attrs(const spec::Spec& s);

// config.md: a capability that cannot be granted is a warning, not a failure. hako can grant
// only what is in its own bounding set (a host, or a container hako runs in, may withhold some:
// this host withholds CAP_SYS_RESOURCE). Those are left out of every set; the warning, if any, is
// returned. `available(cap)` says whether hako holds cap in its bounding set.
std::optional<std::string> drop_ungrantable_capabilities(spec::Capabilities& caps,
                                                         bool (*available)(int cap));
bool in_own_bounding_set(int cap);

// linux.memoryPolicy: the node list must parse and name online nodes (checked at create, with
// the online set in the error); applied with set_mempolicy(2) in the init and in exec, so the
// program inherits it across execve.
sys::Status check_memory_policy(const spec::Linux& l);
sys::Status apply_memory_policy(const spec::Linux& l);

}  // namespace sandbox
