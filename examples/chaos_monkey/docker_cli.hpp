#pragma once
// The few docker CLI calls the chaos monkey makes, each an argv with "--"
// before any container name, so a name can never be read as an option.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "chaos_monkey/targets.hpp"

namespace example {

// Compose project names: [a-z0-9][a-z0-9_-]*, at most 64 bytes.
bool is_valid_project_name(const std::string& project) noexcept;

class DockerCli {
public:
    DockerCli(std::string docker_binary, std::chrono::milliseconds timeout, std::function<void()> while_waiting);

    // Running containers of one compose project, with their vigil.role label.
    std::optional<std::vector<ContainerRow>> list_project(const std::string& project);
    // The compose project label of a container ("" when it has none).
    std::optional<std::string> project_of(const std::string& container);
    bool kill(const std::string& container);

private:
    std::string docker_;
    std::chrono::milliseconds timeout_;
    std::function<void()> while_waiting_;
};

}  // namespace example
