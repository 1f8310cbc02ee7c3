// Where messages go: stderr for people, and with --log a file (text or runc-style JSON lines,
// which containerd reads back to report errors).
#pragma once

#include <chrono>
#include <string>

#include "sys/sys_error.h"

namespace runtime {

class Logger {
public:
    void configure(const std::string& path, bool json, bool debug);
    void error(const std::string& msg) const;
    // The same line on stderr; in a JSON log also its parts (op, path, errno by name, field,
    // hint) beside "msg", for containerd's and podman's users.
    void error(const sys::SysError& e) const;
    void warn(const std::string& msg) const;
    // --debug: to the --log file when there is one (as runc), else to stderr.
    void debug(const std::string& msg) const;
    [[nodiscard]] bool debugging() const { return debug_; }

private:
    void write_file(const char* level, const std::string& msg,
                    const sys::SysError* parts = nullptr) const;
    std::string path_;
    bool json_ = false;
    bool debug_ = false;
};

// --debug's trace of one command: each step's name and how long it took, then the total.
//     Trace t(rt.log, "create c1");
//     t.step("cgroups");   // "create c1: bundle loaded in 0.21 ms" for the step before
// Costs nothing without --debug (no clock is read).
class Trace {
public:
    Trace(const Logger& log, std::string what);
    Trace(const Trace&) = delete;
    Trace& operator=(const Trace&) = delete;
    ~Trace();
    // The step just finished.
    void step(const char* done);

private:
    using Clock = std::chrono::steady_clock;
    const Logger& log_;
    std::string what_;
    bool on_;
    Clock::time_point start_, last_;
};

}  // namespace runtime
