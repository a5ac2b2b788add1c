#pragma once
// Bully election with terms. Highest name (byte-wise) among live nodes leads.
// Pure: messages and time in, messages and role changes out.
//
// Kept linear in the cluster's size: an ELECTION is broadcast, but a higher
// node's ELECTION already tells every lower one "stand down" (no ANSWER is
// needed for it), replies to one candidate go to it alone, and a node holds
// its own election back by its rank (Node's hold_back), so that the highest
// live node usually elects alone and the others only hear it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/message.hpp"
#include "vigil/time.hpp"

namespace vigil {

struct ElectionTimeouts {
    Millis election{3000};  // wait for an ANSWER, then for a COORDINATOR
    Millis leader{6000};    // a follower whose leader is silent this long elects
    Millis listen{3000};    // after (re)connecting, listen for a leader first
};

class Election {
public:
    struct Effects {
        std::vector<Outgoing> send;  // ELECTION / ANSWER / COORDINATOR
        bool leader_changed = false;
        bool stale = false;  // the message was from an old term and ignored
    };

    Election(std::string self, std::uint64_t incarnation, ElectionTimeouts timeouts);

    void reconnected(Millis now);  // listen, then elect if no leader shows up
    void cut_off();                // not connected: no role, no leader
    Effects on_message(const Message& message, Millis now);
    // `hold_back`: how much longer than its timeouts this node waits before
    // starting an election of its own, so that higher nodes go first.
    // `unopposed`: every higher name is known to be gone (dead, departed, its
    // end reported): when due, lead at once instead of waiting out an ANSWER
    // that nobody is left to send. Wrongly so, a higher node that is alive
    // after all takes over again by Bully.
    Effects on_tick(Millis now, Millis hold_back = Millis{0}, bool unopposed = false);
    // The current leader said goodbye, or its end was reported: elect after
    // the hold-back.
    Effects leader_left(Millis now);
    // This life now goes by a larger incarnation (Node::refute).
    void set_incarnation(std::uint64_t incarnation) { incarnation_ = incarnation; }

    // When on_tick(·, hold_back) would next act, if it has a timer running.
    std::optional<Millis> next_deadline(Millis hold_back) const;

    Role role() const { return role_; }
    const std::string& leader() const { return leader_; }
    std::uint64_t term() const { return term_; }
    bool is_leader() const { return role_ == Role::Leader; }
    bool active() const { return active_; }
    // Following a leader, last heard from at leader_heard_at().
    bool following() const { return active_ && phase_ == Phase::Following; }
    Millis leader_heard_at() const { return leader_heard_at_; }

private:
    enum class Phase { Listening, Following, AwaitingAnswer, AwaitingCoordinator, Leading };

    Message make(MessageType type) const;
    Outgoing reply(MessageType type, const std::string& to) const;
    bool following_live_leader(Millis now) const;
    bool electing() const { return phase_ == Phase::AwaitingAnswer || phase_ == Phase::AwaitingCoordinator; }
    void start_election(Millis now, Effects& out);
    void elect_soon(Millis now);
    void stand_down(Millis now);
    void become_leader(Effects& out);
    void announce(Effects& out);
    void follow(const std::string& leader, std::uint64_t term, Millis now);
    void on_leader_claim(const Message& m, Millis now, Effects& out);
    void on_election(const Message& m, Millis now, Effects& out);

    std::string self_;
    std::uint64_t incarnation_;
    ElectionTimeouts timeouts_;
    bool active_ = false;
    Phase phase_ = Phase::Listening;
    Role role_ = Role::Follower;
    std::string leader_;
    std::uint64_t term_ = 0;
    std::uint64_t max_term_seen_ = 0;
    Millis deadline_{0};          // end of the current listen / wait phase
    Millis leader_heard_at_{0};
};

}  // namespace vigil
