#include "sys/sys_error.h"

#include <cstring>

namespace sys {

std::string SysError::message() const {
    std::string m = field.empty() ? op : op.empty() ? field : field + ": " + op;
    if (!path.empty()) m += (op.empty() ? "" : " ") + path;
    if (err != 0) m += std::string(": ") + std::strerror(err);
    if (!hint.empty()) m += " — " + hint;
    return m;
}

}  // namespace sys
