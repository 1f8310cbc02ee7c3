#include "runtime/events.h"

#include <poll.h>

#include <nlohmann/json.hpp>

#include "cgroup/stats.h"
#include "runtime/internal.h"
#include "sys/proc.h"

namespace runtime {

sys::Status events(const Runtime& rt, const std::string& id, bool stats_once, int interval_ms,
                   const EventSink& sink) {
    StateStore store(rt.root);
    HAKO_ASSIGN(auto s, store.load(id));
    if (s.status == "stopped") return sys::plain_error("container " + id + " is not running");
    HAKO_ASSIGN(auto host, internal::cgroup_host_of(s, "events"));
    auto files = cgroup::real_files();
    auto stats = [&] {
        sink(R"({"type":"stats","id":)" + nlohmann::json(id).dump() + R"(,"data":)" +
             cgroup::stats_json(host, s.cgroup_dirs, files) + "}");
    };
    if (stats_once) {
        stats();
        return {};
    }
    HAKO_ASSIGN(auto oom, cgroup::OomWatch::open(host, s.cgroup_dirs));
    HAKO_ASSIGN(auto init, sys::pidfd_open(s.pid));
    auto st = sys::read_proc_stat(s.pid);
    if (!st || st->start_time != s.start_time)
        return sys::plain_error("container " + id + " is not running");
    std::string oom_line = R"({"type":"oom","id":)" + nlohmann::json(id).dump() + "}";
    for (;;) {
        pollfd p[2] = {{init.get(), POLLIN, 0}, {oom.fd(), POLLIN, 0}};
        int n = ::poll(p, oom.fd() >= 0 ? 2 : 1, interval_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys::errno_error("events: poll", "container " + id);
        if (n == 0) {
            stats();
            continue;
        }
        // An OOM kill of the init makes both ready (the notification may trail the exit by a
        // moment): report the OOM first.
        if ((p[0].revents & POLLIN) != 0 && oom.fd() >= 0 && (p[1].revents & POLLIN) == 0)
            (void)::poll(&p[1], 1, 100);
        if ((p[1].revents & POLLIN) != 0) {
            HAKO_ASSIGN(auto count, oom.consume());
            for (std::uint64_t i = 0; i < count; ++i) sink(oom_line);
        }
        if ((p[0].revents & POLLIN) != 0) return {};
    }
}

}  // namespace runtime
