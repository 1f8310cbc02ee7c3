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

std::string rfc3339_now() {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    ::gmtime_r(&ts.tv_sec, &utc);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09ldZ", ts.tv_nsec);
    return std::string(buf) + frac;
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
        j["hako"] = {{"initStartTime", s.start_time},
                     {"owner", s.owner},
                     {"cgroupDirs", s.cgroup_dirs},
                     {"cgroupCreated", s.cgroup_created},
                     {"ownPidNamespace", s.own_pid_namespace},
                     {"creating", s.creating}};
        if (!s.systemd_unit.empty()) {
            j["hako"]["systemdUnit"] = s.systemd_unit;
            j["hako"]["systemdUser"] = s.systemd_user;
        }
    }
    return j.dump(with_private ? -1 : 2);
}

sys::Result<State> state_from_json(const std::string& text) {
    try {
        json j = json::parse(text);
        State s;
        s.id = j.at("id").get<std::string>();
        s.pid = j.at("pid").get<pid_t>();
        s.bundle = j.at("bundle").get<std::string>();
        s.rootfs = j.value("rootfs", "");
        s.created = j.value("created", "");
        s.status = j.value("status", "");
        if (j.contains("annotations"))
            s.annotations = j["annotations"].get<std::map<std::string, std::string>>();
        const json& h = j.at("hako");
        s.start_time = h.at("initStartTime").get<std::uint64_t>();
        s.owner = h.at("owner").get<uid_t>();
        s.cgroup_dirs = h.at("cgroupDirs").get<std::vector<std::string>>();
        s.cgroup_created = h.at("cgroupCreated").get<std::vector<std::string>>();
        s.own_pid_namespace = h.value("ownPidNamespace", false);
        s.creating = h.value("creating", false);
        s.systemd_unit = h.value("systemdUnit", "");
        s.systemd_user = h.value("systemdUser", false);
        return s;
    } catch (const json::exception& e) {
        return sys::plain_error("state.json: " + std::string(e.what()));
    }
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
    if (auto st = sys::mkdir_all(root_, 0700); !st) return sys::fail(st.error());
    std::string dir = dir_of(id);
    if (::mkdir(dir.c_str(), 0700) < 0) {
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
    return sys::write_file_atomic(dir_of(s.id) + "/state.json", to_json(s, true), 0600);
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
        if (!valid_container_id(name)) continue;
        if (::access((root_ + "/" + name + "/state.json").c_str(), F_OK) == 0) out.push_back(name);
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

std::string derive_status(const State& s, const std::string& dir) {
    // A creation: "creating" while its create runs (holds the lock), else it died: "stopped".
    if (s.creating) return lock_held(dir) ? "creating" : "stopped";
    auto st = sys::read_proc_stat(s.pid);
    if (!st || st->start_time != s.start_time || st->state == 'Z' || st->state == 'X')
        return "stopped";
    if (::access((dir + "/exec.fifo").c_str(), F_OK) == 0) return "created";
    cgroup::Cgroup cg(s.cgroup_dirs, {});
    cg.commit();  // only looking
    return cg.frozen() ? "paused" : "running";
}

}  // namespace runtime
