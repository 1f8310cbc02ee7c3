// hako's command line, flag for flag runc's: podman, containerd and Docker call it as they call
// runc. Parsing only; the work is in runtime/.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/commands.h"

namespace {

void add_create_flags(CLI::App* cmd, cli::CreateFlags& f) {
    cmd->add_option("-b,--bundle", f.opts.bundle, "path to the root of the bundle directory");
    cmd->add_option("--console-socket", f.opts.console_socket,
                    "path to an AF_UNIX socket which will receive the pty master");
    cmd->add_option("--pid-file", f.opts.pid_file, "file to write the container init's pid to");
    cmd->add_flag("--no-pivot", f.opts.no_pivot, "do not use pivot_root (for ramfs roots)");
    cmd->add_flag("--no-new-keyring", f.opts.no_new_keyring,
                  "do not create a new session keyring for the container");
    cmd->add_option("--preserve-fds", f.opts.preserve_fds,
                    "pass N more file descriptors (3 onwards) to the container");
    cmd->add_option("id", f.opts.id, "container id")->required();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"hako: an OCI container runtime", "hako"};
    app.set_version_flag("-v,--version",
                         std::string("hako version ") + HAKO_VERSION + "\nspec: 1.3.0");
    app.require_subcommand(1);
    app.fallthrough();

    runtime::Runtime rt;
    std::string log_path, log_format = "text";
    bool debug = false, systemd_cgroup = false;
    std::string rootless = "auto", criu;
    app.add_option("--root", rt.root, "root directory for storage of container state");
    app.add_option("--log", log_path, "log file (default: stderr only)");
    app.add_option("--log-format", log_format, "log format: text or json")
        ->check(CLI::IsMember({"text", "json"}));
    app.add_flag("--debug", debug, "enable debug logging");
    app.add_flag("--systemd-cgroup", systemd_cgroup, "manage cgroups with systemd");
    app.add_option("--rootless", rootless, "ignore cgroup permission errors (true, false, auto)");
    app.add_option("--criu", criu, "path to criu (unused)");

    cli::CreateFlags create_flags;
    auto* create = app.add_subcommand("create", "create a container");
    add_create_flags(create, create_flags);

    auto* run = app.add_subcommand("run", "create and run a container");
    add_create_flags(run, create_flags);
    run->add_flag("-d,--detach", create_flags.detach, "detach from the container's process");
    run->add_flag("--keep", create_flags.keep, "do not delete the container after it exits");
    run->add_flag("--no-subreaper", create_flags.no_subreaper, "accepted for runc compatibility");

    std::string id, signal;
    bool all = false, force = false, quiet = false, spec_rootless = false;
    std::string format = "table", spec_bundle;

    auto* start = app.add_subcommand("start", "start a created container");
    start->add_option("id", id, "container id")->required();
    auto* state = app.add_subcommand("state", "print the state of a container");
    state->add_option("id", id, "container id")->required();
    auto* kill = app.add_subcommand("kill", "send a signal to a container's init");
    kill->add_flag("-a,--all", all, "send the signal to every process in the container");
    kill->add_option("id", id, "container id")->required();
    kill->add_option("signal", signal, "signal name or number (default TERM)");
    auto* del = app.add_subcommand("delete", "delete a container");
    del->add_flag("-f,--force", force, "kill the container first if it is running");
    del->add_option("id", id, "container id")->required();
    auto* list = app.add_subcommand("list", "list containers");
    list->add_option("-f,--format", format, "table or json");
    list->add_flag("-q,--quiet", quiet, "print the ids only");
    auto* spec_cmd = app.add_subcommand("spec", "write a default config.json");
    spec_cmd->add_option("-b,--bundle", spec_bundle, "where to write config.json");
    spec_cmd->add_flag("--rootless", spec_rootless, "a config for unprivileged users");
    auto* features = app.add_subcommand("features", "print what this hako supports");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::string msg = std::string("hako: ") + e.what() + "\n";
        (void)!::write(2, msg.data(), msg.size());
        return 1;
    }
    rt.log.configure(log_path, log_format == "json", debug);
    if (systemd_cgroup) {
        rt.log.error("--systemd-cgroup: not supported yet; hako manages cgroupfs directly");
        return 1;
    }

    if (create->parsed()) return cli::cmd_create(rt, create_flags);
    if (run->parsed()) return cli::cmd_run(rt, create_flags);
    if (start->parsed()) return cli::cmd_start(rt, id);
    if (state->parsed()) return cli::cmd_state(rt, id);
    if (kill->parsed()) return cli::cmd_kill(rt, id, signal, all);
    if (del->parsed()) return cli::cmd_delete(rt, id, force);
    if (list->parsed()) return cli::cmd_list(rt, format, quiet);
    if (spec_cmd->parsed()) return cli::cmd_spec(rt, spec_bundle, spec_rootless);
    if (features->parsed()) return cli::cmd_features();
    return 1;
}
