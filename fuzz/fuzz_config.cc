// config.json as a container's owner writes it: parse + validate must never crash, hang or
// read out of bounds, whatever the bytes; a profile that parses must also build as a filter.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sandbox/seccomp.h"
#include "spec/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto parsed = spec::parse_config(text, "/bundle");
    if (parsed && parsed->spec.linux.seccomp) {
        std::vector<std::string> skipped;
        (void)sandbox::build_seccomp(*parsed->spec.linux.seccomp, skipped);
    }
    return 0;
}
