#include "spec/json_node.h"

namespace spec {

void JsonNode::fail(const std::string& what) const {
    throw ConfigError{(path_.empty() ? std::string("config") : path_) + ": " + what};
}

std::string JsonNode::kind() const {
    switch (j_->type()) {
        case nlohmann::json::value_t::null:
            return "null";
        case nlohmann::json::value_t::object:
            return "object";
        case nlohmann::json::value_t::array:
            return "array";
        case nlohmann::json::value_t::string:
            return "string";
        case nlohmann::json::value_t::boolean:
            return "boolean";
        case nlohmann::json::value_t::number_float:
            return "number";
        case nlohmann::json::value_t::number_integer:
        case nlohmann::json::value_t::number_unsigned:
            return "integer";
        default:
            return "value";
    }
}

std::string JsonNode::shown() const {
    std::string s = j_->dump();
    if (s.size() > 80) s = s.substr(0, 77) + "...";
    return s;
}

void JsonNode::expect(bool ok, const char* wanted) const {
    if (!ok) fail(std::string("expected ") + wanted + ", got " + kind() + " " + shown());
}

bool JsonNode::has(const char* key) const {
    expect(j_->is_object(), "an object");
    auto it = j_->find(key);
    return it != j_->end() && !it->is_null();
}

JsonNode JsonNode::at(const char* key) const {
    std::string child = path_.empty() ? key : path_ + "." + key;
    if (!has(key)) throw ConfigError{child + ": required but missing"};
    return {(*j_)[key], child};
}

JsonNode JsonNode::member(const std::string& key) const {
    expect(j_->is_object(), "an object");
    return {(*j_)[key], path_ + "." + key};
}

JsonNode JsonNode::at(std::size_t index) const {
    return {(*j_)[index], path_ + "[" + std::to_string(index) + "]"};
}

std::size_t JsonNode::size() const {
    expect(j_->is_array(), "an array");
    return j_->size();
}

std::vector<std::string> JsonNode::keys() const {
    expect(j_->is_object(), "an object");
    std::vector<std::string> out;
    for (auto it = j_->begin(); it != j_->end(); ++it) out.push_back(it.key());
    return out;
}

std::string JsonNode::str() const {
    expect(j_->is_string(), "a string");
    return j_->get<std::string>();
}

bool JsonNode::boolean() const {
    expect(j_->is_boolean(), "a boolean");
    return j_->get<bool>();
}

std::int64_t JsonNode::int64(std::int64_t min, std::int64_t max) const {
    expect(j_->is_number_integer(), "an integer");
    if (j_->is_number_unsigned() &&
        j_->get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        fail("value " + shown() + " is out of range");
    std::int64_t v = j_->get<std::int64_t>();
    if (v < min || v > max)
        fail("value " + shown() + " is out of range [" + std::to_string(min) + ", " +
             std::to_string(max) + "]");
    return v;
}

std::uint64_t JsonNode::uint64(std::uint64_t max) const {
    expect(j_->is_number_integer(), "a non-negative integer");
    if (!j_->is_number_unsigned() && j_->get<std::int64_t>() < 0)
        fail("value " + shown() + " must not be negative");
    std::uint64_t v = j_->get<std::uint64_t>();
    if (v > max) fail("value " + shown() + " is larger than " + std::to_string(max));
    return v;
}

std::uint32_t JsonNode::uint32() const {
    return static_cast<std::uint32_t>(uint64(std::numeric_limits<std::uint32_t>::max()));
}

std::vector<std::string> JsonNode::strings() const {
    std::vector<std::string> out;
    for (std::size_t i = 0, n = size(); i < n; ++i) out.push_back(at(i).str());
    return out;
}

std::map<std::string, std::string> JsonNode::string_map() const {
    std::map<std::string, std::string> out;
    for (const auto& k : keys()) out[k] = member(k).str();
    return out;
}

std::string JsonNode::str_or(const char* key, std::string def) const {
    return has(key) ? at(key).str() : def;
}

bool JsonNode::bool_or(const char* key, bool def) const {
    return has(key) ? at(key).boolean() : def;
}

std::vector<std::string> JsonNode::strings_or_empty(const char* key) const {
    return has(key) ? at(key).strings() : std::vector<std::string>{};
}

}  // namespace spec
