#pragma once
// Knobs of one simulated cluster, and the time bounds the invariants derive
// from them. Timeouts are small (200 ms heartbeats) so that a run of several
// simulated minutes costs milliseconds of real time.
#include <algorithm>
#include <cstdint>
#include <optional>

#include "vigil/recovery_planner.hpp"
#include "vigil/time.hpp"
#include "vigil/timing.hpp"

namespace vigil::sim {

using namespace std::chrono_literals;

// What the core is configured with, and the service's pulse timeout.
struct Timing {
    Millis heartbeat_interval = 200ms;
    Millis heartbeat_timeout = 1000ms;
    Millis election_timeout = 500ms;
    Millis pulse_timeout = 2000ms;
    // After an outage, the others may take detect_max + reconnect_max to be back.
    Millis reconnect_grace = 800ms;
    // Boot grace, back-off 1 s -> 8 s, reset after 20 s; a restart command is
    // over after 2.5 s (SimOptions' restart_act_max + restart_done_max).
    RecoveryPolicy recovery{1500ms, 1000ms, 8000ms, 20000ms, 2500ms, 200ms};
    Millis path_slack = kPathSlack;  // what the monitor gives the core
    // Fast crash signals: a reconnect comes within SimOptions::reconnect_max
    // (500 ms here), so the window must be longer than that and a trip.
    Millis reconnect_window = 800ms;
    Millis exit_confirm = 100ms;
};

// The shipped defaults (config/config.ini, Config): the production sweep.
inline Timing shipped_timing() {
    Timing t;
    t.heartbeat_interval = 2000ms;
    t.heartbeat_timeout = 6000ms;
    t.election_timeout = 3000ms;
    t.pulse_timeout = 30000ms;
    t.reconnect_grace = 5000ms;  // BROKER_RECONNECT_MAX
    // Boot grace and back-off as shipped, but a 40 s cap (not 5 min), so that
    // a seed's convergence bound stays minutes, not hours.
    t.recovery = RecoveryPolicy{10000ms, 10000ms, 40000ms, 600000ms, 30000ms, 2000ms};
    t.reconnect_window = 1000ms;  // RECONNECT_WINDOW
    return t;
}

// The broker as the nodes see it. Probabilities are per million (integers
// keep a replay exact).
struct Weather {
    std::uint32_t loss_ppm = 0;
    std::uint32_t dup_ppm = 0;
    Millis delay_min = 0ms;
    Millis delay_max = 0ms;
};

// How long the real transport takes to notice a black-holed link, for a
// heartbeat timeout of `timeout` (the shipped 6 s gives kDeadLinkNoticedWithin).
constexpr Millis scaled_notice(Millis timeout) { return kDeadLinkNoticedWithin * timeout.count() / 6000; }

struct SimOptions {
    Timing timing;
    Weather weather;
    // RabbitMQ keeps one publisher's messages in order within one queue; when
    // false, every message gets an independent delay (arbitrary reordering).
    bool fifo_links = true;
    // Audience::Leader: routed to whoever leads when the message is published
    // (AMQP binding semantics) or when it is delivered.
    bool route_leader_at_publish = false;
    // Send every message through encode()/decode() and check the round trip.
    bool through_codec = false;
    // Every node is told every name (EXPECTED_MEMBERS, as the compose
    // generator does); otherwise none, and they learn the members by gossip.
    bool expect_members = true;
    // MAX_MEMBERS: small, so that junk senders fill the table in the sweeps.
    std::size_t max_members = 64;

    // The restart command ("docker restart"): after act_* the old process (if
    // any) is killed and a new one started; after done_* more the command exits.
    std::uint32_t restart_fail_ppm = 0;
    std::uint32_t restart_abandon_ppm = 500'000;  // issuer died first: the daemon may not act
    std::uint32_t restart_sigterm_ppm = 0;  // the old process stops gracefully (says goodbye) first
    std::uint32_t restart_postpone_ppm = 0;  // the restarter has no room: the core is told to try later
    Millis restart_act_min = 20ms, restart_act_max = 1500ms;
    Millis restart_done_min = 20ms, restart_done_max = 1000ms;

    // A process: starts, connects after boot, pulses from its first pulse on.
    Millis boot_min = 0ms, boot_max = 300ms;
    Millis first_pulse_max = 800ms;
    Millis pulse_period_min = 50ms, pulse_period_max = 150ms;
    // The sidecar loop: core tick and watchdog check, at most tick_max apart.
    Millis tick_min = kSidecarPollInterval - 10ms, tick_max = kSidecarPollInterval;
    // The transport: notices a closed connection after up to detect_max, a
    // black hole (nothing moves, nothing closes: a pulled cable, a stalled
    // broker) only when AMQP heartbeats run out, after blackhole_notice_*:
    // production's kDeadLinkNoticedWithin (10 s) at the sim's scale, that is
    // about 1.7 heartbeat timeouts, as with the shipped 6 s. Reconnects come
    // reconnect_* after the broker is reachable again.
    Millis detect_max = 300ms;
    Millis blackhole_notice_min = 1200ms;
    Millis blackhole_notice_max = scaled_notice(1000ms);
    Millis reconnect_min = 0ms, reconnect_max = 500ms;
    // Upper bound of every weather's delay_max (the chaos never exceeds it).
    Millis delay_cap = kBrokerJitter;

