// Translation tables between the names config.json uses and the kernel's numbers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace spec {

// "CAP_SYS_ADMIN" -> 21. nullopt when unknown.
std::optional<int> capability_number(std::string_view name);
const char* capability_name(int number);
// The known name closest to `name` (edit distance <= 3), for "did you mean" hints.
std::optional<std::string> closest_capability(std::string_view name);

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> rlimit_number(std::string_view name);

// Signal by name ("TERM", "SIGTERM", "sigkill") or number ("9"). nullopt when unknown.
std::optional<int> signal_number(std::string_view text);

std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace spec
