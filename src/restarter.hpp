#pragma once
// Restart back-end adapter: runs `docker restart -- <name>` or a configured
// argv template through posix_spawn (never a shell), without waiting for it.
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "vigil/config.hpp"
#include "vigil/time.hpp"

namespace vigil {

// Docker's own rule for container names; anything else is refused for the
// docker back-end, so no name can reach the CLI as an option.
bool is_docker_container_name(const std::string& name) noexcept;

// Pure: the argv that restarts `name`, or nothing (and why) if the back-end
// refuses the name or has no command.
std::optional<std::vector<std::string>> restart_argv(const RestartConfig& config, const std::string& name,
                                                     std::string& why);

class Restarter {
public:
    struct Finished {
        std::string name;
        bool ok = false;
        std::string detail;  // "exit 0", "exit 3", "timed out", "signal 9"
    };

    static constexpr std::size_t kMaxInFlight = 16;

    explicit Restarter(RestartConfig config) : config_(std::move(config)) {}
    ~Restarter();
    Restarter(const Restarter&) = delete;
    Restarter& operator=(const Restarter&) = delete;

    // Started: running, returns at once. Postponed (with why): no room, or a
    // restart of that name is still running; not a failure of the node.
    // Failed (with why): the name is refused or the command cannot run.
    enum class Start { Started, Postponed, Failed };
    Start start(const std::string& name, Millis now, std::string& why);
    // Reaps commands that ended; kills (whole process group) those past the timeout.
    std::vector<Finished> poll(Millis now);
    bool busy() const noexcept { return !children_.empty(); }

private:
    struct Child {
        pid_t pid;
        std::string name;
        Millis deadline;
        bool killed = false;
    };
    RestartConfig config_;
    std::vector<Child> children_;
};

}  // namespace vigil
