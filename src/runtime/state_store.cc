#include "runtime/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cgroup/cgroup.h"
#include "sys/fs.h"
#include "sys/proc.h"

namespace runtime {

using nlohmann::json;

std::string container_id_problem(const std::string& id) {
    if (id.empty()) return "it is empty";
    if (id == "." || id == "..") return "\"" + id + "\" names a directory, not a container";
    // The id is a file name in the state root: one component, at most NAME_MAX bytes.
    if (id.size() > kMaxIdLength)
        return "it is " + std::to_string(id.size()) + " characters long, and at most " +
               std::to_string(kMaxIdLength) + " fit in a file name of the state directory";
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '+' || c == '-' || c == '.';
        if (ok) continue;
        std::string shown = c == '/'                  ? "'/'"
                            : (c >= 0x21 && c < 0x7f) ? std::string("'") + c + "'"
                                                      : "a space or control character";
        return "it contains " + shown + "; use letters, digits, '_', '+', '-' and '.' only";
    }
    return {};
}

bool valid_container_id(const std::string& id) { return container_id_problem(id).empty(); }

sys::SysError invalid_id_error(const std::string& id) {
    std::string shown = id.size() > 40 ? id.substr(0, 40) + "..." : id;
    return sys::SysError{"invalid container id \"" + shown + "\"", {}, 0, container_id_problem(id)};
}

std::string format_rfc3339_utc(std::int64_t sec, long nsec) {
    // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted), by
    // hand: glibc's gmtime_r reads /etc/localtime on its first call (tzset, seven system calls
    // in every command that saves a state) for a UTC time that needs no zone.
    std::int64_t days = sec / 86400;
    std::int64_t rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    std::int64_t z = days + 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    std::int64_t doe = z - era * 146097;                                       // [0, 146096]
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
    std::int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
    std::int64_t day = doy - (153 * mp + 2) / 5 + 1;                           // [1, 31]
    std::int64_t month = mp < 10 ? mp + 3 : mp - 9;                            // [1, 12]
    std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    char buf[128];
    std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ",
                  static_cast<long long>(year), static_cast<long long>(month),
                  static_cast<long long>(day), static_cast<long long>(rem / 3600),
                  static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60), nsec);
    return buf;
}

std::string rfc3339_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return format_rfc3339_utc(ts.tv_sec, ts.tv_nsec);
}

std::string to_json(const State& s, bool with_private) {
    // Field order as runc prints it: some clients' tests compare the text.
    nlohmann::ordered_json j = {{"ociVersion", kOciVersion},
                                {"id", s.id},
                                {"pid", s.status == "stopped" ? 0 : s.pid},
                                {"status", s.status},
                                {"bundle", s.bundle},
                                {"rootfs", s.rootfs},
                                {"created", s.created},
                                {"owner", ""}};
    if (!s.annotations.empty()) j["annotations"] = s.annotations;
    if (with_private) {
        j["pid"] = s.pid;
        // The cgroup lists last: a summary read (list) stops before them.
        j["hako"] = {{"initStartTime", s.start_time},
                     {"owner", s.owner},
                     {"ownPidNamespace", s.own_pid_namespace},
                     {"creating", s.creating}};
        if (!s.systemd_unit.empty()) {
            j["hako"]["systemdUnit"] = s.systemd_unit;
            j["hako"]["systemdUser"] = s.systemd_user;
        }
        j["hako"]["cgroupDirs"] = s.cgroup_dirs;
        j["hako"]["cgroupCreated"] = s.cgroup_created;
    }
    return j.dump(with_private ? -1 : 2);
}

namespace {

// state.json read straight into a State (nlohmann's SAX interface): `list` reads one per
// container, and a DOM built and copied out of costs twice the parse. Unknown fields are
// skipped; a field of the wrong type or a missing required one fails the read.
class StateReader : public nlohmann::json_sax<json> {
public:
    State state;
    std::string problem;
    bool summary = false;  // stop at the cgroup lists once the rest is read
    bool stopped = false;

