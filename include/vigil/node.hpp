#pragma once
// The pure core: composes election, failure detector and recovery planner.
// Messages and time in; messages to send, restarts to run and events out.
// No sockets, threads, clocks or randomness inside (cf. etcd raft's RawNode).
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "vigil/codec.hpp"
#include "vigil/crash_reports.hpp"
#include "vigil/election.hpp"
#include "vigil/failure_detector.hpp"
#include "vigil/gossip.hpp"
#include "vigil/message.hpp"
#include "vigil/observation.hpp"
#include "vigil/recovery_planner.hpp"
#include "vigil/time.hpp"

namespace vigil {

struct NodeConfig {
    std::string self;
    std::uint64_t incarnation = 0;
    Millis heartbeat_interval{2000};
    Millis heartbeat_timeout{6000};
    Millis election_timeout{3000};
    // Others may take this long to reconnect after a broker outage (their
    // reconnect back-off): added to the grace given on reconnecting.
    Millis reconnect_grace{5000};
    std::vector<std::string> expected_members;
    std::size_t max_members = 1024;
    // What receivers accept: no heartbeat of ours is ever larger.
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
    RecoveryPolicy recovery;
    // How much later than its schedule a heartbeat may arrive: the sidecar
    // loop's step plus the broker's delivery jitter. Silence is only proven
    // once our own heartbeat came back this much after the silent node's
    // next one was due.
    Millis path_slack{250};
    // When more than this share of the members is dead at once, the observer
    // is the likelier fault: silence-based restarts are paced to one per
    // mass_silence_pace (0 = one per heartbeat_interval).
    std::uint32_t mass_silence_percent = 50;
    Millis mass_silence_pace{0};
    // Fast crash signals (observe()). A closed connection is a death only if
    // that life has not reconnected within reconnect_window: a transport
    // whose connection blinked is back within its first reconnect back-off.
    // An exited container is a death only if no goodbye came within
    // exit_confirm: the goodbye of a graceful stop races Docker's event.
    Millis reconnect_window{1000};
    Millis exit_confirm{100};
};

struct Event {
    enum class Kind {
        LeaderChanged, MemberJoined, MemberRestarted, MemberDead, MemberDeparted,
        CutOff,         // no echo of our own heartbeats for a heartbeat timeout: stepped down
        PathRestored,   // our own heartbeats come back again
        MassSilence,    // many members dead at once: silence-based restarts paced
        MassSilenceOver,
        GoodbyeInRestart,   // the SIGTERM half of a restart: not a departure
        UnadmittedLeader,   // a higher node claims to lead but is no member here: we do not lead
        Refuted,            // a "later" life of ours is gossiped (a clock stepped back): new incarnation taken
    };
    Kind kind;
    std::string name;  // the leader for LeaderChanged ("" = none), else the member (self for ours)
    std::uint64_t term = 0;
    std::string detail;  // for the log: why
};
const char* to_string(Event::Kind kind) noexcept;

struct Output {
    std::vector<Outgoing> send;
    std::vector<std::string> restart;  // run the restart back-end for these now
    std::vector<Event> events;
    bool empty() const { return send.empty() && restart.empty() && events.empty(); }
};

// Messages dropped, by reason. Never fatal; counted so that an operator sees them.
struct DropCounters {
    std::uint64_t oversized = 0;
    std::uint64_t malformed = 0;
    std::uint64_t wrong_version = 0;
    std::uint64_t unknown_type = 0;
    std::uint64_t bad_field = 0;
    std::uint64_t bad_name = 0;
    std::uint64_t unknown_sender = 0;  // not an expected member
    std::uint64_t impostor = 0;        // our own name, another incarnation
    std::uint64_t stale = 0;           // an old term
    std::uint64_t table_full = 0;      // more members than max_members
    std::uint64_t out_of_range = 0;    // a term or incarnation past its bound

    void count(DecodeError error) noexcept;
    std::uint64_t total() const noexcept;
};

class Node {
public:
    explicit Node(NodeConfig config);

    Output connected(Millis now);     // broker reachable: fresh grace, then election
    Output disconnected(Millis now);  // cut off: stop acting as leader at once
    Output receive(const Message& message, Millis now);
    // A fast signal (observation.hpp): weighed now, acted on once confirmed
    // (tick()). A leader's reported end starts an election at once.
    Output observe(const Observation& observation, Millis now);
    Output tick(Millis now);
    Output restart_finished(const std::string& name, bool ok, Millis now);
    // The restarter had no room for it (or runs one for that name already).
    Output restart_postponed(const std::string& name, Millis now);
    // Call once the restarts of an Output have been started or postponed:
    // the heartbeat that tells the others which now run.
    Output restarts_handled(Millis now);
    Output leave(Millis now);  // graceful stop: say goodbye
    // The earliest time at which tick() may act (send, elect, judge, restart,
    // step down); never later than a heartbeat interval from `now`. Ticking
    // only then, and after every message, does all that ticking often does:
    // the sidecar sleeps until then instead of polling.
    Millis next_due(Millis now) const;
    void count_drop(DecodeError error) { drops_.count(error); }

