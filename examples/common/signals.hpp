#pragma once
// Process signals as flags the main loop polls. A handler only stores to a
// lock-free atomic (async-signal-safe); all the work happens in the loop.
//
//   SIGTERM, SIGINT  -> stop_requested(): leave the loop, monitor.stop(), exit 0
//   SIGUSR2          -> hang_requested(): stop pulsing on purpose (see hang.hpp)
//   SIGUSR1          -> take_trigger(): the chaos monkey's "kill one now"
namespace example {

void install_signal_handlers();

bool stop_requested() noexcept;
bool hang_requested() noexcept;
// True once per SIGUSR1 received (several signals in a row may merge into one).
bool take_trigger() noexcept;

}  // namespace example