    bool null() override { return scalar(); }
    bool boolean(bool v) override {
        if (depth_ == 2 && in_hako_) {
            if (key_ == "ownPidNamespace") state.own_pid_namespace = v;
            if (key_ == "creating") state.creating = v;
            if (key_ == "systemdUser") state.systemd_user = v;
        }
        return scalar();
    }
    bool number_integer(number_integer_t v) override { return number(v, v < 0); }
    bool number_unsigned(number_unsigned_t v) override {
        return number(static_cast<std::int64_t>(v), false);
    }
    bool number_float(number_float_t /*v*/, const string_t& /*s*/) override { return scalar(); }
    bool string(string_t& v) override {
        if (depth_ == 1) {
            if (key_ == "id") {
                take(state.id, v, kId);
            } else if (key_ == "bundle") {
                take(state.bundle, v, kBundle);
            } else if (key_ == "rootfs") {
                state.rootfs = std::move(v);
            } else if (key_ == "created") {
                state.created = std::move(v);
            } else if (key_ == "status") {
                state.status = std::move(v);
            }
        } else if (depth_ == 2 && in_annotations_) {
            state.annotations[key_] = std::move(v);
        } else if (depth_ == 2 && in_hako_ && key_ == "systemdUnit") {
            state.systemd_unit = std::move(v);
        } else if (depth_ == 3 && list_ != nullptr) {
            list_->push_back(std::move(v));
        }
        return true;
    }
    bool binary(binary_t& /*v*/) override { return scalar(); }
    bool start_object(std::size_t /*n*/) override {
        if (!scalar()) return false;
        if (depth_ == 1) {
            in_hako_ = key_ == "hako";
            in_annotations_ = key_ == "annotations";
            if (in_hako_) seen_ |= kHako;
        }
        ++depth_;
        return true;
    }
    bool end_object() override {
        --depth_;
        if (depth_ == 1) in_hako_ = in_annotations_ = false;
        return true;
    }
    bool start_array(std::size_t /*n*/) override {
        if (!scalar()) return false;
        if (depth_ == 2 && in_hako_ && key_ == "cgroupDirs") {
            list_ = &state.cgroup_dirs;
            seen_ |= kDirs;
        } else if (depth_ == 2 && in_hako_ && key_ == "cgroupCreated") {
            list_ = &state.cgroup_created;
            seen_ |= kCreated;
        }
        ++depth_;
        return true;
    }
    bool end_array() override {
        --depth_;
        if (depth_ == 2) list_ = nullptr;
        return true;
    }
    bool key(string_t& k) override {
        key_ = std::move(k);
        if (depth_ == 2 && in_hako_ && key_ == "creating") seen_ |= kCreating;
        // Older states had the lists before "creating": those are read whole.
        if (summary && depth_ == 2 && in_hako_ && key_ == "cgroupDirs" &&
            (seen_ & kCreating) != 0) {
            stopped = true;
            return false;
        }
        return true;
    }
    bool parse_error(std::size_t /*pos*/, const std::string& /*token*/,
                     const nlohmann::detail::exception& e) override {
        problem = e.what();
        return false;
    }
    // The fields every state.json has: their names, when some are missing.
    [[nodiscard]] std::string missing() const {
        std::string out;
        const std::pair<unsigned, const char*> required[] = {{kId, "id"},
                                                             {kPid, "pid"},
                                                             {kBundle, "bundle"},
                                                             {kHako, "hako"},
                                                             {kStartTime, "hako.initStartTime"},
                                                             {kOwner, "hako.owner"},
                                                             {kDirs, "hako.cgroupDirs"},
                                                             {kCreated, "hako.cgroupCreated"}};
        for (const auto& [bit, name] : required)
            if ((seen_ & bit) == 0 && (!stopped || (bit != kDirs && bit != kCreated)))
                out += (out.empty() ? "" : ", ") + std::string(name);
        return out;
    }

private:
    enum : unsigned {
        kId = 1,
        kPid = 2,
        kBundle = 4,
        kHako = 8,
        kStartTime = 16,
        kOwner = 32,
        kDirs = 64,
        kCreated = 128,
        kCreating = 256
    };
    // A value that is not a string where a string (or a list of them) belongs is refused.
    bool scalar() {
        bool wrong = (depth_ == 1 && (key_ == "id" || key_ == "bundle")) ||
                     (depth_ == 3 && list_ != nullptr) || (depth_ == 2 && in_annotations_);
        if (wrong) problem = "\"" + key_ + "\" has a value of the wrong type";
        return !wrong;
    }
    bool number(std::int64_t v, bool negative) {
        if (depth_ == 1 && key_ == "pid") {
            state.pid = static_cast<pid_t>(v);
            seen_ |= kPid;
            return true;
        }
        if (depth_ == 2 && in_hako_ && !negative && key_ == "initStartTime") {
            state.start_time = static_cast<std::uint64_t>(v);
            seen_ |= kStartTime;
            return true;
        }
        if (depth_ == 2 && in_hako_ && !negative && key_ == "owner") {
            state.owner = static_cast<uid_t>(v);
            seen_ |= kOwner;
            return true;
        }
        return scalar();
    }
    void take(std::string& field, std::string& v, unsigned bit) {
        field = std::move(v);
        seen_ |= bit;
    }

    int depth_ = 0;
    std::string key_;
    bool in_hako_ = false;
    bool in_annotations_ = false;
    std::vector<std::string>* list_ = nullptr;
    unsigned seen_ = 0;
};

}  // namespace

sys::Result<State> state_from_json(const std::string& text, bool summary, bool* stopped) {
    StateReader r;
    r.summary = summary;
    bool ok = json::sax_parse(text, &r) || r.stopped;
    if (stopped != nullptr) *stopped = r.stopped;
    if (!ok)
        return sys::plain_error("state.json: " + (r.problem.empty() ? "unreadable" : r.problem));
    if (auto m = r.missing(); !m.empty()) return sys::plain_error("state.json: missing " + m);
    return std::move(r.state);
}

ContainerDir::~ContainerDir() {
    if (created_) (void)remove();
}

