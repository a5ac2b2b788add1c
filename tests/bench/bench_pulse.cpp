// vigil_bench_pulse: what Monitor::pulse() costs the service's main loop.
// Prints ns per call; asserts nothing about speed (numbers vary by machine).
//
//   vigil_bench_pulse [calls]          default 20,000,000 per run
//
// The monitor is constructed but not started: pulse() is the same coarse
// clock read and atomic store either way, and an idle monitor needs no
// broker. For scale it also times a bare steady_clock read, a coarse
// monotonic clock read and a bare relaxed atomic store: pulse() is the last
// two (so that the watchdog can sleep until the deadline).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "vigil/config.hpp"
#include "vigil/monitor.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Runs `body(calls)` on `threads` threads started together; ns per call per thread.
template <typename Body>
double time_per_call_ns(int threads, std::int64_t calls, Body body) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<double> elapsed_ns(static_cast<std::size_t>(threads));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            ready.fetch_add(1);
            while (!go.load()) std::this_thread::yield();
            const auto start = Clock::now();
            body(calls);
            elapsed_ns[static_cast<std::size_t>(t)] =
                static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
        });
    }
    while (ready.load() < threads) std::this_thread::yield();
    go.store(true);
    for (std::thread& worker : workers) worker.join();
    double worst = 0;
    for (const double ns : elapsed_ns) worst = std::max(worst, ns);
    return worst / static_cast<double>(calls);
}

void report(const char* what, int threads, double ns) {
    std::printf("%-34s threads=%d  %7.2f ns/call\n", what, threads, ns);
}

}  // namespace

int main(int argc, char** argv) {
    const std::int64_t calls = argc > 1 ? std::atoll(argv[1]) : 20'000'000;
    if (calls <= 0) {
        std::fprintf(stderr, "usage: %s [calls > 0]\n", argv[0]);
        return 2;
    }
    vigil::Config config;
    config.node_name = "bench";
    config.restart.backend = vigil::RestartBackend::None;
    vigil::Monitor monitor{config};

    std::atomic<std::int64_t> sink{0};
    volatile std::int64_t clock_sink = 0;
    std::printf("vigil pulse() micro-benchmark, %lld calls per thread per run\n", static_cast<long long>(calls));
    for (const int threads : {1, 2}) {
        report("steady_clock::now()", threads, time_per_call_ns(threads, calls, [&](std::int64_t n) {
                   for (std::int64_t i = 0; i < n; ++i) clock_sink = Clock::now().time_since_epoch().count();
               }));
        report("clock_gettime(CLOCK_MONOTONIC_COARSE)", threads, time_per_call_ns(threads, calls, [&](std::int64_t n) {
                   timespec now{};
                   for (std::int64_t i = 0; i < n; ++i) {
                       clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
                       clock_sink = now.tv_nsec;
                   }
               }));
        report("relaxed atomic store (shared)", threads, time_per_call_ns(threads, calls, [&](std::int64_t n) {
                   for (std::int64_t i = 0; i < n; ++i) sink.store(i, std::memory_order_relaxed);
               }));
        report("Monitor::pulse()", threads, time_per_call_ns(threads, calls, [&](std::int64_t n) {
                   for (std::int64_t i = 0; i < n; ++i) monitor.pulse();
               }));
    }
    return 0;
}
