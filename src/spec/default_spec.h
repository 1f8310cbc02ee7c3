// What `hako spec` writes and what `hako features` prints.
#pragma once

#include <string>

namespace spec {

// A config.json like `runc spec` writes (with a cgroup namespace, as runc 1.2 does), and
// "terminal": false, so that it runs as is from a script.
std::string default_config_json();
// features.md: what this hako supports.
std::string features_json();

}  // namespace spec
