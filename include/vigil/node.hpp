#pragma once
// The pure core: composes election, failure detector and recovery planner.
// Messages and time in; messages to send, restarts to run and events out.
// No sockets, threads, clocks or randomness inside (cf. etcd raft's RawNode).
#include <cstdint>
#include <string>
#include <vector>

#include "vigil/codec.hpp"
#include "vigil/election.hpp"
#include "vigil/failure_detector.hpp"
#include "vigil/message.hpp"
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
    RecoveryPolicy recovery;
};

// Who needs to hear a message. Follower heartbeats go to the leader only, so
// deliveries per interval grow linearly with the cluster.
enum class Audience { Everyone, Leader };

struct Outgoing {
    Message message;
    Audience audience = Audience::Everyone;
};

struct Event {
    enum class Kind { LeaderChanged, MemberJoined, MemberRestarted, MemberDead, MemberDeparted };
    Kind kind;
    std::string name;  // the leader for LeaderChanged ("" = none), else the member
    std::uint64_t term = 0;
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

    void count(DecodeError error) noexcept;
    std::uint64_t total() const noexcept;
};

class Node {
public:
    explicit Node(NodeConfig config);

    Output connected(Millis now);     // broker reachable: fresh grace, then election
    Output disconnected(Millis now);  // cut off: stop acting as leader at once
    Output receive(const Message& message, Millis now);
    Output tick(Millis now);
    Output restart_finished(const std::string& name, bool ok, Millis now);
    Output leave(Millis now);  // graceful stop: say goodbye
    void count_drop(DecodeError error) { drops_.count(error); }

    const std::string& self() const { return config_.self; }
    Role role() const { return election_.role(); }
    bool is_leader() const { return election_.is_leader() && connected_; }
    const std::string& leader() const { return election_.leader(); }
    std::uint64_t term() const { return election_.term(); }
    bool is_connected() const { return connected_; }
    std::vector<MemberView> members(Millis now) const { return detector_.view(now); }
    const DropCounters& drops() const { return drops_; }
    std::uint64_t restarts_issued() const { return restarts_issued_; }
    const RecoveryPlanner& planner() const { return planner_; }

private:
    bool accept(const Message& message);
    void absorb(const Election::Effects& effects, Millis now, Output& out);
    void on_leadership_change(Millis now, Output& out);
    void send_heartbeat(Millis now, Output& out);
    void learn_departures(const Message& message, Millis now, Output& out);
    void watch(Millis now, Output& out);
    Message make(MessageType type) const;

    NodeConfig config_;
    Election election_;
    FailureDetector detector_;
    RecoveryPlanner planner_;
    DropCounters drops_;
    bool connected_ = false;
    bool cut_off_before_ = false;  // lost the broker at least once
    bool left_ = false;
    bool was_leader_ = false;
    std::string last_leader_;
    Millis next_heartbeat_{0};
    std::uint64_t restarts_issued_ = 0;
};

}  // namespace vigil
