#include "common/hang.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <thread>

#include "common/signals.hpp"

namespace example {

HangSwitch::HangSwitch(const Settings& settings) {
    if (settings.raw("HANG_AFTER_SECONDS")) {
        hang_after_ = std::chrono::seconds{static_cast<std::chrono::seconds::rep>(
            settings.get_uint("HANG_AFTER_SECONDS", 0, 0, 365ULL * 24 * 3600))};
    }
    max_hang_ = std::chrono::seconds{static_cast<std::chrono::seconds::rep>(
        settings.get_uint("HANG_MAX_SECONDS", 3600, 1, 7ULL * 24 * 3600))};
}

bool HangSwitch::should_hang() const {
    if (hang_requested()) {
        return true;
    }
    return hang_after_ && std::chrono::steady_clock::now() - started_ >= *hang_after_;
}

void hang_forever(std::chrono::seconds max_hang) {
    spdlog::warn("HANGING ON PURPOSE: the main loop stops calling pulse(); apoptosis should end this process");
    spdlog::default_logger()->flush();
    const auto deadline = std::chrono::steady_clock::now() + max_hang;
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::seconds{1});
    }
    spdlog::critical("still alive after hanging {} s: apoptosis did not fire", max_hang.count());
    spdlog::default_logger()->flush();
    std::_Exit(3);
}

void HangSwitch::hang_if_requested() const {
    if (should_hang()) {
        hang_forever(max_hang_);
    }
}

}  // namespace example
