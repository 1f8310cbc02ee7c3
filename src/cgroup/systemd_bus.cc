// The systemd driver's bus half: sd-bus (libsystemd), loaded with dlopen the first time a
// --systemd-cgroup command connects. Only sd-bus.h's declarations are used at build time, so
// hako does not link libsystemd and a command without the flag maps none of it.
#include <dlfcn.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <map>

#include "cgroup/systemd.h"

namespace cgroup::systemd {
namespace {

constexpr const char* kDest = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
constexpr std::uint64_t kCallTimeoutUs = 30ULL * 1000 * 1000;
constexpr auto kJobTimeout = std::chrono::seconds(30);

// The sd-bus functions hako uses, looked up by name in libsystemd.so.0.
struct Api {
    void* lib = nullptr;
    decltype(&sd_bus_open_system) open_system = nullptr;
    decltype(&sd_bus_open_user) open_user = nullptr;
    decltype(&sd_bus_flush_close_unref) close = nullptr;
    decltype(&sd_bus_message_new_method_call) new_call = nullptr;
    decltype(&sd_bus_message_append) append = nullptr;
    decltype(&sd_bus_message_append_array) append_array = nullptr;
    decltype(&sd_bus_message_open_container) open = nullptr;
    decltype(&sd_bus_message_close_container) close_container = nullptr;
    decltype(&sd_bus_call) call = nullptr;
    decltype(&sd_bus_message_read) read = nullptr;
    decltype(&sd_bus_message_unref) unref = nullptr;
    decltype(&sd_bus_error_free) error_free = nullptr;
    decltype(&sd_bus_match_signal) match_signal = nullptr;
    decltype(&sd_bus_slot_unref) slot_unref = nullptr;
    decltype(&sd_bus_process) process = nullptr;
    decltype(&sd_bus_wait) wait = nullptr;
    decltype(&sd_bus_get_property) get_property = nullptr;
    decltype(&sd_bus_get_unique_name) unique_name = nullptr;

