#include "chaos_monkey/chaos_app.hpp"

#include <spdlog/spdlog.h>

#include "common/app.hpp"
#include "common/signals.hpp"

namespace example {

ChaosSettings ChaosSettings::from(const Settings& settings) {
    ChaosSettings s;
    s.enabled = settings.get_bool("CHAOS_ENABLED", s.enabled);
    s.interval = settings.get_duration("CHAOS_INTERVAL", s.interval);
    if (s.interval < std::chrono::milliseconds{1000}) {
        throw vigil::ConfigError("CHAOS_INTERVAL: at least 1 s, got " + std::to_string(s.interval.count()) + " ms");
    }
    if (settings.raw("CHAOS_SEED")) {
        s.seed = settings.get_uint("CHAOS_SEED", 0, 0, UINT64_MAX);
    }
    // The compose generator passes the project as VIGIL_DEPLOYMENT.
    s.project = settings.get_string("COMPOSE_PROJECT", settings.get_string("VIGIL_DEPLOYMENT", ""));
    s.docker = settings.get_string("CHAOS_DOCKER", s.docker);
    s.docker_timeout = settings.get_duration("CHAOS_DOCKER_TIMEOUT", s.docker_timeout);
    return s;
}

ChaosApp::ChaosApp(ChaosSettings settings, vigil::Monitor& monitor, const HangSwitch& hang_switch)
    : settings_(std::move(settings)),
      monitor_(monitor),
      hang_switch_(hang_switch),
      docker_(settings_.docker, settings_.docker_timeout, [this] { monitor_.pulse(); }),
      self_name_(monitor.config().node_name),
      project_(settings_.project) {
    const std::uint64_t seed = settings_.seed ? *settings_.seed : (std::uint64_t{std::random_device{}()} << 32U) ^
                                                                      std::uint64_t{std::random_device{}()};
    rng_.seed(seed);
    // Logged even when random, so that any run can be replayed with CHAOS_SEED.
    spdlog::info("chaos seed {}{}", seed, settings_.seed ? " (CHAOS_SEED)" : "");
}

std::optional<std::string> ChaosApp::project() {
    if (project_.empty()) {
        // Ask docker which compose project our own container belongs to.
        if (const auto label = docker_.project_of(self_name_); label && !label->empty()) {
            project_ = *label;
            spdlog::info("deployment: compose project '{}' (from {}'s label)", project_, self_name_);
        }
    }
    if (project_.empty()) {
        // Without the project every container on the host would be fair game.
        spdlog::error("cannot tell which deployment I belong to: set COMPOSE_PROJECT; not killing anything");
        return std::nullopt;
    }
    return project_;
}

void ChaosApp::strike(const char* trigger) {
    const auto compose_project = project();
    if (!compose_project) {
        return;
    }
    const auto rows = docker_.list_project(*compose_project);
    if (!rows) {
        return;
    }
    const auto target = choose_target(*rows, self_name_, rng_);
    if (!target) {
        spdlog::warn("CHAOS ({}): no eligible target among {} running containers of '{}'", trigger, rows->size(),
                     *compose_project);
        return;
    }
    spdlog::info("CHAOS ({}): killing container {} (role {})", trigger, target->name, target->role);
    if (docker_.kill(target->name)) {
        ++kills_;
        spdlog::info("CHAOS: killed {} ({} kills so far)", target->name, kills_);
    }
}

int ChaosApp::run() {
    if (settings_.enabled) {
        spdlog::info("chaos enabled: one kill every {} ms; SIGUSR1 kills one at once", settings_.interval.count());
    } else {
        spdlog::info("chaos disabled (CHAOS_ENABLED=false): idling; SIGUSR1 still kills one at once");
    }
    auto next_strike = Clock::now() + settings_.interval;
    while (!stop_requested()) {
        hang_switch_.hang_if_requested();
        monitor_.pulse();
        if (take_trigger()) {
            strike("SIGUSR1");
        }
        if (settings_.enabled && Clock::now() >= next_strike) {
            strike("interval");
            next_strike = Clock::now() + settings_.interval;
        }
        sleep_pulsing(monitor_, std::chrono::milliseconds{200});
    }
    return 0;
}

}  // namespace example
