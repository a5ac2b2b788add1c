#include "vigil/monitor.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "amqp_transport.hpp"
#include "control_queue.hpp"
#include "docker_signals.hpp"
#include "restarter.hpp"
#include "vigil/codec.hpp"
#include "vigil/timing.hpp"
#include "vigil/watchdog.hpp"

namespace vigil {
namespace {

// The loop sleeps until the core next has something to do (Node::next_due)
// or a message arrives; at most kSidecarIdleWait, so that stop() is seen.
// While restart commands run, it polls them every kSidecarPollInterval.
constexpr Millis kStatusInterval{200};  // status(): refreshed on every event, else on a wake-up this long after
constexpr int kMaxMessagesPerTurn = 256;

Millis steady_now() {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
}

// The monotonic clock as of the last timer tick (a few ms coarse): a read of
// the vDSO page, cheap enough for pulse() on the service's hot path.
Millis coarse_now() noexcept {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return Millis{static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1'000'000};
}

std::shared_ptr<spdlog::logger> vigil_logger() {
    if (auto existing = spdlog::get("vigil")) return existing;
    try {
        return spdlog::stderr_color_mt("vigil");
    } catch (const spdlog::spdlog_ex&) {
        return spdlog::get("vigil");  // another thread registered it first
    }
}

// Start time in the high bits, so that a later life of a node has a larger
// incarnation (restarts are seconds apart; one host's clock orders them);
// random low bits keep two starts in the same millisecond apart.
std::uint64_t new_incarnation() {
    const auto wall_ms = std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch());
    std::random_device device;
    return (static_cast<std::uint64_t>(wall_ms.count()) << 16) | (device() & 0xFFFFu);
}

NodeConfig node_config(const Config& config) {
    NodeConfig node;
    node.self = config.node_name;
    node.incarnation = new_incarnation();
    node.heartbeat_interval = config.heartbeat_interval;
    node.heartbeat_timeout = config.heartbeat_timeout;
    node.election_timeout = config.election_timeout;
    node.reconnect_grace = config.broker.reconnect_backoff_max;
    node.expected_members = config.expected_members;
    node.max_members = config.max_members;
    node.recovery = RecoveryPolicy{config.restart.boot_grace, config.restart.backoff_initial,
                                   config.restart.backoff_max, config.restart.backoff_reset_after,
                                   config.restart.timeout, config.heartbeat_interval};
    node.max_message_bytes = config.max_message_bytes;
    node.path_slack = kPathSlack;
    node.mass_silence_percent = config.mass_silence_percent;
    node.mass_silence_pace = config.mass_silence_pace;
    node.reconnect_window = config.reconnect_window;
    return node;
}

}  // namespace

struct Monitor::Impl {
    explicit Impl(Config cfg, Terminate term)
        : config(std::move(cfg)),
          terminate(std::move(term)),
          watchdog(config.pulse_timeout),
          log(vigil_logger()) {}

    Config config;
    Terminate terminate;
    ChangeCallback on_change;
    Watchdog watchdog;
    std::shared_ptr<spdlog::logger> log;

    std::mutex lifecycle;  // start/stop
    std::thread sidecar;
    std::thread watchdog_thread;
    bool started = false;
    std::atomic<bool> stopping{false};
    std::mutex wake_mutex;
    std::condition_variable wake;

    mutable std::mutex status_mutex;
    Status status;

    void run_sidecar();
    void run_watchdog();
    void sleep_for(Millis duration);
};

// Everything the sidecar thread owns; one instance per run of the thread.
class Sidecar {
public:
    explicit Sidecar(Monitor::Impl& impl)
        : impl_(impl),
          config_(impl.config),
          log_(*impl.log),
          node_(node_config(config_)),
          transport_(config_.broker, config_.control_exchange, config_.node_name, config_.max_message_bytes,
                     config_.heartbeat_timeout),
          restarter_(config_.restart),
          reconnect_delay_(config_.broker.reconnect_backoff_initial) {
        // Docker's events are worth following only where Docker restarts.
        if (config_.restart.backend == RestartBackend::Docker && config_.docker_events) {
            docker_ = std::make_unique<DockerSignals>(config_.expected_members, "");
        }
    }

