#include "runtime/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "runtime/state_store.h"
#include "sys/fs.h"

namespace runtime {

void Logger::configure(const std::string& path, bool json, bool debug) {
    path_ = path;
    json_ = json;
    debug_ = debug;
}

void Logger::write_file(const char* level, const std::string& msg,
                        const sys::SysError* parts) const {
    if (path_.empty()) return;
    std::string line;
    if (json_) {
        nlohmann::json j{{"level", level}, {"msg", msg}, {"time", rfc3339_now()}};
        if (parts != nullptr) {
            if (!parts->op.empty()) j["op"] = parts->op;
            if (!parts->path.empty()) j["path"] = parts->path;
            if (parts->err != 0) {
                const char* name = ::strerrorname_np(parts->err);
                j["errno"] = name != nullptr ? name : std::to_string(parts->err);
            }
            if (!parts->field.empty()) j["field"] = parts->field;
            if (!parts->hint.empty()) j["hint"] = parts->hint;
        }
        line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
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

void Logger::error(const sys::SysError& e) const {
    std::string msg = e.message();
    std::string line = "hako: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
    write_file("error", msg, &e);
}

void Logger::warn(const std::string& msg) const {
    std::string line = "hako: warning: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
    write_file("warning", msg);
}

void Logger::debug(const std::string& msg) const {
    if (!debug_) return;
    if (!path_.empty()) {
        write_file("debug", msg);
        return;
    }
    std::string line = "hako: debug: " + msg + "\n";
    (void)!::write(2, line.data(), line.size());
}

namespace {
std::string ms_since(std::chrono::steady_clock::time_point t) {
    auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t)
            .count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(us) / 1000.0);
    return buf;
}
}  // namespace

Trace::Trace(const Logger& log, std::string what)
    : log_(log), what_(std::move(what)), on_(log.debugging()) {
    if (on_) start_ = last_ = Clock::now();
}

void Trace::step(const char* done) {
    if (!on_) return;
    log_.debug(what_ + ": " + done + " in " + ms_since(last_));
    last_ = Clock::now();
}

Trace::~Trace() {
    if (!on_) return;
    try {
        log_.debug(what_ + ": " + ms_since(start_) + " in all");
    } catch (...) {  // a trace line is not worth a terminate() (std::bad_alloc)
    }
}

}  // namespace runtime
