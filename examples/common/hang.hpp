#pragma once
// Hanging on purpose, to show apoptosis: SIGUSR2 at any time, or
// HANG_AFTER_SECONDS=<n> in the environment (or INI). Once triggered, the
// main loop calls hang_forever() and never pulses again, so the vigil
// sidecar's watchdog kills the process after PULSE_TIMEOUT and the leader
// restarts it.
#include <chrono>
#include <optional>

#include "common/settings.hpp"

namespace example {

class HangSwitch {
public:
    explicit HangSwitch(const Settings& settings);
    // True when SIGUSR2 arrived or HANG_AFTER_SECONDS have passed since start.
    bool should_hang() const;
    // Call once per loop iteration: hangs (never returns) when should_hang().
    void hang_if_requested() const;

private:
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::optional<std::chrono::seconds> hang_after_;
    std::chrono::seconds max_hang_{3600};
};

// Sleeps without pulsing. Bounded: if apoptosis has not ended the process after
// HANG_MAX_SECONDS (default 3600) something is wrong with vigil; exit(3) says so.
[[noreturn]] void hang_forever(std::chrono::seconds max_hang);

}  // namespace example
