// AF_UNIX helpers: connect to a path, send bytes with one fd attached (SCM_RIGHTS).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sys {

// A connected SOCK_STREAM socket to the unix socket at `path`; `what` names it in errors.
Result<UniqueFd> connect_unix(const std::string& path, const std::string& what);
// One sendmsg of `data` carrying `fd` (SCM_RIGHTS); `data` must not be empty.
Status send_with_fd(int sock, std::string_view data, int fd, const std::string& what);
// One recvmsg into `buf`; an fd that came with it (SCM_RIGHTS, made close-on-exec) goes to
// `*passed`, or is closed when `passed` is null. The byte count, or -1 with errno set.
ssize_t receive_with_fd(int sock, void* buf, std::size_t len, UniqueFd* passed);

}  // namespace sys