    void run() {
        log_.info("vigil monitor started as '{}' (exchange '{}', broker {}:{})", config_.node_name,
                  config_.control_exchange, config_.broker.host, config_.broker.port);
        while (!impl_.stopping.load()) turn();
        const Millis now = steady_now();
        execute(node_.leave(now), now);  // goodbye, so that nobody restarts us
        transport_.close_politely();
        publish_status(now);
        log_.info("vigil monitor stopped");
    }

private:
    void turn() {
        Millis now = steady_now();
        if (!transport_.connected()) {
            try_connect(now);
            if (!transport_.connected()) impl_.sleep_for(wait_from(steady_now()));
        } else {
            drain(now);
        }
        now = steady_now();
        execute(node_.tick(now), now);
        feed_docker(now);
        for (const Restarter::Finished& done : restarter_.poll(now)) finished(done, now);
        if (now >= next_status_) publish_status(now);
    }

    void try_connect(Millis now) {
        if (now < next_connect_) return;
        if (!transport_.connect(node_.incarnation(), node_.link() + 1)) {
            if (transport_.error() != last_connect_error_) {
                log_.warn("broker unreachable ({}); retrying with back-off", transport_.error());
                last_connect_error_ = transport_.error();
            }
            next_connect_ = now + jittered(reconnect_delay_);
            reconnect_delay_ = std::min(reconnect_delay_ * 2, config_.broker.reconnect_backoff_max);
            return;
        }
        log_.info("connected to broker {}:{}", config_.broker.host, config_.broker.port);
        report_broker_events();
        last_connect_error_.clear();
        reconnect_delay_ = config_.broker.reconnect_backoff_initial;
        ++reconnects_;
        execute(node_.connected(now), now);
    }

    // The leader's Docker signals (docker_signals.hpp) into the core.
    void feed_docker(Millis now) {
        if (!docker_) return;
        const auto members = [this, now] {
            std::vector<std::string> names;
            for (const MemberView& member : node_.members(now)) names.push_back(member.name);
            return names;
        };
        for (const Observation& observation : docker_->poll(node_.is_leader(), members, now)) {
            execute(node_.observe(observation, now), now);
        }
        while (const auto news = docker_->take_news()) log_.warn("crash signals: {}", *news);
        if (docker_->following() != docker_following_) {
            docker_following_ = docker_->following();
            log_.info(docker_following_ ? "crash signals: following docker events"
                                        : "crash signals: not following docker events");
        }
    }

    // Said when it changes: whether closed connections are seen at once.
    void report_broker_events() {
        const std::string state = transport_.broker_events() ? "" : transport_.broker_events_error();
        if (state == broker_events_state_) return;
        broker_events_state_ = state;
        if (state.empty()) {
            log_.info("crash signals: the broker reports closed connections (queue.deleted events)");
        } else {
            log_.warn("crash signals: no broker events ({}); crashed members are found by heartbeats alone. "
                      "Enable the rabbitmq_event_exchange plugin and allow reading amq.rabbitmq.event",
                      state);
        }
    }

    // Half to all of the back-off step, at random: nodes that lost the broker
    // together do not all come back in the same instant.
    Millis jittered(Millis step) {
        std::uniform_int_distribution<std::int64_t> draw(step.count() / 2, step.count());
        return Millis{draw(random_)};
    }

    // How long the loop may sleep from `now`: until the core is due, the next
    // connect attempt, or (restarts running) the next poll of them.
    Millis wait_from(Millis now) const {
        Millis until = std::min(node_.next_due(now), now + kSidecarIdleWait);
        if (!transport_.connected()) until = std::min(until, std::max(next_connect_, now));
        if (restarter_.busy()) until = std::min(until, now + kSidecarPollInterval);
        if (docker_) until = std::min(until, std::max(docker_->next_due(now), now));
        return until - now;
    }

    void drain(Millis now) {
        std::string body;
        for (int i = 0; i < kMaxMessagesPerTurn && transport_.connected(); ++i) {
            const Millis wait = i == 0 ? wait_from(now) : Millis{0};
            switch (transport_.receive(wait, body, docker_ ? docker_->fd() : -1)) {
                case AmqpTransport::Received::Timeout:
                    return;
                case AmqpTransport::Received::Oversized:
                    node_.count_drop(DecodeError::Oversized);
                    break;
                case AmqpTransport::Received::Closed:
                    lost_connection(steady_now());
                    return;
                case AmqpTransport::Received::LinkClosed:
                    if (const auto closed = routing::link_closed(config_.control_exchange, body)) {
                        now = steady_now();
                        execute(node_.observe(*closed, now), now);
                    }
                    break;
                case AmqpTransport::Received::Message: {
                    const Decoded decoded = decode(body, config_.max_message_bytes);
                    now = steady_now();
                    if (decoded.message) {
                        execute(node_.receive(*decoded.message, now), now);
                    } else {
                        node_.count_drop(decoded.error);
                    }
                    break;
                }
            }
        }
    }

