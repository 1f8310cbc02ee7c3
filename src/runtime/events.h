// `events`: a container's resource usage (runc's `events --stats`), and, until it stops, a stats
// event every interval and an "oom" event each time the kernel OOM-kills in it.
#pragma once

#include <functional>
#include <string>

#include "runtime/container.h"

namespace runtime {

// Each event is one JSON line as runc writes it: {"type":"stats"|"oom","id":...,"data":...}.
using EventSink = std::function<void(const std::string& line)>;
// With `stats_once`, one stats event and return. Else run until the container's init exits.
sys::Status events(const Runtime& rt, const std::string& id, bool stats_once, int interval_ms,
                   const EventSink& sink);

}  // namespace runtime
