#include "common/signals.hpp"

#include <atomic>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace example {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_hang{false};
std::atomic<bool> g_trigger{false};
static_assert(std::atomic<bool>::is_always_lock_free, "signal handlers need lock-free flags");

extern "C" void on_signal(int signal_number) {
    switch (signal_number) {
        case SIGTERM:
        case SIGINT:
            g_stop.store(true);
            break;
        case SIGUSR2:
            g_hang.store(true);
            break;
        case SIGUSR1:
            g_trigger.store(true);
            break;
        default:
            break;
    }
}

void install(int signal_number) {
    struct sigaction action;
    std::memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    // SA_RESTART: a signal must not turn a blocking library call into an
    // error; every loop here polls the flags within a few hundred ms anyway.
    action.sa_flags = SA_RESTART;
    if (sigaction(signal_number, &action, nullptr) != 0) {
        throw std::runtime_error("sigaction failed");
    }
}

}  // namespace

void install_signal_handlers() {
    install(SIGTERM);
    install(SIGINT);
    install(SIGUSR1);
    install(SIGUSR2);
    // A broken data-plane socket must surface as an error code, not kill us.
    std::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() noexcept { return g_stop.load(); }
bool hang_requested() noexcept { return g_hang.load(); }
bool take_trigger() noexcept { return g_trigger.exchange(false); }

}  // namespace example
