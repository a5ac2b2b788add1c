#include "server/server_app.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <limits>

#include "common/app.hpp"
#include "common/signals.hpp"
#include "common/workload.hpp"
#include "server/state_files.hpp"

namespace example {
namespace {

constexpr std::chrono::milliseconds kConfirmTimeout{10000};
constexpr std::size_t kMaxProgressBytes = 64ULL * 1024 * 1024;
constexpr int kMaxLoggedBadMessages = 10;  // then only counted

}  // namespace

ServerSettings ServerSettings::from(const Settings& settings) {
    ServerSettings s;
    s.workload_size = settings.get_uint("WORKLOAD_SIZE", s.workload_size, 1, kMaxWorkloadSize);
    s.state_dir = settings.get_string("STATE_DIR", s.state_dir);
    s.tasks_queue = queue_name(settings, s.tasks_queue);
    s.results_queue = queue_name(settings, s.results_queue);
    s.prefetch = static_cast<std::uint16_t>(settings.get_uint("RESULTS_PREFETCH", s.prefetch, 2, 10000));
    s.publish_batch = settings.get_uint("PUBLISH_BATCH", s.publish_batch, 1, 10000);
    s.save_interval = settings.get_duration("SAVE_INTERVAL", s.save_interval);
    s.republish_after = settings.get_duration("REPUBLISH_AFTER", s.republish_after);
    s.stats_interval = settings.get_duration("STATS_INTERVAL", s.stats_interval);
    return s;
}

ServerApp::ServerApp(ServerSettings settings, vigil::Monitor& monitor, const HangSwitch& hang_switch)
    : settings_(std::move(settings)),
      monitor_(monitor),
      hang_switch_(hang_switch),
      session_(monitor.config().broker),
      link_(session_, monitor.config().broker,
            {{settings_.tasks_queue, settings_.results_queue}, settings_.results_queue, settings_.prefetch},
            [this] {
                // Unacked deliveries come back on the new connection (as duplicates).
                unacked_ = 0;
                last_tag_ = 0;
            }),
      book_(settings_.workload_size) {}

void ServerApp::load_progress() {
    std::filesystem::create_directories(settings_.state_dir);
    const auto text = read_small_file(settings_.progress_path(), kMaxProgressBytes);
    if (text) {
        std::string error;
        auto saved = ResultBook::parse(*text, &error);
        if (!saved) {
            // Starting over is always safe: results are idempotent.
            spdlog::error("progress file {} unreadable ({}); starting over", settings_.progress_path(), error);
        } else if (saved->size() != settings_.workload_size) {
            spdlog::warn("progress file is for {} tasks, WORKLOAD_SIZE is {}; starting over", saved->size(),
                         settings_.workload_size);
        } else {
            book_ = std::move(*saved);
            spdlog::info("resuming: {} of {} results already on disk", book_.done_count(), book_.size());
        }
    }
    if (!book_.done()) {
        // A result file from an earlier run must not be mistaken for this one.
        std::filesystem::remove(settings_.result_path());
    }
    // Only the tasks not yet done; any that are still queued from before are
    // published again, which at worst yields duplicate results.
    to_publish_ = book_.pending();
    publish_cursor_ = 0;
}

void ServerApp::publish_batch() {
    std::size_t end = publish_cursor_;
    std::size_t sent = 0;
    // Bounded by the batch size; ids done meanwhile are skipped.
    for (; end < to_publish_.size() && sent < settings_.publish_batch; ++end) {
        const std::uint64_t id = to_publish_[end];
        if (book_.has(id)) {
            continue;
        }
        if (!session_.publish(settings_.tasks_queue, encode_task(Task{id, task_input(id)}))) {
            return;  // connection dropped: this batch is retried after reconnecting
        }
        ++sent;
    }
    if (!session_.wait_for_confirms(kConfirmTimeout, [this] { monitor_.pulse(); })) {
        return;
    }
    published_ += sent;
    publish_cursor_ = end;
    if (!publishing()) {
        spdlog::info("all {} pending tasks published to {}", to_publish_.size(), settings_.tasks_queue);
    }
}

void ServerApp::handle_result(const Delivery& delivery) {
    last_tag_ = delivery.tag;
    ++unacked_;
    const auto result = decode_result(delivery.body);
    if (!result) {
        if (++malformed_ <= kMaxLoggedBadMessages) {
            spdlog::warn("dropping a malformed result ({} bytes)", delivery.body.size());
        }
        return;
    }
    const RecordOutcome outcome = book_.record(result->id, result->value);
    if (outcome == RecordOutcome::New) {
        dirty_ = true;
        last_progress_ = Clock::now();
    } else if (outcome != RecordOutcome::Duplicate &&
               book_.unknown() + book_.conflicts() <= kMaxLoggedBadMessages) {
        spdlog::warn("dropping a result for task {}: {}", result->id, to_string(outcome));
    }
}

void ServerApp::drain_results(std::chrono::milliseconds first_wait) {
    auto wait = first_wait;
    // Bounded: at most one prefetch window per loop iteration.
    for (std::size_t n = 0; n < settings_.prefetch; ++n) {
        const auto delivery = session_.next(wait);
        if (!delivery) {
            return;
        }
        handle_result(*delivery);
        wait = std::chrono::milliseconds{0};
    }
}

void ServerApp::save_and_ack(Clock::time_point now, bool force) {
    if (unacked_ == 0 && !dirty_) {
        return;
    }
    const bool window_half_full = unacked_ * 2 >= settings_.prefetch;
    if (!force && !window_half_full && now - last_save_ < settings_.save_interval) {
        return;
    }
    // Disk first, ack second: an acked result is always already on disk.
    if (dirty_) {
        std::string error;
        if (!write_file_atomically(settings_.progress_path(), book_.serialize(), &error)) {
            spdlog::error("cannot save progress: {}", error);  // not acked; retried
            last_save_ = now;
            return;
        }
        dirty_ = false;
    }
    last_save_ = now;
    if (unacked_ > 0 && session_.is_open() && session_.ack(last_tag_, /*multiple=*/true)) {
        unacked_ = 0;
    }
}

void ServerApp::announce_if_done() {
    if (announced_ || !book_.done()) {
        return;
    }
    save_and_ack(Clock::now(), /*force=*/true);
    std::string error;
    if (!write_file_atomically(settings_.result_path(), book_.summary(), &error)) {
        spdlog::error("cannot write {}: {}", settings_.result_path(), error);
        return;  // tried again next iteration
    }
    announced_ = true;
    spdlog::info("ALL TASKS DONE: {} results, checksum {}, sum {} (duplicates {}, conflicts {}, unknown {}, "
                 "malformed {}); written to {}",
                 book_.done_count(), book_.checksum_hex(), book_.sum(), book_.duplicates(), book_.conflicts(),
                 book_.unknown(), malformed_, settings_.result_path());
}

void ServerApp::republish_if_stalled(Clock::time_point now) {
    if (book_.done() || publishing() || now - last_progress_ < settings_.republish_after) {
        return;
    }
    last_progress_ = now;
    // Tasks can be lost only with the broker's disk; with tasks still queued
    // the workers are just slow (or all down), so wait rather than duplicate.
    const auto queued = session_.message_count(settings_.tasks_queue);
    if (!queued || *queued > 0) {
        return;
    }
    to_publish_ = book_.pending();
    publish_cursor_ = 0;
    spdlog::warn("no new result for {} ms and {} is empty: re-publishing {} pending tasks",
                 settings_.republish_after.count(), settings_.tasks_queue, to_publish_.size());
}

void ServerApp::log_stats(Clock::time_point now) {
    if (now - last_stats_ < settings_.stats_interval) {
        return;
    }
    last_stats_ = now;
    spdlog::info("progress: {}/{} results (published {}, duplicates {}, conflicts {}, unknown {}, malformed {})",
                 book_.done_count(), book_.size(), published_, book_.duplicates(), book_.conflicts(),
                 book_.unknown(), malformed_);
}

int ServerApp::run() {
    load_progress();
    spdlog::info("workload: {} tasks, {} to publish; queues {} -> {}; state in {}", book_.size(),
                 to_publish_.size(), settings_.tasks_queue, settings_.results_queue, settings_.state_dir);
    while (!stop_requested()) {
        hang_switch_.hang_if_requested();
        monitor_.pulse();
        const auto now = Clock::now();
        announce_if_done();
        if (!link_.ensure(now)) {
            sleep_pulsing(monitor_, std::chrono::milliseconds{100});
            continue;
        }
        if (publishing()) {
            publish_batch();
        }
        // While publishing, only take what is already there; otherwise wait a
        // little (well under the pulse timeout) for results.
        drain_results(publishing() ? std::chrono::milliseconds{0} : std::chrono::milliseconds{200});
        save_and_ack(Clock::now(), /*force=*/false);
        announce_if_done();
        republish_if_stalled(Clock::now());
        log_stats(Clock::now());
    }
    save_and_ack(Clock::now(), /*force=*/true);
    session_.close();
    return 0;
}

}  // namespace example
