#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

extern char** environ;

namespace vigil {
namespace {

// posix_spawn attributes and file actions, released on every path out.
class SpawnAttributes {
public:
    SpawnAttributes() {
        posix_spawnattr_init(&attr_);
        posix_spawn_file_actions_init(&actions_);
        sigset_t defaults;
        sigfillset(&defaults);
        sigset_t empty;
        sigemptyset(&empty);
        posix_spawnattr_setsigdefault(&attr_, &defaults);
        posix_spawnattr_setsigmask(&attr_, &empty);
        posix_spawnattr_setpgroup(&attr_, 0);
        posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    }
    ~SpawnAttributes() {
        posix_spawn_file_actions_destroy(&actions_);
        posix_spawnattr_destroy(&attr_);
    }
    SpawnAttributes(const SpawnAttributes&) = delete;
    SpawnAttributes& operator=(const SpawnAttributes&) = delete;
    const posix_spawnattr_t* attr() const { return &attr_; }
    const posix_spawn_file_actions_t* actions() const { return &actions_; }
    posix_spawn_file_actions_t* actions() { return &actions_; }

private:
    posix_spawnattr_t attr_;
    posix_spawn_file_actions_t actions_;
};

}  // namespace

int spawn_child(const std::vector<std::string>& argv, ChildStdout out, SpawnedChild& child) {
    child = SpawnedChild{};
    if (argv.empty()) return EINVAL;
    std::vector<char*> raw;
    raw.reserve(argv.size() + 1);
    for (const std::string& word : argv) raw.push_back(const_cast<char*>(word.c_str()));
    raw.push_back(nullptr);

    SpawnAttributes spawn;
    int pipe_ends[2] = {-1, -1};
    if (out == ChildStdout::Pipe) {
        // CLOEXEC from the start: no other child (a restart spawned by another
        // thread) inherits either end, or our reader would never see EOF.
        if (pipe2(pipe_ends, O_CLOEXEC) != 0) return errno;
        // Only our end is non-blocking: the child writes as to any pipe.
        fcntl(pipe_ends[0], F_SETFL, fcntl(pipe_ends[0], F_GETFL) | O_NONBLOCK);
        // dup2 clears CLOEXEC on the child's stdout only (glibc does so even
        // when the write end is fd 1 already, in a daemon that closed its own).
        posix_spawn_file_actions_adddup2(spawn.actions(), pipe_ends[1], STDOUT_FILENO);
    } else {
        posix_spawn_file_actions_addopen(spawn.actions(), STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    }
    pid_t pid = 0;
    const int error = posix_spawnp(&pid, raw[0], spawn.actions(), spawn.attr(), raw.data(), environ);
    if (pipe_ends[1] >= 0) close(pipe_ends[1]);  // the child holds the write end now
    if (error != 0) {
        if (pipe_ends[0] >= 0) close(pipe_ends[0]);
        return error;
    }
    child.pid = pid;
    child.stdout_fd = pipe_ends[0];
    return 0;
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

bool has_exited(pid_t pid) noexcept {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
    return info.si_pid == pid;
}

int kill_group_and_reap(pid_t pid) noexcept {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD) {
        return -1;  // reaped elsewhere: its id may be another process's group by now
    }
    kill(-pid, SIGKILL);
    int status = 0;
    pid_t reaped;
    do {
        reaped = waitpid(pid, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    return reaped == pid ? status : -1;
}

}  // namespace vigil
