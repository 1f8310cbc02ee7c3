// What `hako spec` writes and what `hako features` prints.
#pragma once

#include <string>

namespace spec {

// A config.json like `runc spec` writes (with a cgroup namespace, as runc 1.2 does), and
// "terminal": false, so that it runs as is from a script.
// With `rootless`, the config an unprivileged user can run as is (see make_rootless).
struct RootlessIds {
    unsigned uid = 0, gid = 0;
};
std::string default_config_json(const RootlessIds* rootless = nullptr);
// features.md: what this hako supports.
std::string features_json();

}  // namespace spec
