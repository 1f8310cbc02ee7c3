// Small text helpers for the kernel's and the system's line-oriented files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sys {

// "a,b,,c" -> {"a", "b", "", "c"}; a trailing separator adds no empty last field, as getline.
std::vector<std::string> split(const std::string& text, char sep);
// The records of a colon-separated file (/etc/passwd, /etc/subuid): one vector of fields per
// non-empty line.
std::vector<std::vector<std::string>> colon_records(const std::string& text);

// A whole decimal number, or nullopt (never throws, unlike std::stoull: the text may come from a
// file the container can write, and an exception in the init is fatal).
std::optional<std::uint64_t> parse_u64(std::string_view text);

}  // namespace sys
