#include "vigil/election.hpp"

#include <algorithm>

namespace vigil {

Election::Election(std::string self, std::uint64_t incarnation, ElectionTimeouts timeouts)
    : self_(std::move(self)), incarnation_(incarnation), timeouts_(timeouts) {}

void Election::reconnected(Millis now) {
    active_ = true;
    phase_ = Phase::Listening;
    role_ = Role::Follower;
    leader_.clear();
    deadline_ = now + timeouts_.listen;
}

void Election::cut_off() {
    active_ = false;
    phase_ = Phase::Listening;
    role_ = Role::Follower;
    leader_.clear();
}

Message Election::make(MessageType type) const {
    return Message{type, self_, term_, role_, leader_, incarnation_};
}

Outgoing Election::reply(MessageType type, const std::string& to) const {
    return Outgoing{make(type), Audience::Direct, to};
}

bool Election::following_live_leader(Millis now) const {
    return phase_ == Phase::Following && now - leader_heard_at_ <= timeouts_.leader;
}

void Election::start_election(Millis now, Effects& out) {
    phase_ = Phase::AwaitingAnswer;
    role_ = Role::Candidate;
    leader_.clear();
    deadline_ = now + timeouts_.election;
    out.send.push_back(Outgoing{make(MessageType::Election), Audience::Everyone, {}});
}

// Elect once the hold-back has passed (on_tick), unless a higher node's
// ELECTION or a leader is heard first. An earlier due time is kept.
void Election::elect_soon(Millis now) {
    if (phase_ == Phase::Listening) {
        deadline_ = std::min(deadline_, now);
        return;
    }
    phase_ = Phase::Listening;
    role_ = Role::Follower;
    leader_.clear();
    deadline_ = now;
}

// A higher node is alive and electing: it, or one above it, will lead. A
// leader, or a follower of a live leader, has nothing to stand down from.
void Election::stand_down(Millis now) {
    if (role_ == Role::Leader || following_live_leader(now)) return;
    phase_ = Phase::AwaitingCoordinator;
    role_ = Role::Candidate;
    leader_.clear();
    deadline_ = now + timeouts_.election;
}

void Election::become_leader(Effects& out) {
    phase_ = Phase::Leading;
    role_ = Role::Leader;
    leader_ = self_;
    term_ = next_term(max_term_seen_);
    max_term_seen_ = term_;
    announce(out);
}

void Election::announce(Effects& out) {
    out.send.push_back(Outgoing{make(MessageType::Coordinator), Audience::Everyone, {}});
}

void Election::follow(const std::string& leader, std::uint64_t term, Millis now) {
    phase_ = Phase::Following;
    role_ = Role::Follower;
    leader_ = leader;
    term_ = term;
    max_term_seen_ = std::max(max_term_seen_, term);
    leader_heard_at_ = now;
}

// A COORDINATOR, or a heartbeat sent as leader.
void Election::on_leader_claim(const Message& m, Millis now, Effects& out) {
    if (phase_ == Phase::Following && m.from == leader_ && m.term == term_) {
        leader_heard_at_ = now;  // the routine case
        return;
    }
    if (m.from < self_) {
        // Bully: a lower node may not lead while we are alive.
        if (role_ == Role::Leader) {
            term_ = next_term(std::max(term_, max_term_seen_));
            max_term_seen_ = term_;
            announce(out);
        } else if (following_live_leader(now) && m.from < leader_) {
            // Our leader outranks the claimant and, hearing it too, corrects it.
        } else if (!electing()) {
            elect_soon(now);
        }
        return;
    }
    if (m.term < term_) {
        out.stale = true;  // an old leader's word; it will learn our term
        return;
    }
    // Same term, two claimants: the higher name wins.
    if (m.term == term_ && !leader_.empty() && m.from < leader_) return;
    follow(m.from, m.term, now);
}

void Election::on_election(const Message& m, Millis now, Effects& out) {
    if (m.from > self_) {
        stand_down(now);  // as good as an ANSWER to our own election, sent or to come
        return;
    }
    if (role_ == Role::Leader) {
        out.send.push_back(reply(MessageType::Coordinator, m.from));  // tell the newcomer at once who leads
        return;
    }
    out.send.push_back(reply(MessageType::Answer, m.from));
    // With a live leader above the candidate, that leader tells it who leads.
    if (!following_live_leader(now) && !electing()) elect_soon(now);
}

Election::Effects Election::on_message(const Message& m, Millis now) {
    Effects out;
    if (!active_) return out;
    const std::string leader_before = leader_;
    max_term_seen_ = std::max(max_term_seen_, m.term);
    switch (m.type) {
        case MessageType::Election:
            on_election(m, now, out);
            break;
        case MessageType::Answer:
            if (phase_ == Phase::AwaitingAnswer && m.from > self_) {
                phase_ = Phase::AwaitingCoordinator;
                deadline_ = now + timeouts_.election;
            }
            break;
        case MessageType::Coordinator:
            on_leader_claim(m, now, out);
            break;
        case MessageType::Heartbeat:
            if (m.role == Role::Leader) on_leader_claim(m, now, out);
            // A higher candidate's heartbeat (its hello, its refutation) says
            // what its ELECTION says, if that was missed.
            if (m.role == Role::Candidate && m.from > self_) stand_down(now);
            break;
        case MessageType::Goodbye:
            break;  // the Node calls leader_left() when it matters
    }
    // Someone has seen a newer term than ours: make ours newer still.
    if (role_ == Role::Leader && max_term_seen_ > term_) {
        term_ = next_term(max_term_seen_);
        max_term_seen_ = term_;
        announce(out);
    }
    out.leader_changed = leader_ != leader_before;
    return out;
}

// Acts once next_deadline() has come: the one place that says when.
Election::Effects Election::on_tick(Millis now, Millis hold_back, bool unopposed) {
    Effects out;
    const std::optional<Millis> due = next_deadline(hold_back);
    if (!due || now < *due) return out;
    const std::string leader_before = leader_;
    if (phase_ == Phase::AwaitingAnswer || unopposed) {
        become_leader(out);  // no ANSWER came, or none can come
    } else {
        start_election(now, out);  // listened, waited for a COORDINATOR, or the leader went silent
    }
    out.leader_changed = leader_ != leader_before;
    return out;
}

std::optional<Millis> Election::next_deadline(Millis hold_back) const {
    if (!active_) return std::nullopt;
    switch (phase_) {
        case Phase::Listening:
        case Phase::AwaitingCoordinator: return deadline_ + hold_back;
        case Phase::Following: return leader_heard_at_ + timeouts_.leader + hold_back + Millis{1};
        case Phase::AwaitingAnswer: return deadline_;
        case Phase::Leading: return std::nullopt;
    }
    return std::nullopt;
}

Election::Effects Election::leader_left(Millis now) {
    Effects out;
    if (!active_ || phase_ != Phase::Following) return out;
    elect_soon(now);
    out.leader_changed = true;
    return out;
}

}  // namespace vigil
