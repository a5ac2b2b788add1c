#include "chaos_monkey/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

extern char** environ;

namespace example {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPollMs = 100;

// Owns the spawn attributes and file actions, so every exit path frees them.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Drains what is readable now; false at end of file or on a read error.
bool read_available(int fd, std::string& output, std::size_t max_output) {
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
        return errno == EINTR || errno == EAGAIN;
    }
    if (n == 0) {
        return false;
    }
    const auto count = static_cast<std::size_t>(n);
    if (output.size() < max_output) {
        output.append(buffer, std::min(count, max_output - output.size()));
    }
    return true;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::function<void()>& while_waiting, std::size_t max_output) {
    ProcessResult result;
    if (argv.empty()) {
        return result;
    }
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return result;
    }
    SpawnSetup setup;
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, pipe_fds[1], STDOUT_FILENO);
    // The child gets default signal dispositions (we ignore SIGPIPE) and an
    // empty mask, whatever this process has set up.
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigset_t empty_mask;
    sigemptyset(&empty_mask);
    posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
    posix_spawnattr_setsigmask(&setup.attributes, &empty_mask);
    posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<char*> c_argv;
    c_argv.reserve(argv.size() + 1);
    for (const auto& word : argv) {
        c_argv.push_back(const_cast<char*>(word.c_str()));
    }
    c_argv.push_back(nullptr);

    pid_t pid = -1;
    const int spawn_error =
        posix_spawnp(&pid, c_argv[0], &setup.actions, &setup.attributes, c_argv.data(), environ);
    ::close(pipe_fds[1]);
    if (spawn_error != 0) {
        ::close(pipe_fds[0]);
        return result;
    }
    result.started = true;

    const auto deadline = Clock::now() + timeout;
    bool reading = true;
    int status = 0;
    bool reaped = false;
    // Bounded by the deadline: every round waits at most kPollMs.
    while (!reaped) {
        if (while_waiting) {
            while_waiting();
        }
        if (Clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            result.timed_out = true;
            ::waitpid(pid, &status, 0);  // SIGKILL cannot be ignored: returns promptly
            reaped = true;
            break;
        }
        if (reading) {
            pollfd entry{pipe_fds[0], POLLIN, 0};
            const int ready = ::poll(&entry, 1, kPollMs);
            if (ready > 0) {
                reading = read_available(pipe_fds[0], result.output, max_output);
            }
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds{kPollMs / 4});
        }
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            reaped = true;
        }
    }
    // Whatever the child wrote right before exiting.
    if (!result.timed_out) {
        for (int round = 0; round < 256 && reading; ++round) {
            pollfd entry{pipe_fds[0], POLLIN, 0};
            reading = ::poll(&entry, 1, 0) > 0 && read_available(pipe_fds[0], result.output, max_output);
        }
    }
    ::close(pipe_fds[0]);
    if (!result.timed_out && WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
    }
    return result;
}

}  // namespace example
