#include "runtime/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/state_store.h"
#include "sys/fs.h"

namespace runtime {

void Logger::configure(const std::string& path, bool json, bool debug) {
    path_ = path;
    json_ = json;
    debug_ = debug;
}

void Logger::write_file(const char* level, const std::string& msg) const {
    if (path_.empty()) return;
    std::string line;
    if (json_) {
        line = nlohmann::json{{"level", level}, {"msg", msg}, {"time", rfc3339_now()}}.dump(
                   -1, ' ', false, nlohmann::json::error_handler_t::replace) +
               "\n";
    } else {
        line = rfc3339_now() + " " + level + ": " + msg + "\n";
    }
    // One write() with O_APPEND: lines from concurrent hako processes do not interleave.
    auto fd = sys::open_path(path_, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd) (void)sys::write_all(fd->get(), line, path_);
}

void Logger::error(const std::string& msg) const {
    std::string line = "hako: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
    write_file("error", msg);
}

void Logger::warn(const std::string& msg) const {
    std::string line = "hako: warning: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
    write_file("warning", msg);
}

void Logger::debug(const std::string& msg) const {
    if (!debug_) return;
    std::string line = "hako: debug: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
    write_file("debug", msg);
}

}  // namespace runtime