    template <typename F>
    bool bind(F& f, const char* name) {
        f = reinterpret_cast<F>(::dlsym(lib, name));  // NOLINT(*-reinterpret-cast): dlsym's way
        return f != nullptr;
    }
};

sys::Result<const Api*> api() {
    static Api a;
    static std::string failure;
    static bool tried = false;
    if (!tried) {
        tried = true;
        a.lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (a.lib == nullptr) {
            failure = ::dlerror();
        } else if (!(a.bind(a.open_system, "sd_bus_open_system") &&
                     a.bind(a.open_user, "sd_bus_open_user") &&
                     a.bind(a.close, "sd_bus_flush_close_unref") &&
                     a.bind(a.new_call, "sd_bus_message_new_method_call") &&
                     a.bind(a.append, "sd_bus_message_append") &&
                     a.bind(a.append_array, "sd_bus_message_append_array") &&
                     a.bind(a.open, "sd_bus_message_open_container") &&
                     a.bind(a.close_container, "sd_bus_message_close_container") &&
                     a.bind(a.call, "sd_bus_call") && a.bind(a.read, "sd_bus_message_read") &&
                     a.bind(a.unref, "sd_bus_message_unref") &&
                     a.bind(a.error_free, "sd_bus_error_free") &&
                     a.bind(a.match_signal, "sd_bus_match_signal") &&
                     a.bind(a.slot_unref, "sd_bus_slot_unref") &&
                     a.bind(a.process, "sd_bus_process") && a.bind(a.wait, "sd_bus_wait") &&
                     a.bind(a.get_property, "sd_bus_get_property") &&
                     a.bind(a.unique_name, "sd_bus_get_unique_name"))) {
            failure = std::string("a function is missing: ") + ::dlerror();
        }
    }
    if (!failure.empty())
        return sys::plain_error("--systemd-cgroup: cannot load libsystemd.so.0: " + failure,
                                "install Debian's libsystemd0 (sd-bus talks to systemd)");
    return &a;
}

// An sd_bus_error, freed on scope exit.
struct BusError {
    const Api& api;
    sd_bus_error e = SD_BUS_ERROR_NULL;
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    explicit BusError(const Api& a) : api(a) {}
    ~BusError() { api.error_free(&e); }
};

struct Message {
    const Api& api;
    sd_bus_message* m = nullptr;
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;
    explicit Message(const Api& a) : api(a) {}
    ~Message() {
        if (m != nullptr) api.unref(m);
    }
};

// What systemd said, in words: "StartTransientUnit hako-x.scope: File exists — systemd:
// Unit hako-x.scope already exists. (org.freedesktop.systemd1.UnitExists)".
sys::SysError bus_error(const std::string& method, const std::string& unit, int r,
                        const sd_bus_error& e, const std::string& where) {
    std::string said;
    if (e.message != nullptr) said = e.message;
    if (e.name != nullptr) said += std::string(said.empty() ? "" : " (") + e.name + ")";
    sys::SysError err{"systemd " + method, unit, r < 0 ? -r : 0, {}};
    err.hint = said.empty() ? "no answer from systemd on " + where
                            : "systemd on " + where + " said: " + said;
    return err;
}

// A string property. hako is static: the library has a libc (and malloc) of its own, so
// nothing it allocates may be freed here; the string is read out of the reply, which the
// library frees itself.
sys::Result<std::string> string_property(const Api& a, sd_bus* bus, const char* path,
                                         const char* iface, const char* member,
                                         const std::string& where) {
    BusError e(a);
    Message reply(a);
    int r = a.get_property(bus, kDest, path, iface, member, &e.e, &reply.m, "s");
    const char* value = nullptr;
    // sd_bus_get_property leaves the reply inside the variant: read the string itself.
    if (r >= 0) r = a.read(reply.m, "s", &value);
    if (r < 0 || value == nullptr)
        return sys::fail(bus_error(std::string("Get ") + member, path, r, e.e, where));
    return std::string(value);
}

int append_value(const Api& a, sd_bus_message* m, const Property& p) {
    const std::string& sig = p.signature;
    if (sig == "b") return a.append(m, "b", static_cast<int>(std::get<bool>(p.value)));
    if (sig == "t") return a.append(m, "t", std::get<std::uint64_t>(p.value));
    if (sig == "x") return a.append(m, "x", std::get<std::int64_t>(p.value));
    if (sig == "u") return a.append(m, "u", std::get<std::uint32_t>(p.value));
    if (sig == "i") return a.append(m, "i", std::get<std::int32_t>(p.value));
    if (sig == "s") return a.append(m, "s", std::get<std::string>(p.value).c_str());
    if (sig == "ay") {
        const auto& v = std::get<std::vector<std::uint8_t>>(p.value);
        return a.append_array(m, 'y', v.data(), v.size());
    }
    if (sig == "au") {
        const auto& v = std::get<std::vector<std::uint32_t>>(p.value);
        return a.append_array(m, 'u', v.data(), v.size() * sizeof(std::uint32_t));
    }
    if (sig == "as" || sig == "a(ss)") {
        int r = a.open(m, 'a', sig.c_str() + 1);
        if (r < 0) return r;
        if (sig == "as") {
            for (const auto& s : std::get<std::vector<std::string>>(p.value))
                if ((r = a.append(m, "s", s.c_str())) < 0) return r;
        } else {
            for (const auto& [x, y] :
                 std::get<std::vector<std::pair<std::string, std::string>>>(p.value))
                if ((r = a.append(m, "(ss)", x.c_str(), y.c_str())) < 0) return r;
        }
        return a.close_container(m);
    }
    return -EINVAL;
}

// An a(sv) of properties onto m.
int append_properties(const Api& a, sd_bus_message* m, const std::vector<Property>& props) {
    int r = a.open(m, 'a', "(sv)");
    for (const auto& p : props) {
        if (r < 0) return r;
        if ((r = a.open(m, 'r', "sv")) < 0) return r;
        if ((r = a.append(m, "s", p.name.c_str())) < 0) return r;
        if ((r = a.open(m, 'v', p.signature.c_str())) < 0) return r;
        if ((r = append_value(a, m, p)) < 0) return r;
        if ((r = a.close_container(m)) < 0) return r;
        r = a.close_container(m);
    }
    if (r < 0) return r;
    return a.close_container(m);
}

}  // namespace

struct Bus::Impl {
    const Api* api = nullptr;
    sd_bus* bus = nullptr;
    sd_bus_slot* match = nullptr;
    std::map<std::string, std::string> finished;  // job path -> result, from JobRemoved

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        if (match != nullptr) api->slot_unref(match);
        if (bus != nullptr) api->close(bus);
    }

