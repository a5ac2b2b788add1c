#include "restarter.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "spawn.hpp"

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
    SpawnedChild child;
    if (const int error = spawn_child(*argv, ChildStdout::DevNull, child); error != 0) {
        why = "cannot run " + argv->front() + ": " + std::strerror(error);
        return Start::Failed;
    }
    children_.push_back(Child{child.pid, name, now + config_.timeout});
    return Start::Started;
}

std::vector<Restarter::Finished> Restarter::poll(Millis now) {
    std::vector<Finished> finished;
    for (auto it = children_.begin(); it != children_.end();) {
        int status = 0;
        const pid_t reaped = waitpid(it->pid, &status, WNOHANG);
        if (reaped == it->pid || (reaped < 0 && errno == ECHILD)) {
            const bool ok = reaped == it->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
            std::string detail = reaped == it->pid ? describe_wait_status(status) : "lost (reaped elsewhere)";
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
