#pragma once
// Small pieces every example main() needs.
#include <chrono>
#include <functional>
#include <string>

#include "common/settings.hpp"
#include "vigil/monitor.hpp"

namespace example {

// One log format for all three apps; the app name makes `docker compose logs`
// and mixed local runs readable.
void setup_logging(const std::string& app_name);

// QUEUE_PREFIX + base: lets tests and parallel local runs use their own queues.
std::string queue_name(const Settings& settings, const std::string& base);

// Sleeps `total`, pulsing every 100 ms; returns early on SIGTERM/SIGINT.
void sleep_pulsing(vigil::Monitor& monitor, std::chrono::milliseconds total);


// The shared skeleton of main(): logging, signal handlers, settings, the vigil
// Monitor (started before `body`, stopped gracefully after it), and exit codes:
// body's result, 2 for a configuration error, 1 for any other exception. An
// exception out of `body` ends the process at once, without a goodbye, so the
// leader restarts it as it would a crash.
using AppBody = std::function<int(const Settings& settings, vigil::Monitor& monitor)>;
int run_app(const std::string& app_name, const AppBody& body);

}  // namespace example