    // A Manager method with the arguments `fill` appends; the reply to `reply`.
    sys::Status call(const std::string& method, const std::string& unit, const std::string& where,
                     const std::function<int(sd_bus_message*)>& fill, Message* reply) {
        Message m(*api);
        int r = api->new_call(bus, &m.m, kDest, kPath, kManager, method.c_str());
        if (r >= 0) r = fill(m.m);
        BusError e(*api);
        if (r >= 0) r = api->call(bus, m.m, kCallTimeoutUs, &e.e, reply ? &reply->m : nullptr);
        if (r < 0) return sys::fail(bus_error(method, unit, r, e.e, where));
        return {};
    }

    // JobRemoved (id, job, unit, result): recorded for wait_job.
    static int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error* /*error*/) {
        auto* impl = static_cast<Impl*>(userdata);
        std::uint32_t id = 0;
        const char* job = nullptr;
        const char* unit = nullptr;
        const char* result = nullptr;
        if (impl->api->read(m, "uoss", &id, &job, &unit, &result) >= 0 && job != nullptr)
            impl->finished[job] = result != nullptr ? result : "";
        return 0;
    }

    // Wait for JobRemoved of `job`; its result ("done" is success).
    sys::Result<std::string> wait_job(const std::string& job, const std::string& method,
                                      const std::string& unit) {
        auto deadline = std::chrono::steady_clock::now() + kJobTimeout;
        for (;;) {
            if (auto it = finished.find(job); it != finished.end()) return it->second;
            int r = api->process(bus, nullptr);
            if (r < 0)
                return sys::fail(sys::SysError{"systemd " + method, unit, -r, "the bus broke"});
            if (r > 0) continue;
            auto left = std::chrono::duration_cast<std::chrono::microseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return sys::plain_error("systemd " + method + " " + unit + ": job " + job +
                                        " did not finish within 30s");
            (void)api->wait(bus, static_cast<std::uint64_t>(left.count()));
        }
    }
};

Bus::Bus(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Bus::Bus(Bus&&) noexcept = default;
Bus& Bus::operator=(Bus&&) noexcept = default;
Bus::~Bus() = default;

sys::Result<Bus> Bus::connect(bool user) {
    HAKO_ASSIGN(const Api* a, api());
    auto impl = std::make_unique<Impl>();
    impl->api = a;
    std::string where = user ? "the user's bus" : "the system bus";
    int r = user ? a->open_user(&impl->bus) : a->open_system(&impl->bus);
    if (r < 0) {
        const char* addr = ::getenv(user ? "DBUS_SESSION_BUS_ADDRESS" : "DBUS_SYSTEM_BUS_ADDRESS");
        std::string at = addr != nullptr ? addr
                         : user          ? "$XDG_RUNTIME_DIR/bus"
                                         : "/run/dbus/system_bus_socket";
        return sys::fail(sys::SysError{"--systemd-cgroup: connect to " + where, at, -r,
                                       user ? "is the user's systemd (user@.service) running, "
                                              "and DBUS_SESSION_BUS_ADDRESS or XDG_RUNTIME_DIR set?"
                                            : "is dbus running?"});
    }
    r = a->match_signal(impl->bus, &impl->match, kDest, kPath, kManager, "JobRemoved",
                        Impl::on_job_removed, impl.get());
    if (r < 0)
        return sys::fail(
            sys::SysError{"--systemd-cgroup: add a match for JobRemoved on " + where, {}, -r, {}});
    // systemd sends job signals only while someone is subscribed.
    HAKO_TRY(impl->call(
        "Subscribe", {}, where, [](sd_bus_message*) { return 0; }, nullptr));
    Bus b(std::move(impl));
    b.where_ = where;
    if (auto version = string_property(*a, b.impl_->bus, kPath, kManager, "Version", where))
        b.manager_.version = std::atoi(version->c_str());
    // Where the manager's units are: a user manager's slices are under its own cgroup.
    HAKO_ASSIGN(b.root_cgroup_,
                string_property(*a, b.impl_->bus, kPath, kManager, "ControlGroup", where));
    if (b.root_cgroup_ == "/") b.root_cgroup_.clear();
    return b;
}

sys::Status Bus::start_unit(const std::string& unit, const std::vector<Property>& props) {
    const Api& a = *impl_->api;
    Message reply(a);
    HAKO_TRY(impl_->call(
        "StartTransientUnit", unit, where_,
        [&](sd_bus_message* m) {
            int r = a.append(m, "ss", unit.c_str(), "replace");
            if (r >= 0) r = append_properties(a, m, props);
            if (r >= 0) r = a.append(m, "a(sa(sv))", 0);
            return r;
        },
        &reply));
    const char* job = nullptr;
    if (int r = a.read(reply.m, "o", &job); r < 0 || job == nullptr)
        return sys::fail(sys::SysError{"systemd StartTransientUnit", unit, r < 0 ? -r : EPROTO,
                                       "its reply carried no job"});
    HAKO_ASSIGN(auto result, impl_->wait_job(job, "StartTransientUnit", unit));
    if (result != "done")
        return sys::plain_error("systemd StartTransientUnit " + unit + ": the job ended \"" +
                                    result + R"(", not "done")",
                                "`journalctl -u " + unit + "` or `systemctl status " + unit +
                                    "` tells why systemd could not start it");
    return {};
}

