#pragma once
// A whole simulated deployment: one slot per container name, at most one
// process per slot (a vigil::Node plus its Watchdog and a pulsing service),
// the broker (Network), restart commands, and the faults a test can inject.
// Everything happens on one timeline in simulated milliseconds.
//
// Only a leader's restart command brings a dead node back (or an operator,
// for a node that left gracefully): the simulation never heals on its own.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim_config.hpp"
#include "sim_events.hpp"
#include "sim_invariants.hpp"
#include "sim_network.hpp"
#include "sim_rng.hpp"
#include "sim_trace.hpp"
#include "vigil/node.hpp"
#include "vigil/watchdog.hpp"

namespace vigil::sim {

struct Process {
    std::uint64_t id = 0;           // unique in the run; stale events carry old ids
    std::uint64_t incarnation = 0;  // what the core started with (it may raise it)
    // The process's own steady clock: an epoch of its own, so that the core
    // never gets away with comparing its times with another node's.
    Millis clock_offset{0};
    std::unique_ptr<Node> node;
    std::unique_ptr<Watchdog> watchdog;
    Millis started_at{0};
    bool booted = false;
    bool told_connected = false;  // node.connected() called, disconnected() not yet
    bool link_pending = false;    // a LinkUp is on the timeline
    bool hung = false;            // the service stopped pulsing for good
    // Its control queue's name: the life and link it was declared by.
    std::uint64_t queue_incarnation = 0, queue_link = 0;
    // A crash loop will kill it, unless heal() ends that loop (Slot::loop_id).
    std::optional<std::uint64_t> doomed_by_loop;
    Millis hung_at{0};
    Millis stalled_until{0};      // the service pauses, then resumes
    // The whole process is stopped (no pulse, no tick, nothing read) until
    // paused_until; the last pause ran from pause_start to paused_until.
    Millis pause_start{-1}, paused_until{-1};
    std::optional<Millis> leader_since;  // is_leader() since (the sim's bookkeeping)
    bool pulsed = false;
    Millis last_pulse{0};
    // The sidecar loop ticks its core only when due (Node::next_due, in the
    // process's clock) or after anything else reached the core; the loop's
    // periodic wake-ups here stand for its wait, and its watchdog's checks.
    Millis due = Millis::min();
    // slot -> incarnation whose Goodbye this process heard last (and nothing since)
    std::map<std::size_t, std::uint64_t> goodbye_heard;
    // slot -> when this process last received anything / a Goodbye from it
    std::map<std::size_t, Millis> last_heard_from;
    std::map<std::size_t, Millis> last_goodbye_from;
};

struct Slot {
    std::string name;
    std::optional<Process> process;  // empty: the container is stopped
    bool cut = false;                // partitioned from the broker
    bool silent_cut = false;         // ... by a black hole: noticed only late
    LinkFault one_way = LinkFault::None;  // ... one way only: the link stays up until noticed
    std::uint64_t cut_id = 0;
    bool departed = false;           // left gracefully; an operator will start it
    std::uint64_t departed_incarnation = 0;
    std::uint64_t leave_id = 0;
    bool ever_left = false;              // said goodbye at least once
    std::uint32_t crash_loop_left = 0;   // its next processes die soon after starting
    std::uint64_t loop_id = 0;           // heal() ends a crash loop, pending deaths included
    std::uint64_t last_incarnation = 0;  // of the latest process in this slot
    Millis wall_offset{0};               // the host's wall clock, which incarnations come from
    Millis down_since{0};
};

struct RestartCommand {
    std::size_t issuer = 0;
    std::uint64_t issuer_process = 0;
    std::size_t target = 0;
    bool fails = false;
    bool done = false;
    bool ok = false;
    Millis issued_at{0};
    Millis acted_at{0};  // the new process started (if it did)
    Millis done_at{0};
};

struct SimStats {
    std::uint64_t crashes = 0, hangs = 0, stalls = 0, apoptoses = 0, cuts = 0, black_holes = 0, outages = 0, splits = 0;
    std::uint64_t broker_stalls = 0;
    std::uint64_t forgeries = 0, junk = 0, crash_loops = 0, pauses = 0, one_way_cuts = 0, clock_steps = 0;
    std::uint64_t lost_bindings = 0;
    std::uint64_t members_forgotten = 0;  // no EXPECTED_MEMBERS, and every process that knew it died
    std::uint64_t restarts_of_live = 0;  // of a healthy process connected for a false-death window
    std::uint64_t restarts_by_cut_off = 0;  // ... by an issuer whose own link was down
    std::uint64_t leaves = 0, restarts_emitted = 0, restarts_acted = 0, restarts_failed = 0;
    std::uint64_t restarts_abandoned = 0, processes_started = 0, leader_changes = 0, deliveries = 0;
    std::uint64_t restarts_postponed = 0;
    std::uint64_t signals_sent = 0, signals_delivered = 0;  // fast crash signals (per recipient)
    std::uint64_t election_deliveries = 0;  // ELECTION, ANSWER and COORDINATOR delivered
    Millis longest_down{0};  // longest a node stayed without a process
    void add(const SimStats& other);
};

class Simulation {
public:
    Simulation(std::vector<std::string> names, SimOptions options, std::uint64_t seed, Trace& trace);
    Simulation(const Simulation&) = delete;
    Simulation& operator=(const Simulation&) = delete;

