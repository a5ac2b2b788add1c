#pragma once
// The chaos monkey's loop: every CHAOS_INTERVAL (when CHAOS_ENABLED) and on
// each SIGUSR1, kill one random container of this deployment.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "chaos_monkey/docker_cli.hpp"
#include "common/hang.hpp"
#include "common/settings.hpp"
#include "vigil/monitor.hpp"

namespace example {

struct ChaosSettings {
    bool enabled = false;                       // CHAOS_ENABLED
    std::chrono::milliseconds interval{30000};  // CHAOS_INTERVAL (seconds unless a unit is given)
    std::optional<std::uint64_t> seed;          // CHAOS_SEED
    std::string project;  // COMPOSE_PROJECT, else VIGIL_DEPLOYMENT, else our container's label
    std::string docker = "docker";              // CHAOS_DOCKER: the docker CLI to run
    std::chrono::milliseconds docker_timeout{15000};  // CHAOS_DOCKER_TIMEOUT

    static ChaosSettings from(const Settings& settings);
};

class ChaosApp {
public:
    ChaosApp(ChaosSettings settings, vigil::Monitor& monitor, const HangSwitch& hang_switch);
    int run();  // until SIGTERM/SIGINT

private:
    using Clock = std::chrono::steady_clock;

    void strike(const char* trigger);
    std::optional<std::string> project();

    ChaosSettings settings_;
    vigil::Monitor& monitor_;
    const HangSwitch& hang_switch_;
    DockerCli docker_;
    std::mt19937_64 rng_;
    std::string self_name_;
    std::string project_;  // resolved once, then cached
    std::uint64_t kills_ = 0;
};

}  // namespace example
