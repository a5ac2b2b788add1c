#pragma once
// The server's main loop: publish the workload, collect results, keep progress
// on disk, announce the final result. Every wait is short and pulses.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/amqp_session.hpp"
#include "common/consumer_link.hpp"
#include "common/hang.hpp"
#include "common/settings.hpp"
#include "server/result_book.hpp"
#include "vigil/monitor.hpp"

namespace example {

struct ServerSettings {
    std::uint64_t workload_size = 1000;           // WORKLOAD_SIZE
    std::string state_dir = "/data";              // STATE_DIR
    std::string tasks_queue = "vigil.tasks";      // QUEUE_PREFIX + vigil.tasks
    std::string results_queue = "vigil.results";  // QUEUE_PREFIX + vigil.results
    std::uint16_t prefetch = 200;                 // RESULTS_PREFETCH
    std::size_t publish_batch = 200;              // PUBLISH_BATCH
    std::chrono::milliseconds save_interval{500};       // SAVE_INTERVAL
    std::chrono::milliseconds republish_after{30000};   // REPUBLISH_AFTER
    std::chrono::milliseconds stats_interval{10000};    // STATS_INTERVAL

    static ServerSettings from(const Settings& settings);
    std::string progress_path() const { return state_dir + "/progress.txt"; }
    std::string result_path() const { return state_dir + "/result.txt"; }
};

class ServerApp {
public:
    ServerApp(ServerSettings settings, vigil::Monitor& monitor, const HangSwitch& hang_switch);
    // Runs until SIGTERM/SIGINT; returns the exit code.
    int run();

private:
    using Clock = std::chrono::steady_clock;

    void load_progress();
    void publish_batch();
    void drain_results(std::chrono::milliseconds first_wait);
    void handle_result(const Delivery& delivery);
    void save_and_ack(Clock::time_point now, bool force);
    void announce_if_done();
    void republish_if_stalled(Clock::time_point now);
    void log_stats(Clock::time_point now);
    bool publishing() const { return publish_cursor_ < to_publish_.size(); }

    ServerSettings settings_;
    vigil::Monitor& monitor_;
    const HangSwitch& hang_switch_;
    AmqpSession session_;
    ConsumerLink link_;  // keeps session_ (declared before it) connected and consuming
    ResultBook book_;

    std::vector<std::uint64_t> to_publish_;  // ids to (re-)publish, ascending
    std::size_t publish_cursor_ = 0;         // next index into to_publish_
    std::uint64_t published_ = 0;            // confirmed publishes, this process
    std::uint64_t malformed_ = 0;
    std::uint64_t last_tag_ = 0;             // highest delivery tag not yet acked
    std::size_t unacked_ = 0;
    bool dirty_ = false;                     // book has results not yet on disk
    bool announced_ = false;
    Clock::time_point last_save_{};
    Clock::time_point last_progress_ = Clock::now();
    Clock::time_point last_stats_ = Clock::now();
};

}  // namespace example
