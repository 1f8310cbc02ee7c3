/* floor ROOTFS CGROUP [exec PID]: the C floor of the benchmarks. In one process, without a
 * runtime's bookkeeping (no config to parse, no state, no checks, no error texts), what the
 * bench's bundle asks of a runtime: a cgroup in every v1 hierarchy (and the v2 one), new mount,
 * pid, network, ipc and uts namespaces, the rootfs with /proc, /dev (tmpfs, devpts, shm, mqueue,
 * six device nodes), a read-only /sys with /sys/fs/cgroup (a tmpfs with a read-only bind of
 * the container's cgroup per hierarchy), pivot_root, masked and read-only paths, a hostname,
 * RLIMIT_NOFILE, the default capabilities, no_new_privs; then /bin/true, waited for, and the
 * cgroups removed. `exec PID` instead joins PID's namespaces and runs /bin/true there.
 * FLOOR_MEMORY_LIMIT=BYTES sets a memory limit on its cgroup first (bench's memory section).
 *
 * A figure no runtime can beat by much on this host: what is left above it is the runtime's. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
    perror(what);
    _exit(1);
}

static char cgroups[16][512];

/* A new cpuset has no CPUs or memory nodes: the parent's, as runtimes do. */
static void fill_cpuset(const char *dir) {
    static const char *files[] = {"cpuset.cpus", "cpuset.mems"};
    for (int i = 0; i < 2; i++) {
        char from[600], to[600], buf[256];
        snprintf(from, sizeof from, "%s/../%s", dir, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        int fd = open(from, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        if (n <= 1) continue;
        fd = open(to, O_WRONLY | O_CLOEXEC);
        if (fd >= 0 && write(fd, buf, (size_t)n) < 0) die(to);
        if (fd >= 0) close(fd);
    }
}
static int ncgroups;
static int v2_fd = -1; /* the v2 directory, entered by the clone itself (CLONE_INTO_CGROUP) */

static void make_cgroups(const char *path) {
    DIR *d = opendir("/sys/fs/cgroup");
    if (!d) die("opendir /sys/fs/cgroup");
    struct dirent *e;
    while ((e = readdir(d)) && ncgroups < 16) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR) continue;
        char *dir = cgroups[ncgroups];
        snprintf(dir, sizeof cgroups[0], "/sys/fs/cgroup/%s%s", e->d_name, path);
        char parent[512];
        snprintf(parent, sizeof parent, "%s", dir);
        *strrchr(parent, '/') = 0;
        mkdir(parent, 0755);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) continue;
        if (strcmp(e->d_name, "cpuset") == 0) {
            fill_cpuset(parent);
            fill_cpuset(dir);
        }
        char f[600];
        snprintf(f, sizeof f, "%.500s/cgroup.controllers", dir);
        if (v2_fd < 0 && access(f, F_OK) == 0)
            v2_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ncgroups++;
    }
    closedir(d);
}

/* A memory limit in the memory hierarchy (v1) or, failing that, the v2 directory. */
static void limit_memory(const char *bytes) {
    char f[600];
    for (int i = 0; i < ncgroups; i++) {
        snprintf(f, sizeof f, "%.500s/memory.limit_in_bytes", cgroups[i]);
        if (access(f, F_OK) < 0) snprintf(f, sizeof f, "%.500s/memory.max", cgroups[i]);
        int fd = open(f, O_WRONLY | O_CLOEXEC);
        if (fd < 0) continue;
        if (write(fd, bytes, strlen(bytes)) < 0) die(f);
        close(fd);
        return;
    }
    die("no memory cgroup");
}

/* The fast ways in: "0" into tasks moves this one thread (v1); cgroup.procs for v2. */
static void join_cgroups(void) {
    char f[600];
    for (int i = 0; i < ncgroups; i++) {
        snprintf(f, sizeof f, "%.500s/tasks", cgroups[i]);
        if (access(f, F_OK) < 0) continue; /* v2: entered at the clone */
        int fd = open(f, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) die(f);
        close(fd);
    }
}

static void remove_cgroups(void) {
    for (int i = 0; i < ncgroups; i++) rmdir(cgroups[i]);
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags,
                const char *data) {
    if (mount(src, dst, type, flags, data) < 0) die(dst);
}

