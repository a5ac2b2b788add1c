// vigil_test_node: the smallest real service that links vigil, for the
// integration harness (cluster.py). Everything it knows comes from the
// environment (Config::load()), plus STATUS_FILE for the harness.
//
//   SIGTERM / SIGINT  graceful: monitor.stop() says goodbye, exit 0
//   SIGUSR1           the main loop stops pulsing forever (a hang), so
//                     apoptosis must end the process with _exit(1)
//   HARNESS_PID       if set and that process is gone, stop gracefully and
//                     exit 3: nodes run in their own sessions, so a harness
//                     killed by a ctest timeout could not clean them up
//
// The status file is JSON, rewritten atomically (temp + rename) about every
// STATUS_EVERY_MS (100 ms), so the harness can poll it without ever reading
// half a file. LOOP_STEP_MS (50 ms) is the main loop's step: the scale bench
// runs idle nodes that wake once a second, only to pulse.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "vigil/config.hpp"
#include "vigil/monitor.hpp"

namespace {

volatile std::sig_atomic_t g_stop_requested = 0;
volatile std::sig_atomic_t g_hang_requested = 0;

extern "C" void on_stop_signal(int) { g_stop_requested = 1; }
extern "C" void on_hang_signal(int) { g_hang_requested = 1; }

void install_signal_handlers() {
    struct sigaction action {};
    sigemptyset(&action.sa_mask);
    action.sa_handler = on_stop_signal;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    action.sa_handler = on_hang_signal;
    sigaction(SIGUSR1, &action, nullptr);
}

std::int64_t wall_clock_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

nlohmann::json status_json(const vigil::Status& status, bool hung, bool stopped) {
    nlohmann::json members = nlohmann::json::array();
    for (const vigil::MemberView& member : status.members) {
        members.push_back({{"name", member.name},
                           {"liveness", vigil::to_string(member.liveness)},
                           {"ever_heard", member.ever_heard},
                           {"silent_for_ms", member.silent_for.count()}});
    }
    return {{"name", status.node_name},
            {"pid", static_cast<long>(getpid())},
            {"written_ms", wall_clock_ms()},
            {"connected", status.connected},
            {"role", vigil::to_string(status.role)},
            {"leader", status.leader},
            {"term", status.term},
            {"restarts_issued", status.restarts_issued},
            {"restarts_failed", status.restarts_failed},
            {"reconnects", status.reconnects},
            {"drops", status.drops.total()},
            {"hears_itself", status.hears_itself},
            {"caution", status.caution},
            {"broker_events", status.broker_events},
            {"signals",
             {{"link_closed", status.signals.link_closed},
              {"stale", status.signals.stale},
              {"disproved", status.signals.disproved},
              {"confirmed", status.signals.confirmed}}},
            {"hung", hung},
            {"stopped", stopped},
            {"members", members}};
}

// Write to a private temp file, then rename over the target: readers see the
// old file or the new one, never a torn one. Failures are reported, not fatal:
// the harness then times out with the node's log in hand.
void write_status(const std::string& path, const nlohmann::json& status) {
    if (path.empty()) return;
    const std::string temp = path + ".tmp." + std::to_string(getpid());
    {
        std::ofstream out(temp, std::ios::trunc);
        // error_handler::replace: names are printable ASCII, but never let a
        // status dump throw.
        out << status.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        if (!out) {
            std::cerr << "test node: cannot write " << temp << '\n';
            return;
        }
    }
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        std::cerr << "test node: cannot rename " << temp << ": " << std::strerror(errno) << '\n';
    }
}

// kill(pid, 0) probes existence without signalling; EPERM still means alive.
bool harness_gone(pid_t harness) {
    return harness > 0 && kill(harness, 0) != 0 && errno == ESRCH;
}

long env_ms(const char* name, long fallback) {
    const char* value = std::getenv(name);
    return value && *value ? std::atol(value) : fallback;
}

}  // namespace

int main() {
    install_signal_handlers();
    const char* status_env = std::getenv("STATUS_FILE");
    const std::string status_path = status_env ? status_env : "";
    const char* harness_env = std::getenv("HARNESS_PID");
    const pid_t harness = harness_env ? static_cast<pid_t>(std::atol(harness_env)) : 0;

    vigil::Config config;
    try {
        config = vigil::Config::load();
    } catch (const vigil::ConfigError& error) {
        std::cerr << "test node: bad configuration: " << error.what() << '\n';
        return 2;
    }

    vigil::Monitor monitor{config};
    monitor.start();
    std::cerr << "test node: started as '" << config.node_name << "' pid " << getpid() << std::endl;

    const long loop_ms = std::max(1L, env_ms("LOOP_STEP_MS", 50));
    const auto loop_step = std::chrono::milliseconds(loop_ms);
    const long status_every_loops = std::max(1L, env_ms("STATUS_EVERY_MS", 100) / loop_ms);
    const long harness_every_loops = std::max(1L, 1000 / loop_ms);  // ~1 s
    bool hung = false;
    bool orphaned = false;
    for (long loop = 0; g_stop_requested == 0; ++loop) {
        if (loop % harness_every_loops == 0 && harness_gone(harness)) {
            orphaned = true;
            std::cerr << "test node: harness pid " << harness << " is gone, stopping" << std::endl;
            break;
        }
        if (g_hang_requested != 0 && !hung) {
            hung = true;
            std::cerr << "test node: SIGUSR1: the main loop stops pulsing now" << std::endl;
        }
        // A hang in the service's own code: the sidecar keeps heartbeating,
        // only the pulse stops, exactly what apoptosis exists for.
        if (!hung) monitor.pulse();
        if (loop % status_every_loops == 0) write_status(status_path, status_json(monitor.status(), hung, false));
        std::this_thread::sleep_for(loop_step);
    }

    std::cerr << "test node: stop requested, saying goodbye" << std::endl;
    monitor.stop();
    write_status(status_path, status_json(monitor.status(), hung, true));
    return orphaned ? 3 : 0;
}