    // Start every node's process at a random moment in [now, now + stagger].
    void start_all(Millis stagger);
    // An operator starts one node's container now (if it is not running).
    void start(std::size_t slot);
    // Advance the clock, handling every event due up to and including `until`.
    void run_until(Millis until);
    Millis now() const { return now_; }

    // Faults. Durations of 0 mean "until heal()".
    void crash(std::size_t slot, const char* why = "crash");
    void hang(std::size_t slot);
    void stall(std::size_t slot, Millis duration);
    // A cut closes the connection (noticed at once); a black hole only stops
    // everything, both ways, and the transport notices late.
    void cut(std::size_t slot, Millis duration, bool black_hole = false);
    // Only one direction stops (Mute: what it sends is lost; Deaf: what it
    // should receive is lost); the connection dies when AMQP heartbeats run out.
    void cut_one_way(std::size_t slot, Millis duration, LinkFault direction);
    // The whole process stops (SIGSTOP, docker pause): no pulse, no tick,
    // nothing read; its queue fills (and expires) meanwhile.
    void pause(std::size_t slot, Millis duration);
    // The host's wall clock steps (NTP), so the node's next incarnation may be
    // lower than its last.
    void step_wall_clock(std::size_t slot, Millis step);
    // The broker loses the binding a leader hears its followers by.
    void lose_binding(std::size_t slot);
    // A forged message in a member's name, any field values: the core must
    // neither act on it wrongly nor lose its way once such input stops.
    void forge(Rng& rng);
    // A sender no deployment knows, heard once (junk filling the table).
    void junk(Rng& rng);
    // The node's next `times` processes each die 0.5..3 timeouts after starting.
    void crash_loop(std::size_t slot, std::uint32_t times);
    // Every connection closes, or (a stall) stays open with nothing moving,
    // noticed only when AMQP heartbeats run out.
    void broker_outage(Millis duration, bool stall = false);
    void split(std::vector<std::uint8_t> side, Millis duration);
    void leave(std::size_t slot, Millis operator_after);
    void inject(const Message& message, Millis delay);
    void set_weather(const Weather& weather) { network_.set_weather(weather); }
    void set_restart_fail_ppm(std::uint32_t ppm) { options_.restart_fail_ppm = ppm; }
    // End every fault: links back, no loss, restarts succeed, operators start
    // nodes that left. Hangs and stalls in progress run their course.
    void heal();