sys::Status ContainerDir::remove() {
    created_ = false;
    if (path_.empty()) return {};
    return sys::remove_all(path_);
}

sys::Result<ContainerDir> StateStore::claim(const std::string& id) const {
    std::string dir = dir_of(id);
    int made = ::mkdir(dir.c_str(), 0700);
    if (made < 0 && errno == ENOENT) {  // the first container in this root
        if (auto st = sys::mkdir_all(root_, 0700); !st) return sys::fail(st.error());
        made = ::mkdir(dir.c_str(), 0700);
    }
    if (made < 0) {
        if (errno == EEXIST) return sys::plain_error("container with id exists: " + id);
        return sys::errno_error("create state directory", dir);
    }
    auto fd = sys::open_path(dir, O_RDONLY | O_DIRECTORY);
    if (!fd) {
        ::rmdir(dir.c_str());
        return sys::fail(fd.error());
    }
    // Held until create is done: a `delete` or `start` of this id waits for it.
    if (::flock(fd->get(), LOCK_EX) < 0) {
        auto e = sys::errno_error("lock", dir);
        ::rmdir(dir.c_str());
        return e;
    }
    ContainerDir owned(dir, std::move(*fd), true);
    return owned;
}

sys::Result<ContainerDir> StateStore::lock(const std::string& id) const {
    std::string dir = dir_of(id);
    auto fd = sys::open_path(dir, O_RDONLY | O_DIRECTORY);
    if (!fd) {
        if (fd.error().err == ENOENT)
            return sys::plain_error("container \"" + id + "\" does not exist");
        return sys::fail(fd.error());
    }
    if (::flock(fd->get(), LOCK_EX) < 0) return sys::errno_error("lock", dir);
    return ContainerDir(dir, std::move(*fd), false);
}

sys::Status StateStore::save(const State& s) const {
    return sys::write_file_atomic(dir_of(s.id) + "/state.json", to_json(s, true), 0600, true);
}

sys::Result<State> StateStore::load(const std::string& id) const {
    if (!valid_container_id(id)) return sys::fail(invalid_id_error(id));
    auto text = sys::read_file(dir_of(id) + "/state.json");
    if (!text) {
        if (text.error().err == ENOENT)
            return sys::plain_error("container \"" + id + "\" does not exist");
        return sys::fail(text.error());
    }
    auto s = state_from_json(*text);
    if (!s) return s;
    s->status = derive_status(*s, dir_of(id));
    return s;
}

sys::Result<std::vector<std::string>> StateStore::ids() const {
    std::vector<std::string> out;
    auto d = sys::DirStream::open(root_);
    if (!d) {
        if (d.error().err == ENOENT) return out;
        return sys::fail(d.error());
    }
    while (const dirent* e = d->next()) {
        std::string name = e->d_name;
        // Those without a state.json (a create that has only claimed the id) fail to load.
        if (valid_container_id(name)) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

// Whether a process holds the lock of `dir` (create, start, delete do while they work).
bool lock_held(const std::string& dir) {
    auto fd = sys::open_path(dir, O_RDONLY | O_DIRECTORY);
    return fd && ::flock(fd->get(), LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

}  // namespace

bool StateStore::crashed_creation(const std::string& id) const {
    std::string dir = dir_of(id);
    if (::access(dir.c_str(), F_OK) != 0 || lock_held(dir)) return false;
    auto text = sys::read_file(dir + "/state.json");
    if (!text) return text.error().err == ENOENT;
    auto s = state_from_json(*text);
    return !s || s->creating;
}

namespace {
// The status as far as the process shows it: empty where only the cgroup can tell (running or
// paused).
std::string status_of_process(const State& s, const std::string& dir) {
    // A creation: "creating" while its create runs (holds the lock), else it died: "stopped".
    if (s.creating) return lock_held(dir) ? "creating" : "stopped";
    auto st = sys::read_proc_stat(s.pid);
    if (!st || st->start_time != s.start_time || st->state == 'Z' || st->state == 'X')
        return "stopped";
    if (::access((dir + "/exec.fifo").c_str(), F_OK) == 0) return "created";
    return {};
}
}  // namespace

sys::Result<State> StateStore::load_summary(const std::string& id) const {
    if (!valid_container_id(id)) return sys::fail(invalid_id_error(id));
    auto text = sys::read_file(dir_of(id) + "/state.json");
    if (!text) return sys::fail(text.error());
    bool stopped = false;
    auto s = state_from_json(*text, true, &stopped);
    if (!s) return s;
    s->status = status_of_process(*s, dir_of(id));
    if (!s->status.empty()) return s;
    if (stopped) s = state_from_json(*text);  // live: the freezer tells running from paused
    if (!s) return s;
    s->status = derive_status(*s, dir_of(id));
    return s;
}

std::string derive_status(const State& s, const std::string& dir) {
    if (auto st = status_of_process(s, dir); !st.empty()) return st;
    cgroup::Cgroup cg(s.cgroup_dirs, {});
    cg.commit();  // only looking
    return cg.frozen() ? "paused" : "running";
}

}  // namespace runtime
