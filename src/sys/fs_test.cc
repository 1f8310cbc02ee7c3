#include "sys/fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace sys {
namespace {

TEST(CloseFdsExcept, KeepsOnlyWhatIsAsked) {
    // In a child, so the test runner's own fds are left alone.
    pid_t pid = ::fork();
    if (pid == 0) {
        int a = ::open("/dev/null", O_RDONLY), b = ::open("/dev/null", O_RDONLY);
        int c = ::open("/dev/null", O_RDONLY), d = ::open("/dev/null", O_RDONLY);
        if (!close_fds_except(3, {b, d})) ::_exit(10);
        bool ok = ::fcntl(a, F_GETFD) < 0 && ::fcntl(b, F_GETFD) >= 0 && ::fcntl(c, F_GETFD) < 0 &&
                  ::fcntl(d, F_GETFD) >= 0 && ::fcntl(d + 1, F_GETFD) < 0 &&
                  ::fcntl(2, F_GETFD) >= 0;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(CleanPath, CollapsesDotsAndSlashes) {
    EXPECT_EQ(clean_path("/a//b/./c/"), "/a/b/c");
    EXPECT_EQ(clean_path("a/b"), "/a/b");
    EXPECT_EQ(clean_path("/../../etc"), "/etc");
    EXPECT_EQ(clean_path("/a/b/../../.."), "/");
    EXPECT_EQ(clean_path(""), "/");
}

TEST(JoinPath, KeepsTheRelativePartBelowTheBase) {
    EXPECT_EQ(join_path("/bundle", "rootfs"), "/bundle/rootfs");
    EXPECT_EQ(join_path("/bundle/", "../../etc/passwd"), "/bundle/etc/passwd");
    EXPECT_EQ(join_path("/sys/fs/cgroup/memory", "/"), "/sys/fs/cgroup/memory");
}

class RootTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/hako-fs-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ASSERT_EQ(::mkdir((dir_ + "/root").c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((dir_ + "/outside").c_str(), 0755), 0);
        auto fd = open_path(dir_ + "/root", O_PATH | O_DIRECTORY);
        ASSERT_TRUE(fd);
        root_ = std::move(*fd);
    }
    void TearDown() override { (void)remove_all(dir_); }
    std::string dir_;
    UniqueFd root_;
};

TEST_F(RootTest, SymlinkToTheHostStaysInsideTheRoot) {
    // A rootfs may plant "etc -> /outside-of-root": resolution must stay in the root.
    ASSERT_EQ(::symlink((dir_ + "/outside").c_str(), (dir_ + "/root/escape").c_str()), 0);
    auto made = mkdir_all_in_root(root_.get(), "/escape/x");
    struct stat st {};
    EXPECT_NE(::stat((dir_ + "/outside/x").c_str(), &st), 0) << "mkdir went outside the root";
    // The link's target is made inside the root, as runc does: never on the host.
    ASSERT_TRUE(made) << made.error().message();
    EXPECT_EQ(::stat((dir_ + "/root" + dir_ + "/outside/x").c_str(), &st), 0);
}

TEST_F(RootTest, SymlinkLoopsEnd) {
    ASSERT_EQ(::symlink("/b", (dir_ + "/root/a").c_str()), 0);
    ASSERT_EQ(::symlink("/a", (dir_ + "/root/b").c_str()), 0);
    auto made = mkdir_all_in_root(root_.get(), "/a/x");
    ASSERT_FALSE(made);
}

TEST_F(RootTest, SymlinkInsideTheRootIsFollowedThere) {
    ASSERT_EQ(::mkdir((dir_ + "/root/inside").c_str(), 0755), 0);
    ASSERT_EQ(::symlink("/inside", (dir_ + "/root/link").c_str()), 0);
    auto made = mkdir_all_in_root(root_.get(), "/link/x");
    ASSERT_TRUE(made) << made.error().message();
    struct stat st {};
    EXPECT_EQ(::stat((dir_ + "/root/inside/x").c_str(), &st), 0);
}

TEST_F(RootTest, DotDotCannotClimbOut) {
    auto fd = open_in_root(root_.get(), "/../../outside", O_PATH);
    EXPECT_FALSE(fd) << "resolved above the root";
}

TEST_F(RootTest, MakeFileCreatesParents) {
    auto fd = make_file_in_root(root_.get(), "/a/b/file");
    ASSERT_TRUE(fd) << fd.error().message();
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + "/root/a/b/file").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(RootTest, AFileInThePathIsReportedWithAHint) {
    ASSERT_TRUE(make_file_in_root(root_.get(), "/file"));
    auto made = mkdir_all_in_root(root_.get(), "/file/sub");
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().err, ENOTDIR);
    EXPECT_FALSE(made.error().hint.empty());
}

TEST(SysError, MessageCarriesOpPathErrnoAndHint) {
    SysError e{"mount devpts on", "/dev/pts (gid=5)", EINVAL, "gid 5 is not mapped"};
    EXPECT_EQ(e.message(),
              "mount devpts on /dev/pts (gid=5): Invalid argument — gid 5 is not mapped");
}

}  // namespace
}  // namespace sys