    const std::string& self() const { return config_.self; }
    // Starts as configured; raised when the cluster holds a goodbye or a life
    // of ours it believes later (the host's clock stepped back).
    std::uint64_t incarnation() const { return incarnation_; }
    Role role() const { return election_.role(); }
    bool is_leader() const { return election_.is_leader() && connected_; }
    const std::string& leader() const { return election_.leader(); }
    std::uint64_t term() const { return election_.term(); }
    bool is_connected() const { return connected_; }
    // Our own heartbeat came back through the broker recently enough to trust
    // what we do not hear (a proof window: 2 heartbeat intervals + path_slack).
    bool hears_itself(Millis now) const;
    // Why this node is holding back ("" when it is not): cut off, deaf, pacing.
    std::string caution(Millis now) const;
    std::vector<MemberView> members(Millis now) const { return detector_.view(now); }
    const DropCounters& drops() const { return drops_; }
    const SignalCounters& signals() const { return signals_; }
    // This life's current broker connection (1, 2, ...; 0 before the first).
    std::uint64_t link() const { return link_; }
    std::uint64_t restarts_issued() const { return restarts_issued_; }
    const RecoveryPlanner& planner() const { return planner_; }

private:
    bool accept(const Message& message, Millis now, Output& out);
    bool accept_name(const std::string& name) const;
    void absorb(const Election::Effects& effects, Millis now, Output& out);
    void on_leadership_change(Millis now, Output& out);
    void send_heartbeat(Millis now, Output& out);
    Outgoing heartbeat(Audience audience, Millis now);
    void on_echo(std::uint64_t seq, Millis now, Output& out);
    void check_own_path(Millis now, Output& out);
    bool may_elect(Millis now) const;
    Millis hold_back() const;
    std::vector<std::string> presumed_gone() const;
    bool unopposed() const;
    bool signal_is_stale(const Observation& observation, const FailureDetector::Life& life) const;
    void confirm_reports(Millis now, Output& out);
    bool echo_overdue(Millis now) const;
    Millis proof_window() const { return 2 * config_.heartbeat_interval + config_.path_slack; }
    Millis proof_margin() const { return config_.heartbeat_interval + config_.path_slack; }
    std::size_t restart_limit(std::size_t dead, Millis now, Output& out);
    void learn_gossip(const Message& message, Millis now, Output& out);
    void refute(std::uint64_t theirs, bool goodbye, Millis now, Output& out);
    void correct(const std::string& name, Output& out);
    void probe(const std::string& name, Output& out);
    void tell(const std::string& name, Output& out);
    bool ours(const Message& message) const;
    bool note_unadmitted(const Message& message, Millis now, Output& out);
    void hold_or_resume(Millis now, Output& out);
    void watch(Millis now, Output& out);
    Message make(MessageType type) const;

    NodeConfig config_;
    std::uint64_t incarnation_;
    std::uint64_t refuted_incarnation_ = 0;  // the one before, whose echoes may still arrive
    Election election_;
    FailureDetector detector_;
    RecoveryPlanner planner_;
    DropCounters drops_;
    CrashReports reports_;
    SignalCounters signals_;
    std::uint64_t link_ = 0;
    bool connected_ = false;
    bool cut_off_before_ = false;  // lost the broker at least once
    bool left_ = false;
    bool was_leader_ = false;
    std::string last_leader_;
    Millis next_heartbeat_{0};
    std::uint64_t restarts_issued_ = 0;

    // Our own path through the broker: heartbeats sent and not yet echoed
    // (seq, sent at; bounded), and when the newest echoed one was sent.
    struct Sent {
        std::uint64_t seq;
        Millis at;
    };
    std::deque<Sent> unechoed_;
    std::uint64_t heartbeats_sent_ = 0;
    std::optional<Millis> echoed_sent_at_;
    Millis connected_at_{0};
    bool deaf_ = false;    // stepped down: no echo for a heartbeat timeout
    bool lapsed_ = false;  // the proof went stale at some tick since the last echo
    bool paced_ = false;   // mass silence: restarts paced
    bool announce_due_ = false;  // restarts issued, not yet told (restarts_handled)
    Millis next_paced_restart_{0};
    Millis unadmitted_until_{0};  // a higher leader we cannot admit was heard recently
    GossipCursors gossip_;
};

}  // namespace vigil
