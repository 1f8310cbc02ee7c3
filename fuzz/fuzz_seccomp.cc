// linux.seccomp alone: the input is put into the default config as its profile, so that the
// fuzzer spends its time in the profile's parser and in the libseccomp translation.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "sandbox/seccomp.h"
#include "spec/config.h"
#include "spec/default_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto profile = nlohmann::json::parse(data, data + size, nullptr, false);
    if (profile.is_discarded()) return 0;
    static const auto base = nlohmann::json::parse(spec::default_config_json());
    auto config = base;
    config["linux"]["seccomp"] = profile;
    auto parsed = spec::parse_config(config.dump(), "/bundle");
    if (parsed && parsed->spec.linux.seccomp) {
        std::vector<std::string> skipped;
        (void)sandbox::build_seccomp(*parsed->spec.linux.seccomp, skipped);
    }
    return 0;
}
