// Where messages go: stderr for people, and with --log a file (text or runc-style JSON lines,
// which containerd reads back to report errors).
#pragma once

#include <string>

namespace runtime {

class Logger {
public:
    void configure(const std::string& path, bool json, bool debug);
    void error(const std::string& msg) const;
    void warn(const std::string& msg) const;
    void debug(const std::string& msg) const;

private:
    void write_file(const char* level, const std::string& msg) const;
    std::string path_;
    bool json_ = false;
    bool debug_ = false;
};

}  // namespace runtime
