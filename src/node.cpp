#include "vigil/node.hpp"

#include <algorithm>
#include <climits>

namespace vigil {

const char* to_string(Event::Kind kind) noexcept {
    switch (kind) {
        case Event::Kind::LeaderChanged: return "leader_changed";
        case Event::Kind::MemberJoined: return "member_joined";
        case Event::Kind::MemberRestarted: return "member_restarted";
        case Event::Kind::MemberDead: return "member_dead";
        case Event::Kind::MemberDeparted: return "member_departed";
        case Event::Kind::CutOff: return "cut_off";
        case Event::Kind::PathRestored: return "path_restored";
        case Event::Kind::MassSilence: return "mass_silence";
        case Event::Kind::MassSilenceOver: return "mass_silence_over";
        case Event::Kind::GoodbyeInRestart: return "goodbye_in_restart";
        case Event::Kind::UnadmittedLeader: return "unadmitted_leader";
        case Event::Kind::Refuted: return "refuted";
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
        case DecodeError::OutOfRange: ++out_of_range; break;
    }
}

std::uint64_t DropCounters::total() const noexcept {
    return oversized + malformed + wrong_version + unknown_type + bad_field + bad_name + unknown_sender +
           impostor + stale + table_full + out_of_range;
}

Node::Node(NodeConfig config)
    : config_(std::move(config)),
      incarnation_(config_.incarnation),
      election_(config_.self, incarnation_,
                ElectionTimeouts{config_.election_timeout, config_.heartbeat_timeout, config_.election_timeout}),
      detector_(config_.heartbeat_timeout, config_.max_members),
      planner_(config_.recovery) {
    for (const std::string& member : config_.expected_members) {
        if (member != config_.self) detector_.expect(member, Millis{0});
    }
}

Message Node::make(MessageType type) const {
    Message message{type, config_.self, election_.term(), election_.role(), election_.leader(), incarnation_};
    message.link = link_;
    return message;
}

// What heartbeats tell, so that the cluster's knowledge outlives any reign:
// - later lives: a leader that missed a comeback still restarts it when it dies;
// - goodbyes: a leader that never heard one must not resurrect that node
//   (unless the node is being restarted: that goodbye was the SIGTERM half);
// - members: every node knows every member, so every next leader does;
// - restarts: back-off counts and restarts in flight carry over to the next leader.
void Node::learn_gossip(const Message& message, Millis now, Output& out) {
    for (const Departure& life : message.lives) {
        if (life.name == config_.self) refute(life.incarnation, false, now, out);
        if (life.name != config_.self && detector_.learn_life(life.name, life.incarnation, now)) {
            out.events.push_back(Event{Event::Kind::MemberJoined, life.name, election_.term()});
        }
    }
    if (message.role == Role::Leader) detector_.settle(message.departed);
    for (const Departure& departure : message.departed) {
        if (departure.name == config_.self) {
            refute(departure.incarnation, true, now, out);
            continue;
        }
        // A later life we know of is news for the sender (learn_departed says
        // so in our lives). A goodbye told second-hand while the node is being
        // restarted or still boots from it is, most likely, the restart's
        // SIGTERM: no departure.
        if (!detector_.knows_later_life(departure.name, departure.incarnation) &&
            planner_.restarting(departure.name, now)) {
            continue;
        }
        if (detector_.learn_departed(departure.name, departure.incarnation)) {
            planner_.forget(departure.name);
            out.events.push_back(Event{Event::Kind::MemberDeparted, departure.name, election_.term()});
        }
    }
    for (const Departure& member : message.members) {
        if (member.name == config_.self) refute(member.incarnation, false, now, out);
        if (member.name != config_.self && accept_name(member.name)) {
            detector_.learn_member(member.name, member.incarnation, now);
        }
    }
    for (const RestartNote& note : message.restarts) {
        if (note.name != config_.self && accept_name(note.name)) planner_.learn(note, now);
    }
}

// Others hold a life of ours later than this one (a goodbye from it, or an
// older life they still remember): this life's incarnation came from a host
// clock that stepped back. Those who know that goodbye drop us as its late
// echo; those who remember that life take our goodbye for an older one's. As
// SWIM's refutation: take a larger incarnation and say so at once.
void Node::refute(std::uint64_t theirs, bool goodbye, Millis now, Output& out) {
    if (theirs < incarnation_ || (theirs == incarnation_ && !goodbye) || theirs >= kMaxIncarnation) return;
    refuted_incarnation_ = incarnation_;
    incarnation_ = theirs + 1;
    election_.set_incarnation(incarnation_);
    out.events.push_back(Event{Event::Kind::Refuted, config_.self, election_.term(),
                               std::string(goodbye ? "a goodbye of mine" : "a life of mine") + " from incarnation " +
                                   std::to_string(theirs) + " is known, not earlier than this life's " +
                                   std::to_string(refuted_incarnation_) +
                                   " (the host clock stepped back?): now incarnation " + std::to_string(incarnation_)});
    out.send.push_back(heartbeat(Audience::Everyone, now));
}

// ... or a life that is not over at all: a forged goodbye, or a host clock
// that stepped back gave it an incarnation no later than one that left. Tell
// it, to it alone, which goodbye we hold, so that it refutes at once (SWIM)
// instead of being ignored, and outranked in elections, until gossip reaches
// it. A late message from a life that is really over reaches nobody, or its
// later life, which knows better.
void Node::correct(const std::string& name, Output& out) {
    Message message = make(MessageType::Heartbeat);
    message.departed.push_back(Departure{name, detector_.goodbye_of(name)});
    out.send.push_back(Outgoing{std::move(message), Audience::Direct, name});
}

// Are you there? Sent to a member whose end is reported (by the leader, which
// acts on it): alive, it answers from its current link within one trip, and
// that disproves a report about an earlier link that a new leader never
// heard it replace.
void Node::probe(const std::string& name, Output& out) {
    Message message = make(MessageType::Heartbeat);
    message.probe = true;
    out.send.push_back(Outgoing{std::move(message), Audience::Direct, name});
}

// A heartbeat to one member alone, outside the schedule: the answer to its
// probe, or a leader's welcome to a member that (re)joins, which tells it who
// leads at once rather than with the next heartbeat (a higher member takes
// over by Bully an interval sooner, a lower one stops listening and follows).
void Node::tell(const std::string& name, Output& out) {
    out.send.push_back(Outgoing{make(MessageType::Heartbeat), Audience::Direct, name});
}

bool Node::ours(const Message& message) const {
    return message.from == config_.self &&
           (message.incarnation == incarnation_ || (refuted_incarnation_ && message.incarnation == refuted_incarnation_));
}

bool Node::accept_name(const std::string& name) const {
    const auto& expected = config_.expected_members;
    return expected.empty() || std::find(expected.begin(), expected.end(), name) != expected.end();
}

// A higher node claims to lead, and we drop its messages (not an expected
// member here, or no room in the table): leading beside it would make two
// leaders for as long as it lasts, so we say so and stand down instead.
bool Node::note_unadmitted(const Message& message, Millis now, Output& out) {
    const bool claim = message.type == MessageType::Coordinator ||
                       (message.type == MessageType::Heartbeat && message.role == Role::Leader);
    if (!claim || !(config_.self < message.from)) return false;
    if (now >= unadmitted_until_) {
        out.events.push_back(Event{Event::Kind::UnadmittedLeader, message.from, message.term,
                                   message.from + " claims to lead, but its messages are dropped here "
                                                  "(not in EXPECTED_MEMBERS, or the member table is full)"});
    }
    unadmitted_until_ = now + config_.heartbeat_timeout;
    return true;
}

Output Node::connected(Millis now) {
    Output out;
    if (left_) return out;
    connected_ = true;
    connected_at_ = now;
    link_ = std::min(link_ + 1, kMaxLink);
    unechoed_.clear();  // the old connection's queue, and its echoes, are gone
    echoed_sent_at_.reset();
    deaf_ = lapsed_ = paced_ = false;
    election_.reconnected(now);
    // Nobody is judged on silence while we were away, nor, after an outage,
    // while the others are still finding their way back to the broker.
    detector_.grace_all(cut_off_before_ ? now + config_.reconnect_grace : now);
    on_leadership_change(now, out);
    // A hello to everyone, not just the leader: whoever remembers an old
    // goodbye of ours learns that this is a new life, and stops gossiping it.
    out.send.push_back(heartbeat(Audience::Everyone, now));
    next_heartbeat_ = now + config_.heartbeat_interval;
    return out;
}

Output Node::disconnected(Millis now) {
    Output out;
    cut_off_before_ = cut_off_before_ || connected_;
    connected_ = false;
    reports_.clear();  // what we heard of others' ends while connected is no proof now
    election_.cut_off();
    on_leadership_change(now, out);
    return out;
}

bool Node::accept(const Message& message, Millis now, Output& out) {
    if (message.from == config_.self) {
        // Our own broadcast coming back is normal; our name from another process is not.
        if (!ours(message)) ++drops_.impostor;
        return false;
    }
    if (!accept_name(message.from)) {
        ++drops_.unknown_sender;
        note_unadmitted(message, now, out);
        return false;
    }
    return true;
}

Output Node::receive(const Message& message, Millis now) {
    Output out;
    if (!connected_) return out;  // after leave() we stay unconnected
    if (!in_range(message)) {
        ++drops_.out_of_range;  // only a wrap or a forgery gets this far ahead
        return out;
    }
    if (ours(message)) {
        if (message.type == MessageType::Heartbeat) on_echo(message.seq, now, out);
        return out;
    }
    if (!accept(message, now, out)) return out;
    if (message.type == MessageType::Goodbye) {
        reports_.drop(message.from);  // it ended, and meant to
        if (planner_.goodbye_is_restart(message.from, now)) {
            out.events.push_back(Event{Event::Kind::GoodbyeInRestart, message.from, election_.term(),
                                       "said goodbye while being restarted: part of the restart, not a departure"});
            return out;
        }
        if (!detector_.departed(message.from, message.incarnation)) {
            ++drops_.table_full;
            return out;
        }
        planner_.forget(message.from);
        out.events.push_back(Event{Event::Kind::MemberDeparted, message.from, election_.term()});
        if (message.from == election_.leader()) absorb(election_.leader_left(now), now, out);
        return out;
    }
    bool new_life = false;
    switch (detector_.heard(message.from, message.incarnation, now, message.link)) {
        case FailureDetector::Heard::TableFull:
            ++drops_.table_full;
            note_unadmitted(message, now, out);
            return out;
        case FailureDetector::Heard::Departed:
            ++drops_.stale;  // sent before its goodbye, delivered after ...
            correct(message.from, out);
            return out;
        case FailureDetector::Heard::New:
        case FailureDetector::Heard::Rejoined:
            out.events.push_back(Event{Event::Kind::MemberJoined, message.from, election_.term()});
            if (is_leader()) tell(message.from, out);
            break;
        case FailureDetector::Heard::Restarted:
            new_life = true;
            out.events.push_back(Event{Event::Kind::MemberRestarted, message.from, election_.term()});
            if (is_leader()) tell(message.from, out);
            break;
        case FailureDetector::Heard::Known:
            break;
    }
    planner_.healthy(message.from, now, new_life);
    if (reports_.heard(message.from, message.incarnation, message.link)) ++signals_.disproved;
    if (message.probe && message.type == MessageType::Heartbeat) tell(message.from, out);
    learn_gossip(message, now, out);
    // Sent before the end that is reported of it, delivered after: no word
    // on who leads (a dead leader's late heartbeat would be followed again).
    if (reports_.pending(message.from)) return out;
    absorb(election_.on_message(message, now), now, out);
    return out;
}

// A fast signal is a claim about one life, and may be late, duplicated or
// about an earlier life or connection: it is taken only when it is about the
// newest life and link we know of, and acted on only if nothing proves that
// life alive within its window (confirm_reports). A leader's reported end
// costs at most an early election, so that is started at once.
Output Node::observe(const Observation& observation, Millis now) {
    Output out;
    const std::string& name = observation.name;
    switch (observation.kind) {
        case Observation::Kind::LinkClosed: ++signals_.link_closed; break;
        case Observation::Kind::ContainerExited: ++signals_.container_exited; break;
        case Observation::Kind::ContainerStarted: ++signals_.container_started; break;
    }
    // Not while cut off (a broker restart closes every connection: an outage,
    // not a mass death), nor about anyone but a member.
    if (!connected_ || name == config_.self || !accept_name(name) || !detector_.knows(name)) {
        ++signals_.moot;
        return out;
    }
    // A start is remembered whoever started it: an exit from before it, even
    // one that Docker's stream delivers after it, is an earlier life's.
    if (observation.kind == Observation::Kind::ContainerStarted) {
        if (reports_.started(name, observation.at)) ++signals_.disproved;
        return out;
    }
    // Nor about a member that left or is being restarted (its restart's own
    // stop, or a crash during the boot grace: back-off rules apply, and
    // heartbeats see it).
    if (detector_.liveness(name) == Liveness::Departed || planner_.restarting(name, now)) {
        ++signals_.moot;
        return out;
    }
    const FailureDetector::Life life = detector_.life(name);
    if (signal_is_stale(observation, life)) {
        ++signals_.stale;
        return out;
    }
    const bool closed = observation.kind == Observation::Kind::LinkClosed;
    CrashReports::Report report;
    report.kind = observation.kind;
    report.incarnation = closed ? observation.incarnation : life.incarnation;
    report.exact = closed ? life.link != 0 && observation.link == life.link : life.heard_since.has_value();
    report.link = closed ? observation.link : 0;
    report.at = observation.at;
    report.confirm_at = now + (closed ? config_.reconnect_window : config_.exit_confirm);
    if (!reports_.add(name, report)) {
        ++signals_.duplicate;
        return out;
    }
    if (is_leader()) probe(name, out);
    if (election_.following() && election_.leader() == name) absorb(election_.leader_left(now), now, out);
    return out;
}

// Not about the life we hear: a closed connection of an earlier link, or of
// another life (incarnations order lives only while the host's clock does
// not step back, so any other is suspect), or an exit from before the life we
// hear started. A member never heard has no life to compare with.
bool Node::signal_is_stale(const Observation& observation, const FailureDetector::Life& life) const {
    if (observation.kind == Observation::Kind::LinkClosed) {
        if (life.incarnation == 0) return false;
        return observation.incarnation != life.incarnation || observation.link < life.link;
    }
    return (life.heard_since && *life.heard_since >= observation.at) ||
           reports_.started_since(observation.name, observation.at);
}

// Reports whose window passed with no sign of life are deaths, for a leader
// that hears itself (as deaths found by silence are); the planner decides the
// restart (one in flight, back-off, boot grace, pacing when many die at once).
void Node::confirm_reports(Millis now, Output& out) {
    for (const auto& [name, report] : reports_.take_due(now)) {
        if (!is_leader() || !hears_itself(now) || planner_.restarting(name, now) ||
            !detector_.declare_dead(name)) {
            ++signals_.unused;
            continue;
        }
        ++signals_.confirmed;
        planner_.unhealthy(name);
        const bool closed = report.kind == Observation::Kind::LinkClosed;
        out.events.push_back(Event{
            Event::Kind::MemberDead, name, election_.term(),
            closed ? "its broker connection closed and it did not reconnect within " +
                         std::to_string(config_.reconnect_window.count()) + " ms"
                   : "its container exited and it said no goodbye"});
    }
}

Output Node::tick(Millis now) {
    Output out;
    if (!connected_) return out;
    check_own_path(now, out);
    hold_or_resume(now, out);
    confirm_reports(now, out);
    if (election_.active() && may_elect(now)) absorb(election_.on_tick(now, hold_back(), unopposed()), now, out);
    if (now >= next_heartbeat_) send_heartbeat(now, out);
    if (is_leader() && hears_itself(now)) watch(now, out);
    return out;
}

Millis Node::next_due(Millis now) const {
    Millis due = now + config_.heartbeat_interval;
    if (!connected_) return due;
    // A time already past was acted on by the last tick, or waits on a
    // message (an echo) whose arrival ticks anyway.
    const auto soon = [&due, now](std::optional<Millis> at) {
        if (at && *at > now) due = std::min(due, *at);
    };
    soon(next_heartbeat_);
    soon(reports_.next_due());
    if (election_.active()) soon(election_.next_deadline(hold_back()));
    // Our own path: when it counts as cut off, when the proof lapses, when a
    // heartbeat becomes overdue for its echo.
    const Millis proof_at = echoed_sent_at_.value_or(connected_at_);
    if (!deaf_) soon(proof_at + config_.heartbeat_timeout + Millis{1});
    if (echoed_sent_at_) soon(*echoed_sent_at_ + proof_window() + Millis{1});
    if (!unechoed_.empty()) soon(unechoed_.front().at + config_.path_slack + Millis{1});
    if (now < unadmitted_until_) soon(unadmitted_until_);
    if (is_leader()) {
        soon(detector_.next_expiry());
        for (const std::string& name : detector_.dead()) {
            if (!planner_.in_flight(name)) soon(planner_.next_allowed(name, now));
        }
        if (paced_) soon(next_paced_restart_);
    }
    return due;
}

bool Node::hears_itself(Millis now) const {
    return connected_ && echoed_sent_at_ && now - *echoed_sent_at_ <= proof_window();
}

// One path_slack (how late a message may arrive) per member above us that
// may be alive, capped at an election timeout: the highest live node elects
// first, and everyone below hears its ELECTION before their own is due. The
// leader we follow does not count: its silence is why we would elect.
Millis Node::hold_back() const {
    const std::size_t above = detector_.present_above(config_.self, presumed_gone());
    const auto cap = static_cast<std::size_t>(config_.election_timeout / std::max(config_.path_slack, Millis{1}));
    return config_.path_slack * static_cast<std::int64_t>(std::min(above, cap));
}

// Members above us that may well be gone: the leader we follow (its silence
// is why we would elect), and those whose end a fast signal reported.
std::vector<std::string> Node::presumed_gone() const {
    std::vector<std::string> names = reports_.names();
    if (election_.following()) names.push_back(election_.leader());
    return names;
}

// Every higher name is gone as far as we know (departed, or the end of the
// very life and link we heard reported; a Dead mark may be old news from when
// we led): no ANSWER can come, so waiting for one only delays the hand-over.
// Only with EXPECTED_MEMBERS does a node know every name; without, a node
// that just started has not heard of them all.
bool Node::unopposed() const {
    return !config_.expected_members.empty() &&
           detector_.remaining_above(config_.self, reports_.names(true)) == 0;
}

// Elections act on silence too: a follower whose leader went quiet elects only
// if its own heartbeat came back well after the leader's next one was due.
bool Node::may_elect(Millis now) const {
    if (!hears_itself(now) || echo_overdue(now)) return false;
    return !election_.following() || *echoed_sent_at_ - election_.leader_heard_at() >= proof_margin();
}

// The proof above may be up to two intervals old. A heartbeat of ours whose
// echo is overdue says our path may be failing right now (a short deafness
// would hide a member's next heartbeat from us): judge no one until it, or a
// later one, comes back.
bool Node::echo_overdue(Millis now) const {
    return !unechoed_.empty() && now - unechoed_.front().at > config_.path_slack;
}

// No echo for a whole heartbeat timeout: we cannot tell "they died" from "we
// cannot hear", so we stop leading (and electing) until our path is back.
void Node::check_own_path(Millis now, Output& out) {
    if (!hears_itself(now)) lapsed_ = true;
    const Millis proof_at = echoed_sent_at_.value_or(connected_at_);
    if (deaf_ || now - proof_at <= config_.heartbeat_timeout) return;
    deaf_ = true;
    out.events.push_back(Event{Event::Kind::CutOff, config_.self, election_.term(),
                               "no echo of my own heartbeats through the broker for " +
                                   std::to_string((now - proof_at).count()) + " ms"});
}

// Deaf, or a higher leader we cannot admit: no role in the election. Once
// neither holds: listen, then elect, as after a reconnect.
void Node::hold_or_resume(Millis now, Output& out) {
    const bool hold = deaf_ || now < unadmitted_until_;
    if (hold == !election_.active()) return;
    if (hold) {
        election_.cut_off();
    } else {
        election_.reconnected(now);
    }
    on_leadership_change(now, out);
}

void Node::on_echo(std::uint64_t seq, Millis now, Output& out) {
    // Only heartbeats of this connection count; a replayed or forged number is ignored.
    const auto it = std::find_if(unechoed_.begin(), unechoed_.end(), [&](const Sent& sent) { return sent.seq == seq; });
    if (it == unechoed_.end()) return;
    echoed_sent_at_ = std::max(echoed_sent_at_.value_or(it->at), it->at);
    unechoed_.erase(unechoed_.begin(), it + 1);
    if (!hears_itself(now)) return;  // a backlog from a stall: not proof of now
    if (deaf_) {
        // As after a reconnect (the next tick listens, then elects), and
        // everyone gets a fresh grace, since others may have been cut off too
        // and be on their way back.
        deaf_ = false;
        detector_.grace_all(now + config_.reconnect_grace);
        out.events.push_back(Event{Event::Kind::PathRestored, config_.self, election_.term(),
                                   "my own heartbeats come back through the broker again"});
    } else if (lapsed_) {
        detector_.grace_all(now);  // what we missed meanwhile may still be queued
    }
    lapsed_ = false;
}

std::string Node::caution(Millis now) const {
    if (left_) return "stopped";
    if (!connected_) return "not connected to the broker: not leading, restarting no one";
    const Millis proof_at = echoed_sent_at_.value_or(connected_at_);
    const std::string since = std::to_string((now - proof_at).count()) + " ms";
    if (deaf_) return "no echo of my own heartbeats through the broker for " + since + ": not leading, restarting no one";
    if (!hears_itself(now)) return "my own heartbeats have not come back for " + since + ": judging no one";
    if (paced_) {
        return std::to_string(detector_.dead_count()) + " of " + std::to_string(detector_.present()) +
               " members silent at once: restarts paced";
    }
    return "";
}

Output Node::restart_finished(const std::string& name, bool ok, Millis now) {
    planner_.finished(name, ok, now);
    return Output{};
}

Output Node::restart_postponed(const std::string& name, Millis now) {
    planner_.postponed(name, now);
    return Output{};
}

Output Node::leave(Millis now) {
    Output out;
    if (connected_) out.send.push_back(Outgoing{make(MessageType::Goodbye), Audience::Everyone});
    left_ = true;
    connected_ = false;
    reports_.clear();
    election_.cut_off();
    on_leadership_change(now, out);
    return out;
}

void Node::absorb(const Election::Effects& effects, Millis now, Output& out) {
    out.send.insert(out.send.end(), effects.send.begin(), effects.send.end());
    if (effects.stale) ++drops_.stale;
    on_leadership_change(now, out);
}

void Node::on_leadership_change(Millis now, Output& out) {
    const bool leading = election_.is_leader();
    if (leading != was_leader_) {
        was_leader_ = leading;
        paced_ = false;  // the planner is kept: its state is the cluster's, not the reign's
        if (leading) {
            // Reports taken as a follower were not probed: ask now, and wait
            // for the answers' round trip at least.
            for (const std::string& name : reports_.names()) {
                probe(name, out);
                reports_.defer(name, now + 2 * config_.path_slack);
            }
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
    out.send.push_back(heartbeat(audience, now));
    next_heartbeat_ = now + config_.heartbeat_interval;
}

Outgoing Node::heartbeat(Audience audience, Millis now) {
    constexpr std::size_t kEchoMemory = 64;  // older heartbeats prove nothing about now
    Message message = make(MessageType::Heartbeat);
    message.seq = ++heartbeats_sent_;
    fill_gossip(message,
                GossipSources{planner_.notes(now), detector_.departures(), detector_.lives(), detector_.members()},
                gossip_, config_.max_message_bytes);
    unechoed_.push_back(Sent{message.seq, now});
    if (unechoed_.size() > kEchoMemory) unechoed_.pop_front();
    return Outgoing{std::move(message), audience};
}

// Called only while we hear ourselves. A member is judged on silence only if
// our own heartbeat, sent a whole interval (plus slack) after we last heard
// it, came back: then its next heartbeat had a working path too.
void Node::watch(Millis now, Output& out) {
    if (echo_overdue(now)) return;
    const Millis heard_before = *echoed_sent_at_ - proof_margin();
    for (const std::string& name : detector_.newly_dead(now, heard_before)) {
        planner_.unhealthy(name);
        out.events.push_back(Event{Event::Kind::MemberDead, name, election_.term()});
    }
    const std::vector<std::string> dead = detector_.dead();
    const std::size_t limit = restart_limit(dead.size(), now, out);
    for (std::string& name : planner_.plan(dead, now, limit)) {
        ++restarts_issued_;
        out.restart.push_back(std::move(name));
        if (paced_) next_paced_restart_ = now + (config_.mass_silence_pace.count() > 0 ? config_.mass_silence_pace
                                                                                    : config_.heartbeat_interval);
    }
    announce_due_ = announce_due_ || !out.restart.empty();
}

// Tell everyone at once which restarts run: the SIGTERM half of each makes
// its node say goodbye within milliseconds, and that is no departure. Only
// once the restarter has taken them (or postponed them): a restart announced
// and then postponed would make the others take a real goodbye for its
// SIGTERM half.
Output Node::restarts_handled(Millis now) {
    Output out;
    if (announce_due_ && connected_) send_heartbeat(now, out);
    announce_due_ = false;
    return out;
}

// Kubernetes' node controller and memberlist's Lifeguard: when many look dead
// at once, the observer is the likelier fault, so restarts slow to a trickle.
std::size_t Node::restart_limit(std::size_t dead, Millis now, Output& out) {
    const std::size_t present = detector_.present();
    const bool mass = dead > 0 && dead * 100 > present * config_.mass_silence_percent;
    if (mass != paced_) {
        paced_ = mass;
        out.events.push_back(Event{mass ? Event::Kind::MassSilence : Event::Kind::MassSilenceOver, "",
                                   election_.term(),
                                   std::to_string(dead) + " of " + std::to_string(present) + " members silent"});
    }
    if (!paced_) return SIZE_MAX;
    return now >= next_paced_restart_ ? 1 : 0;
}

}  // namespace vigil
