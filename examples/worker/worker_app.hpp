#pragma once
// The worker's main loop: take a task, compute, publish the result (confirmed),
// then ack the task. A worker killed at any point loses nothing: an unacked
// task is redelivered, and a result published twice is a harmless duplicate.
#include <chrono>
#include <cstdint>
#include <string>

#include "common/amqp_session.hpp"
#include "common/consumer_link.hpp"
#include "common/hang.hpp"
#include "common/settings.hpp"
#include "vigil/monitor.hpp"

namespace example {

struct WorkerSettings {
    std::string tasks_queue = "vigil.tasks";      // QUEUE_PREFIX + vigil.tasks
    std::string results_queue = "vigil.results";  // QUEUE_PREFIX + vigil.results
    std::uint16_t prefetch = 10;                  // TASKS_PREFETCH
    std::chrono::milliseconds work_delay{0};      // WORK_DELAY_MS: pretend each task takes this long
    std::chrono::milliseconds stats_interval{10000};  // STATS_INTERVAL

    static WorkerSettings from(const Settings& settings);
};

class WorkerApp {
public:
    WorkerApp(WorkerSettings settings, vigil::Monitor& monitor, const HangSwitch& hang_switch);
    int run();  // until SIGTERM/SIGINT; returns the exit code

private:
    using Clock = std::chrono::steady_clock;

    void handle_task(const Delivery& delivery);
    void log_stats(Clock::time_point now);

    WorkerSettings settings_;
    vigil::Monitor& monitor_;
    const HangSwitch& hang_switch_;
    AmqpSession session_;
    ConsumerLink link_;  // keeps session_ (declared before it) connected and consuming
    std::uint64_t completed_ = 0;
    std::uint64_t malformed_ = 0;
    Clock::time_point last_stats_ = Clock::now();
};

}  // namespace example