sys::Status Bus::set_properties(const std::string& unit, const std::vector<Property>& props) {
    const Api& a = *impl_->api;
    return impl_->call(
        "SetUnitProperties", unit, where_,
        [&](sd_bus_message* m) {
            int r = a.append(m, "sb", unit.c_str(), 1);
            if (r >= 0) r = append_properties(a, m, props);
            return r;
        },
        nullptr);
}

sys::Status Bus::stop_unit(const std::string& unit) {
    const Api& a = *impl_->api;
    Message reply(a);
    auto st = impl_->call(
        "StopUnit", unit, where_,
        [&](sd_bus_message* m) { return a.append(m, "ss", unit.c_str(), "replace"); }, &reply);
    if (!st) {
        if (st.error().hint.find("NoSuchUnit") != std::string::npos ||
            st.error().hint.find("not loaded") != std::string::npos)
            return {};
        return st;
    }
    const char* job = nullptr;
    if (a.read(reply.m, "o", &job) >= 0 && job != nullptr)
        HAKO_TRY(impl_->wait_job(job, "StopUnit", unit));
    (void)impl_->call(
        "ResetFailedUnit", unit, where_,
        [&](sd_bus_message* m) { return a.append(m, "s", unit.c_str()); }, nullptr);
    return {};
}

sys::Status Bus::attach_process(const std::string& unit, pid_t pid) {
    const Api& a = *impl_->api;
    auto id = static_cast<std::uint32_t>(pid);
    return impl_->call(
        "AttachProcessesToUnit", unit, where_,
        [&](sd_bus_message* m) {
            int r = a.append(m, "ss", unit.c_str(), "");
            if (r >= 0) r = a.append_array(m, 'u', &id, sizeof id);
            return r;
        },
        nullptr);
}

sys::Result<std::string> Bus::unit_cgroup(const std::string& unit) {
    const Api& a = *impl_->api;
    Message reply(a);
    HAKO_TRY(impl_->call(
        "GetUnit", unit, where_, [&](sd_bus_message* m) { return a.append(m, "s", unit.c_str()); },
        &reply));
    const char* path = nullptr;
    if (a.read(reply.m, "o", &path) < 0 || path == nullptr)
        return sys::plain_error("systemd GetUnit " + unit + ": no object path in the reply");
    bool slice = unit.size() > 6 && unit.compare(unit.size() - 6, 6, ".slice") == 0;
    std::string object = path;
    return string_property(
        a, impl_->bus, object.c_str(),
        slice ? "org.freedesktop.systemd1.Slice" : "org.freedesktop.systemd1.Scope", "ControlGroup",
        where_);
}

}  // namespace cgroup::systemd
