#pragma once
// Apoptosis check: when was the main loop last seen alive, and is that too
// long ago? pulse(now) is one relaxed atomic store, safe from any thread;
// expired() is a comparison. Unarmed until the first pulse, so a long
// start-up never trips it. (Monitor::pulse() reads the coarse monotonic
// clock, a read of the vDSO page, so the watchdog thread can sleep until
// the deadline instead of waking to stamp pulses.)
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <optional>

#include "vigil/time.hpp"

namespace vigil {

class Watchdog {
public:
    explicit Watchdog(Millis timeout) noexcept : timeout_(timeout), max_gap_(max_gap_for(timeout)) {}

    // The longest the watchdog thread sleeps (it wakes sooner for a deadline):
    // a tenth of the timeout, within 10..500 ms. A check later than max_gap
    // after the one before means the whole process was stopped (SIGSTOP,
    // docker pause, a suspended VM), not just its main loop: that silence is
    // not the main loop's to answer for.
    static Millis step_for(Millis timeout) noexcept {
        return std::clamp(timeout / 10, Millis{10}, Millis{500});
    }
    static Millis max_gap_for(Millis timeout) noexcept { return std::max(Millis{1000}, 5 * step_for(timeout)); }

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
    // How long the checking thread may sleep from `now`: to just past the
    // deadline, and at most a step.
    Millis sleep_from(Millis now) const noexcept {
        const Millis step = step_for(timeout_);
        const auto silent = silent_for(now);
        if (!silent) return step;
        return std::clamp(timeout_ - *silent + Millis{1}, Millis{1}, step);
    }
    bool expired(Millis now) const noexcept {
        const auto silent = silent_for(now);
        return silent && *silent > timeout_;
    }
    // The apoptosis check, run every step by one thread: expired(), counting
    // only silence during which the checks ran. After a gap (the process was
    // stopped and is running again) the stopped time is forgiven, so a paused
    // deployment does not kill itself all at once when it resumes.
    bool check(Millis now) noexcept {
        if (last_check_ && now - *last_check_ > max_gap_) forgive(now - *last_check_, now);
        last_check_ = now;
        return expired(now);
    }
    Millis timeout() const noexcept { return timeout_; }

private:
    // The last pulse moves later by the gap (never past now; a pulse stored
    // meanwhile makes the exchange retry with it).
    void forgive(Millis gap, Millis now) noexcept {
        std::int64_t last = last_pulse_ms_.load(std::memory_order_relaxed);
        while (last != kUnarmed &&
               !last_pulse_ms_.compare_exchange_weak(last, std::min(last + gap.count(), now.count()),
                                                     std::memory_order_relaxed)) {
        }
    }

    static constexpr std::int64_t kUnarmed = INT64_MIN;
    Millis timeout_;
    Millis max_gap_;
    std::optional<Millis> last_check_;  // check()'s state: one thread only
    std::atomic<std::int64_t> last_pulse_ms_{kUnarmed};
};

}  // namespace vigil
