#include "vigil/node.hpp"

#include <algorithm>

namespace vigil {

const char* to_string(Event::Kind kind) noexcept {
    switch (kind) {
        case Event::Kind::LeaderChanged: return "leader_changed";
        case Event::Kind::MemberJoined: return "member_joined";
        case Event::Kind::MemberRestarted: return "member_restarted";
        case Event::Kind::MemberDead: return "member_dead";
        case Event::Kind::MemberDeparted: return "member_departed";
    }
    return "?";
}

void DropCounters::count(DecodeError error) noexcept {
    switch (error) {
        case DecodeError::None: break;
        case DecodeError::Oversized: ++oversized; break;
        case DecodeError::Malformed: ++malformed; break;
        case DecodeError::WrongVersion: ++wrong_version; break;
        case DecodeError::UnknownType: ++unknown_type; break;
        case DecodeError::BadField: ++bad_field; break;
        case DecodeError::BadName: ++bad_name; break;
    }
}

std::uint64_t DropCounters::total() const noexcept {
    return oversized + malformed + wrong_version + unknown_type + bad_field + bad_name + unknown_sender +
           impostor + stale + table_full;
}

Node::Node(NodeConfig config)
    : config_(std::move(config)),
      election_(config_.self, config_.incarnation,
                ElectionTimeouts{config_.election_timeout, config_.heartbeat_timeout, config_.election_timeout}),
      detector_(config_.heartbeat_timeout, config_.max_members),
      planner_(config_.recovery) {
    for (const std::string& member : config_.expected_members) {
        if (member != config_.self) detector_.expect(member, Millis{0});
    }
}

Message Node::make(MessageType type) const {
    Message message{type, config_.self, election_.term(), election_.role(), election_.leader(), config_.incarnation};
    if (type == MessageType::Heartbeat) {
        message.departed = detector_.departures(kMaxDeparturesPerMessage);
        message.lives = detector_.lives(kMaxDeparturesPerMessage);
    }
    return message;
}

// Goodbyes heard by others: a leader that never heard one must not resurrect
// that node. Later lives heard by others: a leader that missed the comeback
// must still restart the node when that life dies.
void Node::learn_departures(const Message& message, Millis now, Output& out) {
    for (const Departure& life : message.lives) {
        if (life.name != config_.self && detector_.learn_life(life.name, life.incarnation, now)) {
            out.events.push_back(Event{Event::Kind::MemberJoined, life.name, election_.term()});
        }
    }
    if (message.role == Role::Leader) detector_.settle(message.departed);
    for (const Departure& departure : message.departed) {
        if (departure.name == config_.self) continue;
        if (detector_.learn_departed(departure.name, departure.incarnation)) {
            planner_.forget(departure.name);
            out.events.push_back(Event{Event::Kind::MemberDeparted, departure.name, election_.term()});
        }
    }
}

Output Node::connected(Millis now) {
    Output out;
    if (left_) return out;
    connected_ = true;
    election_.reconnected(now);
    // Nobody is judged on silence while we were away, nor, after an outage,
    // while the others are still finding their way back to the broker.
    detector_.grace_all(cut_off_before_ ? now + config_.reconnect_grace : now);
    on_leadership_change(now, out);
    // A hello to everyone, not just the leader: whoever remembers an old
    // goodbye of ours learns that this is a new life, and stops gossiping it.
    out.send.push_back(Outgoing{make(MessageType::Heartbeat), Audience::Everyone});
    next_heartbeat_ = now + config_.heartbeat_interval;
    return out;
}

Output Node::disconnected(Millis now) {
    Output out;
    cut_off_before_ = cut_off_before_ || connected_;
    connected_ = false;
    election_.cut_off();
    on_leadership_change(now, out);
    return out;
}

bool Node::accept(const Message& message) {
    if (message.from == config_.self) {
        // Our own broadcast coming back is normal; our name from another process is not.
        if (message.incarnation != config_.incarnation) ++drops_.impostor;
        return false;
    }
    const auto& expected = config_.expected_members;
    if (!expected.empty() && std::find(expected.begin(), expected.end(), message.from) == expected.end()) {
        ++drops_.unknown_sender;
        return false;
    }
    return true;
}

Output Node::receive(const Message& message, Millis now) {
    Output out;
    if (!connected_ || !accept(message)) return out;  // after leave() we stay unconnected
    if (message.type == MessageType::Goodbye) {
        detector_.departed(message.from, message.incarnation);
        planner_.forget(message.from);
        out.events.push_back(Event{Event::Kind::MemberDeparted, message.from, election_.term()});
        if (message.from == election_.leader()) absorb(election_.leader_left(now), now, out);
        return out;
    }
    switch (detector_.heard(message.from, message.incarnation, now)) {
        case FailureDetector::Heard::TableFull:
            ++drops_.table_full;
            return out;
        case FailureDetector::Heard::Departed:
            ++drops_.stale;  // sent before its goodbye, delivered after
            return out;
        case FailureDetector::Heard::New:
        case FailureDetector::Heard::Rejoined:
            out.events.push_back(Event{Event::Kind::MemberJoined, message.from, election_.term()});
            break;
        case FailureDetector::Heard::Restarted:
            out.events.push_back(Event{Event::Kind::MemberRestarted, message.from, election_.term()});
            break;
        case FailureDetector::Heard::Known:
            break;
    }
    planner_.healthy(message.from, now);
    learn_departures(message, now, out);
    absorb(election_.on_message(message, now), now, out);
    return out;
}

Output Node::tick(Millis now) {
    Output out;
    if (!connected_) return out;
    absorb(election_.on_tick(now), now, out);
    if (now >= next_heartbeat_) send_heartbeat(now, out);
    if (is_leader()) watch(now, out);
    return out;
}

Output Node::restart_finished(const std::string& name, bool ok, Millis now) {
    planner_.finished(name, ok, now);
    return Output{};
}

Output Node::leave(Millis now) {
    Output out;
    if (connected_) out.send.push_back(Outgoing{make(MessageType::Goodbye), Audience::Everyone});
    left_ = true;
    connected_ = false;
    election_.cut_off();
    on_leadership_change(now, out);
    return out;
}

void Node::absorb(const Election::Effects& effects, Millis now, Output& out) {
    for (const Message& message : effects.broadcast) out.send.push_back(Outgoing{message, Audience::Everyone});
    if (effects.stale) ++drops_.stale;
    on_leadership_change(now, out);
}

void Node::on_leadership_change(Millis now, Output& out) {
    const bool leading = election_.is_leader();
    if (leading != was_leader_) {
        was_leader_ = leading;
        planner_.clear();  // restart history belongs to one reign
        if (leading) {
            // Judge everyone from now on, including members never heard.
            detector_.grace_all(now);
            for (const std::string& member : config_.expected_members) {
                if (member != config_.self) detector_.expect(member, now);
            }
            send_heartbeat(now, out);
        }
    }
    if (election_.leader() != last_leader_) {
        last_leader_ = election_.leader();
        out.events.push_back(Event{Event::Kind::LeaderChanged, last_leader_, election_.term()});
    }
}

void Node::send_heartbeat(Millis now, Output& out) {
    const Audience audience = election_.is_leader() ? Audience::Everyone : Audience::Leader;
    out.send.push_back(Outgoing{make(MessageType::Heartbeat), audience});
    next_heartbeat_ = now + config_.heartbeat_interval;
}

void Node::watch(Millis now, Output& out) {
    for (const std::string& name : detector_.newly_dead(now)) {
        planner_.unhealthy(name);
        out.events.push_back(Event{Event::Kind::MemberDead, name, election_.term()});
    }
    for (std::string& name : planner_.plan(detector_.dead(), now)) {
        ++restarts_issued_;
        out.restart.push_back(std::move(name));
    }
}

}  // namespace vigil
