#include "sys/text.h"

#include <charconv>

namespace sys {

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find(sep, start);
        if (end == std::string::npos) end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

std::vector<std::vector<std::string>> colon_records(const std::string& text) {
    std::vector<std::vector<std::string>> out;
    for (const auto& line : split(text, '\n')) {
        if (line.empty()) continue;
        auto fields = split(line, ':');
        if (line.back() == ':') fields.emplace_back();
        out.push_back(std::move(fields));
    }
    return out;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    std::uint64_t v = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    return v;
}

}  // namespace sys