    void lost_connection(Millis now) {
        log_.warn("lost the broker ({}); not acting as leader until reconnected", transport_.error());
        transport_.close();
        next_connect_ = now + jittered(reconnect_delay_);
        execute(node_.disconnected(now), now);
    }

    void execute(const Output& out, Millis now) {
        for (const Outgoing& outgoing : out.send) {
            if (transport_.connected() && !transport_.publish(outgoing, encode(outgoing.message))) {
                lost_connection(now);
            }
        }
        for (const Event& event : out.events) report(event);  // "silent for too long" before "DEAD"
        for (const std::string& name : out.restart) restart(name, now);
        if (!out.restart.empty()) execute(node_.restarts_handled(now), now);
        // Becoming leader changes what we listen to; stepping down undoes it.
        if (transport_.connected() && !transport_.listen_to_followers(node_.is_leader())) lost_connection(now);
        if (!out.events.empty()) publish_status(now);
    }

    void restart(const std::string& name, Millis now) {
        std::string why;
        switch (restarter_.start(name, now, why)) {
            case Restarter::Start::Started:
                waiting_.erase(name);
                log_.warn("Node {} is DEAD. Restarting...", name);
                break;
            case Restarter::Start::Postponed:
                // Tried again every interval: said once, until it runs.
                if (waiting_.insert(name).second) log_.warn("Node {} is DEAD; its restart waits: {}", name, why);
                execute(node_.restart_postponed(name, now), now);
                break;
            case Restarter::Start::Failed:
                waiting_.erase(name);
                log_.warn("Node {} is DEAD. Restarting...", name);
                ++restarts_failed_;
                log_.error("cannot restart {}: {}", name, why);
                execute(node_.restart_finished(name, false, now), now);
                break;
        }
    }

    void finished(const Restarter::Finished& done, Millis now) {
        if (done.ok) {
            log_.info("restart of {} finished ({})", done.name, done.detail);
        } else {
            ++restarts_failed_;
            log_.error("restart of {} failed ({})", done.name, done.detail);
        }
        execute(node_.restart_finished(done.name, done.ok, now), now);
    }

    void report(const Event& event) {
        switch (event.kind) {
            case Event::Kind::LeaderChanged:
                if (event.name.empty()) {
                    log_.info("no leader (term {})", event.term);
                } else if (event.name == config_.node_name) {
                    log_.info("I am the leader (term {})", event.term);
                } else {
                    log_.info("leader is {} (term {})", event.name, event.term);
                }
                break;
            case Event::Kind::MemberJoined:
                waiting_.erase(event.name);  // back without the postponed restart: a later wait is news
                log_.info("node {} joined", event.name);
                break;
            case Event::Kind::MemberRestarted:
                waiting_.erase(event.name);
                log_.info("node {} is back (new incarnation)", event.name);
                break;
            case Event::Kind::MemberDead:
                if (event.detail.empty()) {
                    log_.warn("node {} is silent for too long", event.name);
                } else {
                    log_.warn("node {} is gone: {}", event.name, event.detail);
                }
                break;
            case Event::Kind::MemberDeparted: log_.info("node {} left gracefully", event.name); break;
            case Event::Kind::CutOff:
                log_.warn("{}: I may be the one cut off, so I restart no one and do not lead until they come back",
                          event.detail);
                break;
            case Event::Kind::PathRestored: log_.info("{}: judging and electing again", event.detail); break;
            case Event::Kind::MassSilence:
                log_.warn("{} at once: more likely my fault than theirs, so restarts on silence are paced", event.detail);
                break;
            case Event::Kind::MassSilenceOver: log_.info("{}: restarts no longer paced", event.detail); break;
            case Event::Kind::GoodbyeInRestart: log_.info("node {} {}", event.name, event.detail); break;
            case Event::Kind::Refuted: log_.warn("{}", event.detail); break;
            case Event::Kind::UnadmittedLeader:
                log_.error("{}: not leading beside it; check EXPECTED_MEMBERS and MAX_MEMBERS on every node",
                           event.detail);
                break;
        }
        if (impl_.on_change) {
            try {
                impl_.on_change(event);
            } catch (const std::exception& error) {
                log_.error("on_change callback threw: {}", error.what());
            }
        }
    }

