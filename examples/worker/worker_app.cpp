#include "worker/worker_app.hpp"

#include <spdlog/spdlog.h>

#include "common/app.hpp"
#include "common/signals.hpp"
#include "common/workload.hpp"

namespace example {
namespace {

constexpr std::chrono::milliseconds kConfirmTimeout{10000};
constexpr std::chrono::milliseconds kIdleWait{250};  // well under any pulse timeout
constexpr int kMaxLoggedBadMessages = 10;

}  // namespace

WorkerSettings WorkerSettings::from(const Settings& settings) {
    WorkerSettings s;
    s.tasks_queue = queue_name(settings, s.tasks_queue);
    s.results_queue = queue_name(settings, s.results_queue);
    s.prefetch = static_cast<std::uint16_t>(settings.get_uint("TASKS_PREFETCH", s.prefetch, 1, 1000));
    // Capped so that the AMQP heartbeat (serviced only inside library calls)
    // never starves while we "work".
    s.work_delay = std::chrono::milliseconds{
        static_cast<std::chrono::milliseconds::rep>(settings.get_uint("WORK_DELAY_MS", 0, 0, 5000))};
    s.stats_interval = settings.get_duration("STATS_INTERVAL", s.stats_interval);
    return s;
}

WorkerApp::WorkerApp(WorkerSettings settings, vigil::Monitor& monitor, const HangSwitch& hang_switch)
    : settings_(std::move(settings)),
      monitor_(monitor),
      hang_switch_(hang_switch),
      session_(monitor.config().broker),
      link_(session_, monitor.config().broker,
            {{settings_.tasks_queue, settings_.results_queue}, settings_.tasks_queue, settings_.prefetch}) {}

void WorkerApp::handle_task(const Delivery& delivery) {
    const auto task = decode_task(delivery.body);
    const auto value = task ? compute(task->input) : std::nullopt;
    if (!value) {
        // Ack it anyway: redelivering a poison message would loop forever.
        if (++malformed_ <= kMaxLoggedBadMessages) {
            spdlog::warn("dropping a malformed task ({} bytes)", delivery.body.size());
        }
        session_.ack(delivery.tag);
        return;
    }
    if (settings_.work_delay.count() > 0) {
        sleep_pulsing(monitor_, settings_.work_delay);
    }
    // Result first, confirmed; only then the ack. A crash in between yields a
    // duplicate result, never a lost one.
    if (!session_.publish(settings_.results_queue, encode_result(Result{task->id, *value})) ||
        !session_.wait_for_confirms(kConfirmTimeout, [this] { monitor_.pulse(); })) {
        return;  // the connection is gone; the broker redelivers the task
    }
    if (session_.ack(delivery.tag)) {
        ++completed_;
    }
}

void WorkerApp::log_stats(Clock::time_point now) {
    if (now - last_stats_ < settings_.stats_interval) {
        return;
    }
    last_stats_ = now;
    spdlog::info("progress: {} tasks completed, {} malformed dropped", completed_, malformed_);
}

int WorkerApp::run() {
    spdlog::info("worker: {} -> {}, work delay {} ms", settings_.tasks_queue, settings_.results_queue,
                 settings_.work_delay.count());
    while (!stop_requested()) {
        hang_switch_.hang_if_requested();
        monitor_.pulse();
        const auto now = Clock::now();
        log_stats(now);
        if (!link_.ensure(now)) {
            sleep_pulsing(monitor_, std::chrono::milliseconds{100});
            continue;
        }
        if (const auto delivery = session_.next(kIdleWait)) {
            handle_task(*delivery);
        }
    }
    session_.close();  // unacked prefetched tasks go back to the queue
    return 0;
}

}  // namespace example
