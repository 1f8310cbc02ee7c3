// Test-only fault points: with HAKO_TEST_FAULT=<name> in its environment, hako SIGKILLs itself
// when it reaches the point of that name, so that the kill tests (tests/integration/
// test_crash.py) can stop it at every step of create, start, exec and delete and check that
// `delete -f` leaves nothing behind. A user can kill hako at any instant anyway; this only
// makes the instant repeatable. Costs one getenv per process.
#pragma once

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>

namespace sys {

inline void fault_point(const char* name) {
    static const char* wanted = std::getenv("HAKO_TEST_FAULT");
    if (wanted == nullptr || std::strcmp(wanted, name) != 0) return;
    ::raise(SIGKILL);
    ::_exit(128 + SIGKILL);  // pid 1 of a pid namespace ignores its own SIGKILL
}

}  // namespace sys
