#include "restarter.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace vigil {
namespace {

std::string substitute(const std::string& word, const std::string& name) {
    std::string out;
    const std::string placeholder = "{name}";
    std::size_t from = 0;
    for (std::size_t at; (at = word.find(placeholder, from)) != std::string::npos; from = at + placeholder.size()) {
        out.append(word, from, at - from);
        out += name;
    }
    out.append(word, from, std::string::npos);
    return out;
}

std::string describe(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

// posix_spawn attributes: own process group (so a timeout kills the whole
// command), default signal handling and an empty mask whatever the parent has.
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
        // `docker restart` echoes the name on stdout; errors still reach our stderr.
        posix_spawn_file_actions_addopen(&actions_, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    }
    ~SpawnAttributes() {
        posix_spawn_file_actions_destroy(&actions_);
        posix_spawnattr_destroy(&attr_);
    }
    SpawnAttributes(const SpawnAttributes&) = delete;
    SpawnAttributes& operator=(const SpawnAttributes&) = delete;
    const posix_spawnattr_t* attr() const { return &attr_; }
    const posix_spawn_file_actions_t* actions() const { return &actions_; }

private:
    posix_spawnattr_t attr_;
    posix_spawn_file_actions_t actions_;
};

}  // namespace

bool is_docker_container_name(const std::string& name) noexcept {
    // Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (we also accept one character).
    if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
    for (const char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
    }
    return true;
}

std::optional<std::vector<std::string>> restart_argv(const RestartConfig& config, const std::string& name,
                                                     std::string& why) {
    switch (config.backend) {
        case RestartBackend::None:
            why = "RESTART_BACKEND=none";
            return std::nullopt;
        case RestartBackend::Docker:
            if (!is_docker_container_name(name)) {
                why = "not a valid Docker container name";
                return std::nullopt;
            }
            // "--" ends option parsing: the name is an operand whatever it holds.
            return std::vector<std::string>{"docker", "restart", "--", name};
        case RestartBackend::Command: {
            if (config.command.empty()) {
                why = "RESTART_COMMAND is empty";
                return std::nullopt;
            }
            std::vector<std::string> argv;
            argv.reserve(config.command.size());
            for (const std::string& word : config.command) argv.push_back(substitute(word, name));
            return argv;
        }
    }
    why = "unknown back-end";
    return std::nullopt;
}

Restarter::~Restarter() {
    // Reap what has already ended; a command still running is left to finish.
    for (const Child& child : children_) waitpid(child.pid, nullptr, WNOHANG);
}

Restarter::Start Restarter::start(const std::string& name, Millis now, std::string& why) {
    if (std::any_of(children_.begin(), children_.end(), [&](const Child& c) { return c.name == name; })) {
        why = "a restart of " + name + " is still running";
        return Start::Postponed;
    }
    if (children_.size() >= kMaxInFlight) {
        why = std::to_string(kMaxInFlight) + " restarts in flight already";
        return Start::Postponed;
    }
    const auto argv = restart_argv(config_, name, why);
    if (!argv) return Start::Failed;
    std::vector<char*> raw;
    raw.reserve(argv->size() + 1);
    for (const std::string& word : *argv) raw.push_back(const_cast<char*>(word.c_str()));
    raw.push_back(nullptr);

    const SpawnAttributes spawn;
    pid_t pid = 0;
    const int error = posix_spawnp(&pid, raw[0], spawn.actions(), spawn.attr(), raw.data(), environ);
    if (error != 0) {
        why = std::string("cannot run ") + raw[0] + ": " + std::strerror(error);
        return Start::Failed;
    }
    children_.push_back(Child{pid, name, now + config_.timeout});
    return Start::Started;
}

std::vector<Restarter::Finished> Restarter::poll(Millis now) {
    std::vector<Finished> finished;
    for (auto it = children_.begin(); it != children_.end();) {
        int status = 0;
        const pid_t reaped = waitpid(it->pid, &status, WNOHANG);
        if (reaped == it->pid || (reaped < 0 && errno == ECHILD)) {
            const bool ok = reaped == it->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
            std::string detail = reaped == it->pid ? describe(status) : "lost (reaped elsewhere)";
            if (it->killed) detail = "timed out";
            finished.push_back(Finished{it->name, ok && !it->killed, detail});
            it = children_.erase(it);
            continue;
        }
        if (!it->killed && now >= it->deadline) {
            kill(-it->pid, SIGKILL);  // the whole group: the command and its children
            it->killed = true;
        }
        ++it;
    }
    return finished;
}

}  // namespace vigil
