// Running one OCI hook: path, args, env (exactly as given), the state JSON on stdin, timeout.
// Used by the runtime (prestart, createRuntime, poststart, poststop) and by the container init
// (createContainer, startContainer), so it lives here, below both.
#pragma once

#include <string>

#include "spec/config.h"
#include "sys/sys_error.h"

namespace sandbox {

// `which` names the hook in errors: "hooks.createRuntime[0]".
sys::Status run_hook(const spec::Hook& hook, const std::string& state_json,
                     const std::string& which);

// The state a hook reads on stdin (runtime.md "State").
std::string hook_state_json(const spec::Spec& s, const std::string& id, const std::string& status,
                            int pid);

}  // namespace sandbox
