// JsonNode: a view of a nlohmann::json value that knows its JSON path, so every error can name
// it: `linux.namespaces[2].type: unknown namespace type "netns"`. Used only while parsing; the
// ConfigError it throws never leaves spec::parse_config.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace spec {

struct ConfigError {
    std::string message;
};

class JsonNode {
public:
    JsonNode(const nlohmann::json& j, std::string path) : j_(&j), path_(std::move(path)) {}

    [[nodiscard]] const std::string& path() const { return path_; }
    [[nodiscard]] const nlohmann::json& json() const { return *j_; }
    [[noreturn]] void fail(const std::string& what) const;

    // Present and not null.
    [[nodiscard]] bool has(const char* key) const;
    [[nodiscard]] JsonNode at(const char* key) const;  // required member
    [[nodiscard]] JsonNode at(std::size_t index) const;
    [[nodiscard]] std::size_t size() const;               // of an array (checked)
    [[nodiscard]] std::vector<std::string> keys() const;  // of an object (checked)
    [[nodiscard]] JsonNode member(const std::string& key) const;

    [[nodiscard]] std::string str() const;
    [[nodiscard]] bool boolean() const;
    [[nodiscard]] std::int64_t int64(
        std::int64_t min = std::numeric_limits<std::int64_t>::min(),
        std::int64_t max = std::numeric_limits<std::int64_t>::max()) const;
    [[nodiscard]] std::uint64_t uint64(
        std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const;
    [[nodiscard]] std::uint32_t uint32() const;
    [[nodiscard]] std::vector<std::string> strings() const;
    [[nodiscard]] std::map<std::string, std::string> string_map() const;

    // Optional members: the default when absent or null.
    [[nodiscard]] std::string str_or(const char* key, std::string def = {}) const;
    [[nodiscard]] bool bool_or(const char* key, bool def) const;
    [[nodiscard]] std::vector<std::string> strings_or_empty(const char* key) const;

    // `value` rendered for messages: strings quoted, others as JSON.
    [[nodiscard]] std::string shown() const;
    [[nodiscard]] std::string kind() const;  // "string", "number", ...

private:
    void expect(bool ok, const char* wanted) const;
    const nlohmann::json* j_;
    std::string path_;
};

}  // namespace spec