static void rootfs(const char *root) {
    mnt(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    mnt(root, root, NULL, MS_BIND | MS_REC, NULL);
    if (chdir(root) < 0) die("chdir rootfs");
    const unsigned long ns = MS_NOSUID | MS_NOEXEC | MS_NODEV;
    mnt("proc", "proc", "proc", ns, NULL);
    mnt("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    mkdir("dev/pts", 0755);
    mnt("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=0620,gid=5");
    mkdir("dev/shm", 01777);
    mnt("shm", "dev/shm", "tmpfs", ns, "mode=1777,size=65536k");
    mkdir("dev/mqueue", 0755);
    mnt("mqueue", "dev/mqueue", "mqueue", ns, NULL);
    mnt("sysfs", "sys", "sysfs", ns | MS_RDONLY, NULL);
    /* /sys/fs/cgroup as the bundle asks (no cgroup namespace): a tmpfs holding, per hierarchy,
     * a read-only bind of the container's own cgroup directory (what runc and hako mount). */
    mnt("tmpfs", "sys/fs/cgroup", "tmpfs", ns, "mode=755");
    for (int i = 0; i < ncgroups; i++) {
        const char *h = cgroups[i] + strlen("/sys/fs/cgroup/");
        char name[600];
        snprintf(name, sizeof name, "sys/fs/cgroup/%.*s", (int)strcspn(h, "/"), h);
        if (mkdir(name, 0755) < 0) die(name);
        mnt(cgroups[i], name, NULL, MS_BIND, NULL);
        mnt(NULL, name, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | ns, NULL);
    }
    mnt(NULL, "sys/fs/cgroup", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | ns, NULL);
    static const struct {
        const char *name;
        int major, minor;
    } devs[] = {{"dev/null", 1, 3},    {"dev/zero", 1, 5},    {"dev/full", 1, 7},
                {"dev/random", 1, 8},  {"dev/urandom", 1, 9}, {"dev/tty", 5, 0}};
    for (size_t i = 0; i < sizeof devs / sizeof devs[0]; i++)
        if (mknod(devs[i].name, S_IFCHR | 0666, makedev(devs[i].major, devs[i].minor)) < 0)
            die(devs[i].name);
    if (symlink("/proc/self/fd", "dev/fd") < 0 || symlink("pts/ptmx", "dev/ptmx") < 0)
        die("symlink");
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root");
    if (umount2(".", MNT_DETACH) < 0) die("umount old root");
    if (chdir("/") < 0) die("chdir /");
    static const char *masked[] = {"/proc/acpi", "/proc/kcore", "/proc/keys",
                                   "/proc/latency_stats", "/proc/timer_list", "/proc/sched_debug",
                                   "/proc/scsi", "/sys/firmware"};
    for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
        struct stat st;
        if (stat(masked[i], &st) < 0) continue;
        if (S_ISDIR(st.st_mode))
            mnt("tmpfs", masked[i], "tmpfs", MS_RDONLY, NULL);
        else
            mnt("/dev/null", masked[i], NULL, MS_BIND, NULL);
    }
    static const char *readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                     "/proc/sysrq-trigger"};
    for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
        if (access(readonly[i], F_OK) < 0) continue;
        mnt(readonly[i], readonly[i], NULL, MS_BIND | MS_REC, NULL);
        mnt(NULL, readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
    }
}

static void process(void) {
    struct rlimit nofile = {1024, 1024};
    if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) die("setrlimit");
    const __u64 keep = (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_KILL) |
                       (1ULL << CAP_NET_BIND_SERVICE);
    for (int c = 0; c <= CAP_LAST_CAP; c++)
        if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) die("capbset");
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{(__u32)keep, (__u32)keep, (__u32)keep}, {0, 0, 0}};
    if (syscall(SYS_capset, &h, d) < 0) die("capset");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");
}

static pid_t clone_into(unsigned long long flags) {
    struct clone_args args = {0};
    args.flags = flags;
    args.exit_signal = SIGCHLD;
    if (v2_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (unsigned long long)v2_fd;
    }
    return (pid_t)syscall(SYS_clone3, &args, sizeof args);
}

static int run(const char *root) {
    pid_t pid = clone_into(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                           CLONE_NEWUTS);
    if (pid < 0) die("clone");
    if (pid == 0) {
        join_cgroups();
        rootfs(root);
        if (sethostname("floor", 5) < 0) die("sethostname");
        process();
        execl("/bin/true", "true", (char *)NULL);
        die("execve /bin/true");
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) die("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int exec_into(pid_t target) {
    static const char *kinds[] = {"ipc", "uts", "net", "pid", "mnt"};
    int fds[5];
    char p[64];
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "/proc/%d/ns/%s", target, kinds[i]);
        if ((fds[i] = open(p, O_RDONLY | O_CLOEXEC)) < 0) die(p);
    }
    pid_t pid = clone_into(0);
    if (pid < 0) die("clone3");
    if (pid == 0) {
        join_cgroups();
        for (int i = 0; i < 5; i++)
            if (setns(fds[i], 0) < 0) die("setns");
        pid_t child = fork();  // the pid namespace applies to children
        if (child < 0) die("fork");
        if (child == 0) {
            if (chdir("/") < 0) die("chdir");
            process();
            execl("/bin/true", "true", (char *)NULL);
            die("execve /bin/true");
        }
        int status = 0;
        waitpid(child, &status, 0);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) die("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: floor ROOTFS CGROUP [exec PID]\n");
        return 2;
    }
    make_cgroups(argv[2]);
    const char *limit = getenv("FLOOR_MEMORY_LIMIT"); /* bytes, as linux.resources.memory.limit */
    if (limit) limit_memory(limit);
    int rc = argc > 4 ? exec_into(atoi(argv[4])) : run(argv[1]);
    if (argc <= 4) remove_cgroups();
    return rc;
}
