#pragma once
// Starting and ending the commands vigil runs (restarts, the Docker CLI):
// posix_spawnp, never a shell, each command in its own process group so that
// a timeout or a stop ends the command together with anything it started.
#include <sys/types.h>

#include <string>
#include <vector>

namespace vigil {

enum class ChildStdout {
    DevNull,  // output nobody reads (`docker restart` echoes the name)
    Pipe,     // output read by the caller through SpawnedChild::stdout_fd
};

struct SpawnedChild {
    pid_t pid = -1;
    int stdout_fd = -1;  // ChildStdout::Pipe only: the read end, O_NONBLOCK and O_CLOEXEC
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null, stderr
// inherited, default signal handling and an empty signal mask whatever the
// caller has, as the leader of a new process group. Returns 0, or an errno
// value (ENOENT: no such program) and then nothing was started.
int spawn_child(const std::vector<std::string>& argv, ChildStdout out, SpawnedChild& child);

// "exit 3", "signal 9": a wait status for a log.
std::string describe_wait_status(int status);

// Non-blocking: has `pid` ended? It is left unreaped, so that its pid (the id
// of its process group) cannot be reused before kill_group_and_reap().
// A child reaped elsewhere counts as ended.
bool has_exited(pid_t pid) noexcept;

// SIGKILL to what is left of the group (a command's own children may outlive
// it), then reaps the leader, blocking until it ends. Returns its wait status,
// or -1 if it had been reaped elsewhere (and then kills nothing).
int kill_group_and_reap(pid_t pid) noexcept;

}  // namespace vigil