    // Fast crash signals (observation.hpp): the broker's queue.deleted to
    // every connected node when a connection closes; Docker's die/start
    // events to whoever leads, and its reconcile when a node takes the lead.
    // Their own weather: lost, duplicated, and late by up to seconds, so that
    // many land after the life they are about has been replaced.
    bool broker_signals = false;
    bool docker_signals = false;
    Weather signal_weather;

    // Harness self-test only (test_sim_selftest.cpp): make the system under
    // test misbehave, to prove that the invariants catch it.
    std::optional<Timing> core_timing;  // the core and watchdog get this instead of `timing`
    bool restarts_never_work = false;   // every restart command fails, even after heal()
    bool double_restarts = false;       // every restart a node emits is run twice
    bool lying_signals = false;         // the broker now and then reports a live connection closed

    // The sweep's fault durations are drawn for a 1 s heartbeat timeout and
    // scaled by this (the production sweep: 6).
    std::int64_t fault_scale = 1;
};

// The shipped configuration, end to end: timings, and link failures noticed
// as late as the real transport notices them.
inline SimOptions shipped_options() {
    SimOptions o;
    o.timing = shipped_timing();
    o.blackhole_notice_min = kDeadLinkNoticedWithin - 2 * Millis{1000 * kAmqpHeartbeatSeconds} / 5;
    o.blackhole_notice_max = kDeadLinkNoticedWithin;
    o.detect_max = 300ms;
    o.reconnect_max = 5000ms;  // the reconnect back-off's cap
    o.restart_act_max = 10000ms;  // docker restart: stop timeout, then start
    o.first_pulse_max = 2000ms;
    o.fault_scale = 6;
    return o;
}

// A drawn seed's cluster (weather, modes) under the shipped configuration.
inline void use_shipped(SimOptions& drawn) {
    SimOptions o = shipped_options();
    o.weather = drawn.weather;
    o.fifo_links = drawn.fifo_links;
    o.route_leader_at_publish = drawn.route_leader_at_publish;
    o.through_codec = drawn.through_codec;
    o.restart_sigterm_ppm = drawn.restart_sigterm_ppm;
    o.expect_members = drawn.expect_members;
    o.restart_fail_ppm = drawn.restart_fail_ppm;
    o.restart_postpone_ppm = drawn.restart_postpone_ppm;
    o.broker_signals = drawn.broker_signals;
    o.docker_signals = drawn.docker_signals;
    o.signal_weather = drawn.signal_weather;
    drawn = o;
}

// The back-off owed after `in_a_row` restarts in a row (0: none), as the
// README states it (CrashLoopBackOff), written here apart from the planner.
inline Millis owed_backoff(const RecoveryPolicy& policy, std::uint32_t in_a_row) {
    if (in_a_row == 0) return Millis{0};
    Millis delay = policy.backoff_initial;
    for (std::uint32_t i = 1; i < in_a_row && delay < policy.backoff_max; ++i) delay *= 2;
    return std::min(delay, policy.backoff_max);
}

// A node declared dead although it was up this long, connected all along,
// with nothing of its lost on the way to the leader, is a false death: the
// leader must have heard a heartbeat within heartbeat_timeout of `now`.
inline Millis false_death_window(const SimOptions& o) {
    const Timing& t = o.timing;
    return t.heartbeat_timeout + t.heartbeat_interval + o.tick_max + o.delay_cap;
}

// The longest stop of a whole process (a pause) that cannot make its next
// heartbeat reach the leader later than the heartbeat timeout.
inline Millis harmless_pause(const SimOptions& o) {
    const Timing& t = o.timing;
    return t.heartbeat_timeout - t.heartbeat_interval - o.tick_max - o.delay_cap;
}

// Two leaders that hear each other: the lower one's next heartbeat reaches
// the higher, which answers with a COORDINATOR of a newer term.
inline Millis split_brain_bound(const SimOptions& o) {
    return o.timing.heartbeat_interval + 2 * o.tick_max + 2 * o.delay_cap;
}

// A candidate's ELECTION reaches every higher node, and their ANSWERs come
// back, well within its election timeout once both have been connected this long.
inline Millis usurper_window(const SimOptions& o) {
    return o.timing.election_timeout + 2 * o.tick_max + 2 * o.delay_cap;
}

// From the end of the faults to a healthy cluster. One recovery cycle: links
// come back (a black hole is noticed late), the cluster (re)elects, the leader
// judges a silent node dead after the reconnect grace, waits out back-off and
// boot grace, and the restart command runs. The planner outlives reigns, so
// restarts run side by side, not one reign after another; but a restart issued
// before the end may still fail, and the top node's return starts a new reign,
// so allow three cycles, plus pacing (one restart an interval when most are
// dead), plus a hang or a pause still running its course.
inline Millis convergence_bound(const SimOptions& o, std::size_t nodes) {
    const Timing& t = o.timing;
    const Millis notice = std::max(o.detect_max, o.blackhole_notice_max);
    const Millis elect = notice + o.reconnect_max + 4 * t.election_timeout + 4 * o.delay_cap + 4 * o.tick_max;
    const Millis restart = o.restart_act_max + o.restart_done_max + o.boot_max;
    const Millis cycle = elect + t.reconnect_grace + t.heartbeat_timeout + t.heartbeat_interval + t.recovery.backoff_max +
                         t.recovery.boot_grace + restart;
    const Millis pause = 3000 * o.fault_scale * 1ms;  // the longest pause the chaos draws
    const Millis pacing = static_cast<Millis::rep>(nodes) * t.heartbeat_interval;
    return std::max(t.pulse_timeout, pause) + o.tick_max + restart + 3 * cycle + pacing;
}

}  // namespace vigil::sim
