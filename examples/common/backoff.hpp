#pragma once
// Reconnect pacing: the first retry after `initial`, doubling up to `max`,
// back to `initial` after a success. The caller keeps pulsing meanwhile,
// so a long broker outage never looks like a hang.
#include <algorithm>
#include <chrono>

namespace example {

class Backoff {
public:
    using Clock = std::chrono::steady_clock;

    Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
        : initial_(initial), max_(std::max(max, initial)), delay_(initial) {}

    bool due(Clock::time_point now) const { return now >= next_attempt_; }
    // Schedules the next attempt; returns how long until then.
    std::chrono::milliseconds failed(Clock::time_point now) {
        const auto wait = delay_;
        next_attempt_ = now + wait;
        delay_ = std::min(delay_ * 2, max_);
        return wait;
    }
    void succeeded() {
        delay_ = initial_;
        next_attempt_ = Clock::time_point{};
    }

private:
    std::chrono::milliseconds initial_;
    std::chrono::milliseconds max_;
    std::chrono::milliseconds delay_;
    Clock::time_point next_attempt_{};
};

}  // namespace example
