#include "chaos_monkey/docker_cli.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "chaos_monkey/process.hpp"

namespace example {
namespace {

constexpr const char* kProjectLabel = "com.docker.compose.project";

std::string trim_newlines(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.pop_back();
    }
    return text;
}

void log_failure(const std::vector<std::string>& argv, const ProcessResult& result) {
    const std::string what = argv.size() > 1 ? argv[0] + " " + argv[1] : argv[0];
    if (!result.started) {
        spdlog::error("cannot run {}", argv[0]);
    } else if (result.timed_out) {
        spdlog::error("{} timed out and was killed", what);
    } else {
        spdlog::error("{} failed with exit code {}", what, result.exit_code);
    }
}

}  // namespace

bool is_valid_project_name(const std::string& project) noexcept {
    auto allowed = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; };
    return !project.empty() && project.size() <= 64 && project.front() != '_' && project.front() != '-' &&
           std::all_of(project.begin(), project.end(), allowed);
}

DockerCli::DockerCli(std::string docker_binary, std::chrono::milliseconds timeout,
                     std::function<void()> while_waiting)
    : docker_(std::move(docker_binary)), timeout_(timeout), while_waiting_(std::move(while_waiting)) {}

std::optional<std::vector<ContainerRow>> DockerCli::list_project(const std::string& project) {
    if (!is_valid_project_name(project)) {
        spdlog::error("refusing an odd compose project name ({} bytes)", project.size());
        return std::nullopt;
    }
    const std::vector<std::string> argv{docker_, "ps", "--filter", std::string("label=") + kProjectLabel + "=" + project,
                                        "--format", "{{.Names}}\t{{.Label \"vigil.role\"}}"};
    const ProcessResult result = run_process(argv, timeout_, while_waiting_);
    if (!result.ok()) {
        log_failure(argv, result);
        return std::nullopt;
    }
    return parse_ps_output(result.output);
}

std::optional<std::string> DockerCli::project_of(const std::string& container) {
    if (!is_valid_container_name(container)) {
        return std::nullopt;
    }
    const std::vector<std::string> argv{docker_, "inspect", "--format",
                                        std::string("{{index .Config.Labels \"") + kProjectLabel + "\"}}", "--",
                                        container};
    const ProcessResult result = run_process(argv, timeout_, while_waiting_);
    if (!result.ok()) {
        log_failure(argv, result);
        return std::nullopt;
    }
    return trim_newlines(result.output);
}

bool DockerCli::kill(const std::string& container) {
    if (!is_valid_container_name(container)) {
        return false;
    }
    const std::vector<std::string> argv{docker_, "kill", "--", container};
    const ProcessResult result = run_process(argv, timeout_, while_waiting_);
    if (!result.ok()) {
        log_failure(argv, result);
        return false;
    }
    return true;
}

}  // namespace example
