// One function per command: each takes parsed flags and returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "runtime/container.h"
#include "runtime/criu.h"
#include "runtime/exec.h"

namespace cli {

struct CreateFlags {
    runtime::CreateOptions opts;
    bool detach = false, keep = false, no_subreaper = false;
};

int cmd_create(runtime::Runtime& rt, const CreateFlags& f);
int cmd_run(runtime::Runtime& rt, const CreateFlags& f);
int cmd_start(runtime::Runtime& rt, const std::string& id);
int cmd_state(runtime::Runtime& rt, const std::string& id);
int cmd_kill(runtime::Runtime& rt, const std::string& id, const std::string& signal, bool all);
int cmd_delete(runtime::Runtime& rt, const std::string& id, bool force);
int cmd_list(runtime::Runtime& rt, const std::string& format, bool quiet);
int cmd_spec(runtime::Runtime& rt, const std::string& bundle, bool rootless);
int cmd_features();
int cmd_man(const std::string& command, bool list);
int cmd_completion(const std::string& shell);
int cmd_doctor(const runtime::Runtime& rt, const std::string& format);
int cmd_check(const runtime::Runtime& rt, const std::string& bundle, const std::string& format);
int cmd_events(runtime::Runtime& rt, const std::string& id, bool stats, int interval_ms);
int cmd_pause(runtime::Runtime& rt, const std::string& id, bool pause);
int cmd_update(runtime::Runtime& rt, const std::string& id, const ParsedArgs& p);
int cmd_ps(runtime::Runtime& rt, const std::string& id, const std::string& format,
           const std::vector<std::string>& ps_args);
int cmd_exec(runtime::Runtime& rt, const runtime::ExecOptions& e);
int cmd_checkpoint(runtime::Runtime& rt, const runtime::CheckpointOptions& o);
int cmd_restore(runtime::Runtime& rt, const runtime::RestoreOptions& o);

}  // namespace cli
