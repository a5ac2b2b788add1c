#include "common/app.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "common/signals.hpp"

namespace example {

void setup_logging(const std::string& app_name) {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e [%l] [" + app_name + "] %v");
    // Lines reach `docker logs` at once, and survive a SIGKILL right after.
    spdlog::flush_on(spdlog::level::info);
}

std::string queue_name(const Settings& settings, const std::string& base) {
    return settings.get_string("QUEUE_PREFIX", "") + base;
}

void sleep_pulsing(vigil::Monitor& monitor, std::chrono::milliseconds total) {
    constexpr std::chrono::milliseconds slice{100};
    const auto deadline = std::chrono::steady_clock::now() + total;
    while (!stop_requested()) {
        monitor.pulse();
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            return;
        }
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(slice, deadline - now));
    }
}


int run_app(const std::string& app_name, const AppBody& body) {
    setup_logging(app_name);
    try {
        install_signal_handlers();
        const Settings settings = Settings::load();
        vigil::Monitor monitor{vigil::Config::load()};
        spdlog::info("starting as {}", monitor.config().node_name);
        monitor.start();
        int code = 1;
        try {
            code = body(settings, monitor);
        } catch (const vigil::ConfigError& error) {
            // A bad app setting: restarting would not help, so stop on purpose.
            spdlog::critical("configuration error: {}", error.what());
            monitor.stop();
            return 2;
        } catch (const std::exception& error) {
            // Die like a crash, without the goodbye that ~Monitor would send:
            // a process that failed unexpectedly is to be restarted.
            spdlog::critical("fatal: {}", error.what());
            spdlog::default_logger()->flush();
            std::_Exit(1);
        }
        spdlog::info("stopping (exit code {})", code);
        monitor.stop();  // says goodbye: a stop on purpose is not resurrected
        return code;
    } catch (const vigil::ConfigError& error) {
        spdlog::critical("configuration error: {}", error.what());
        return 2;
    } catch (const std::exception& error) {
        spdlog::critical("fatal: {}", error.what());
        return 1;
    }
}

}  // namespace example