    // Views for tests and invariants.
    std::size_t size() const { return slots_.size(); }
    std::optional<std::size_t> find(const std::string& name) const;
    const Slot& slot(std::size_t index) const { return slots_[index]; }
    const Node* node(std::size_t index) const;
    bool alive(std::size_t index) const { return slots_[index].process.has_value(); }
    bool healthy(std::size_t index) const;  // alive, not hung, stalled, paused or doomed
    bool connected(std::size_t index) const;  // told connected and link up
    // Alive with its watchdog not expired, and its link up for a whole
    // false_death_window() (sim_config.hpp): nobody may restart it.
    bool live_and_connected(std::size_t index, Millis now) const;
    // Was the process stopped, within [from, now], for longer than `longer_than`?
    bool paused_within(std::size_t index, Millis from, Millis longer_than) const;
    Millis local(const Process& p) const { return now_ + p.clock_offset; }  // its own clock
    std::optional<std::size_t> leader_slot() const;  // the only is_leader() node, if exactly one
    std::size_t leader_count() const;
    std::size_t highest() const;  // the highest name (all slots)
    bool restart_in_flight() const;
    // A goodbye of `target` heard now by that process may be taken for the
    // SIGTERM half of a restart.
    bool restart_running(std::size_t target, std::uint64_t observer_process) const;
    // Does `observer` know a life of `slot` later than its last goodbye?
    bool knows_life_after_goodbye(std::size_t observer, std::size_t slot) const;
    const RestartCommand& command(std::size_t index) const { return commands_[index]; }
    std::size_t command_count() const { return commands_.size(); }
    Millis last_leader_change() const { return last_leader_change_; }
    const Network& network() const { return network_; }
    const SimOptions& options() const { return options_; }
    const SimStats& stats() const { return stats_; }
    Invariants& invariants() { return invariants_; }
    const Invariants& invariants() const { return invariants_; }
    Trace& trace() { return trace_; }

private:
    Process* process(std::size_t slot, std::uint64_t id);
    void handle(const SimEvent& event);
    void start_process(std::size_t slot);
    void on_tick(std::size_t slot, Process& p);
    void on_pulse(std::size_t slot, Process& p);
    void on_deliver(const SimEvent& event);
    void on_restart_act(std::uint64_t command);
    void on_restart_done(std::uint64_t command, bool ok);
    void apply(std::size_t slot, const Output& output);
    std::optional<std::size_t> start_restart(std::size_t issuer, const std::string& target);
    bool link_wanted(std::size_t slot) const { return !slots_[slot].cut && !broker_down_; }
    void maybe_connect(std::size_t slot);
    void drop_link(std::size_t slot);
    void end_one_way(std::size_t slot);
    void update_links();
    void terminate(std::size_t slot);
    void gone(std::size_t slot);
    bool defer_while_paused(const SimEvent& event);
    bool life_known(std::size_t slot) const;
    bool member_known(std::size_t slot) const;
    void forget_unknown_lives();
    Millis draw(Millis lo, Millis hi);
    // Fast crash signals (sim_signals.cpp).
    struct SimSignal {
        Observation observation;  // Container*: `at` in simulated time, made local on delivery
        bool via_broker = true;
    };
    void link_closing(std::size_t slot);
    void report_link_closed(std::size_t slot);
    void container_event(std::size_t slot, Observation::Kind kind);
    void send_signal(const SimSignal& signal, std::size_t to, std::uint64_t tag);
    void on_signal(const SimEvent& event);
    void on_reconcile(std::size_t slot, std::uint64_t process_id);

    SimOptions options_;
    Trace& trace_;
    Rng rng_;  // timing of processes, commands and the sidecar loop
    EventQueue queue_;
    Network network_;
    Invariants invariants_;
    std::vector<Slot> slots_;
    std::vector<std::vector<SimEvent>> held_;  // deliveries a one-way cut of that slot holds up
    std::vector<RestartCommand> commands_;
    std::vector<SimSignal> signals_;
    Rng signal_rng_;  // apart from rng_, so that signals leave the rest of a seed's draws alone
    std::vector<std::string> sorted_names_;
    NodeConfig base_config_;
    Millis now_{0};
    bool broker_down_ = false;
    bool broker_stalled_ = false;
    Millis last_leader_change_{-1};  // any node's
    std::uint64_t outage_id_ = 0, split_id_ = 0, next_process_id_ = 0;
    SimStats stats_;
};

}  // namespace vigil::sim