    void publish_status(Millis now) {
        next_status_ = now + kStatusInterval;
        Status status;
        status.node_name = config_.node_name;
        status.connected = node_.is_connected();
        status.role = node_.is_connected() ? node_.role() : Role::Follower;
        status.leader = node_.leader();
        status.term = node_.term();
        status.members = node_.members(now);
        status.drops = node_.drops();
        status.restarts_issued = node_.restarts_issued();
        status.restarts_failed = restarts_failed_;
        status.reconnects = reconnects_;
        status.hears_itself = node_.hears_itself(now);
        status.caution = node_.caution(now);
        status.signals = node_.signals();
        status.broker_events = transport_.connected() && transport_.broker_events();
        status.docker_events = docker_ && docker_->following();
        const std::lock_guard lock(impl_.status_mutex);
        impl_.status = std::move(status);
    }

    Monitor::Impl& impl_;
    const Config& config_;
    spdlog::logger& log_;
    Node node_;
    AmqpTransport transport_;
    Restarter restarter_;
    std::unique_ptr<DockerSignals> docker_;  // docker back-end only
    bool docker_following_ = false;
    Millis reconnect_delay_;
    std::minstd_rand random_{std::random_device{}()};
    Millis next_connect_{0};
    Millis next_status_{0};
    std::string last_connect_error_;
    std::string broker_events_state_ = "unknown";  // "" = on, else why not
    std::set<std::string> waiting_;  // restarts postponed and not yet run (bounded by the members)
    std::uint64_t restarts_failed_ = 0;
    std::uint64_t reconnects_ = 0;
};

void Monitor::Impl::sleep_for(Millis duration) {
    std::unique_lock lock(wake_mutex);
    wake.wait_for(lock, duration, [this] { return stopping.load(); });
}

void Monitor::Impl::run_sidecar() {
    try {
        Sidecar(*this).run();
    } catch (const std::exception& error) {
        // A bug, not the world: make it loud, and let apoptosis policy decide.
        log->critical("vigil sidecar failed: {}", error.what());
        terminate(std::string("sidecar failed: ") + error.what());
    }
}

// Its own thread, so that apoptosis fires on time whatever the sidecar is
// doing (connecting to a dead broker, running a restart).
void Monitor::Impl::run_watchdog() {
    while (!stopping.load()) {
        const Millis now = coarse_now();
        if (watchdog.check(now)) {
            const auto silent = watchdog.silent_for(now).value_or(Millis{0});
            terminate("main loop has not called pulse() for " + std::to_string(silent.count()) +
                      " ms (PULSE_TIMEOUT " + std::to_string(watchdog.timeout().count()) + " ms)");
            return;
        }
        sleep_for(watchdog.sleep_from(now));
    }
}

Monitor::Monitor(Config config) : Monitor(std::move(config), nullptr) {}

Monitor::Monitor(Config config, Terminate terminate) {
    config.validate();
    if (!terminate) {
        terminate = [](const std::string& reason) {
            const auto log = vigil_logger();
            log->critical("apoptosis: {}; exiting so that the leader restarts this node", reason);
            log->flush();
            spdlog::shutdown();
            _exit(1);
        };
    }
    impl_ = std::make_unique<Impl>(std::move(config), std::move(terminate));
    impl_->status.node_name = impl_->config.node_name;
}

Monitor::~Monitor() { stop(); }

void Monitor::on_change(ChangeCallback callback) {
    const std::lock_guard lock(impl_->lifecycle);
    if (impl_->started) throw std::logic_error("vigil::Monitor::on_change must be called before start()");
    impl_->on_change = std::move(callback);
}

void Monitor::start() {
    const std::lock_guard lock(impl_->lifecycle);
    if (impl_->started) return;
    impl_->started = true;
    impl_->sidecar = std::thread([impl = impl_.get()] { impl->run_sidecar(); });
    impl_->watchdog_thread = std::thread([impl = impl_.get()] { impl->run_watchdog(); });
}

void Monitor::pulse() noexcept { impl_->watchdog.pulse(coarse_now()); }

void Monitor::stop() {
    const std::lock_guard lock(impl_->lifecycle);
    if (!impl_->started || impl_->stopping.load()) return;
    {
        const std::lock_guard wake_lock(impl_->wake_mutex);
        impl_->stopping.store(true);
    }
    impl_->wake.notify_all();
    if (impl_->sidecar.joinable()) impl_->sidecar.join();
    if (impl_->watchdog_thread.joinable()) impl_->watchdog_thread.join();
}

bool Monitor::is_leader() const {
    const std::lock_guard lock(impl_->status_mutex);
    return impl_->status.connected && impl_->status.role == Role::Leader;
}

std::string Monitor::leader() const {
    const std::lock_guard lock(impl_->status_mutex);
    return impl_->status.leader;
}

Status Monitor::status() const {
    const std::lock_guard lock(impl_->status_mutex);
    return impl_->status;
}

const Config& Monitor::config() const { return impl_->config; }

}  // namespace vigil
