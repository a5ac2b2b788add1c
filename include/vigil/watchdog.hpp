#pragma once
// Apoptosis check: when was the main loop last seen alive, and is that too
// long ago? pulse(now) is one relaxed atomic store, safe from any thread;
// expired() is a comparison. Unarmed until the first pulse, so a long
// start-up never trips it. (Monitor::pulse() does not even read the clock:
// it raises a flag that the watchdog thread turns into pulse(now).)
#include <atomic>
#include <cstdint>
#include <optional>

#include "vigil/time.hpp"

namespace vigil {

class Watchdog {
public:
    explicit Watchdog(Millis timeout) noexcept : timeout_(timeout) {}

    void pulse(Millis now) noexcept {
        last_pulse_ms_.store(now.count(), std::memory_order_relaxed);
    }
    bool armed() const noexcept {
        return last_pulse_ms_.load(std::memory_order_relaxed) != kUnarmed;
    }
    // How long since the last pulse; empty while unarmed.
    std::optional<Millis> silent_for(Millis now) const noexcept {
        const std::int64_t last = last_pulse_ms_.load(std::memory_order_relaxed);
        if (last == kUnarmed) return std::nullopt;
        return now > Millis{last} ? now - Millis{last} : Millis{0};
    }
    bool expired(Millis now) const noexcept {
        const auto silent = silent_for(now);
        return silent && *silent > timeout_;
    }
    Millis timeout() const noexcept { return timeout_; }

private:
    static constexpr std::int64_t kUnarmed = INT64_MIN;
    Millis timeout_;
    std::atomic<std::int64_t> last_pulse_ms_{kUnarmed};
};

}  // namespace vigil
