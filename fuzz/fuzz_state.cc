// state.json: written by hako, but in a directory a user may edit; reading it back (and writing
// what was read) must not crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/state_store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    auto state = runtime::state_from_json(text);
    if (state) (void)runtime::to_json(*state, true);
    (void)runtime::container_id_problem(text);
    return 0;
}
