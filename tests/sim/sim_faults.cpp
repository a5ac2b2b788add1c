// The faults a test or the chaos driver can inject into a Simulation, and
// heal(), which ends them all.
#include <string>

#include "sim_cluster.hpp"

namespace vigil::sim {

void Simulation::crash(std::size_t slot, const char* why) {
    Slot& s = slots_[slot];
    if (!s.process) return;
    ++stats_.crashes;
    trace_.note(now_, s.name, " ", why);
    gone(slot);
}

void Simulation::hang(std::size_t slot) {
    auto& p = slots_[slot].process;
    if (!p || p->hung || !p->pulsed) return;  // unarmed watchdogs never fire, by design
    ++stats_.hangs;
    p->hung = true;
    p->hung_at = now_;
    trace_.note(now_, slots_[slot].name, " hangs (last pulse at ", p->last_pulse.count(), " ms)");
}

void Simulation::stall(std::size_t slot, Millis duration) {
    auto& p = slots_[slot].process;
    if (!p || p->hung) return;
    ++stats_.stalls;
    p->stalled_until = std::max(p->stalled_until, now_ + duration);
    trace_.note(now_, slots_[slot].name, " stalls for ", duration.count(), " ms");
}

void Simulation::cut(std::size_t slot, Millis duration, bool black_hole) {
    Slot& s = slots_[slot];
    ++(black_hole ? stats_.black_holes : stats_.cuts);
    s.silent_cut = black_hole && !(s.cut && !s.silent_cut);  // a closed connection stays closed
    s.cut = true;
    end_one_way(slot);  // this cut takes over from a one-way one
    ++s.cut_id;
    trace_.note(now_, s.name, black_hole ? " black-holed (nothing moves, nothing closes) for " : " cut off from the broker for ",
                duration.count(), " ms");
    if (duration > Millis{0}) queue_.push(SimEvent{now_ + duration, 0, EventKind::CutEnd, slot, s.cut_id});
    update_links();
}

void Simulation::cut_one_way(std::size_t slot, Millis duration, LinkFault direction) {
    Slot& s = slots_[slot];
    if (s.cut || direction == LinkFault::None || duration <= Millis{0}) return;  // already cut another way
    ++stats_.one_way_cuts;
    s.cut = true;
    s.silent_cut = true;
    s.one_way = direction;
    ++s.cut_id;
    trace_.note(now_, s.name, direction == LinkFault::Mute ? " goes mute (what it sends is held up) for "
                                                           : " goes deaf (what it should receive is held up) for ",
                duration.count(), " ms");
    queue_.push(SimEvent{now_ + duration, 0, EventKind::CutEnd, slot, s.cut_id});
    update_links();
}

void Simulation::pause(std::size_t slot, Millis duration) {
    auto& p = slots_[slot].process;
    // One pause per pulse at most: the I5 check follows one pause since the last pulse.
    if (!p || p->paused_until > now_ || (p->pause_start >= Millis{0} && p->last_pulse < p->paused_until)) return;
    ++stats_.pauses;
    p->pause_start = now_;
    p->paused_until = now_ + duration;
    trace_.note(now_, slots_[slot].name, " paused (the whole process) for ", duration.count(), " ms");
    // The broker gives up on its missing AMQP heartbeats as on a black hole.
    queue_.push(SimEvent{now_ + draw(options_.blackhole_notice_min, options_.blackhole_notice_max), 0,
                         EventKind::LinkDies, slot, p->id, 0, true});
}

void Simulation::lose_binding(std::size_t slot) {
    const Node* n = node(slot);
    if (!n || !n->is_leader() || network_.unbound(slot)) return;
    ++stats_.lost_bindings;
    network_.lose_binding(slot, now_);
    trace_.note(now_, slots_[slot].name, "'s leader binding is lost");
}

void Simulation::step_wall_clock(std::size_t slot, Millis step) {
    ++stats_.clock_steps;
    Slot& s = slots_[slot];
    s.wall_offset += step;
    trace_.note(now_, s.name, "'s host clock steps by ", step.count(), " ms");
}

void Simulation::broker_outage(Millis duration, bool stall) {
    ++(stall ? stats_.broker_stalls : stats_.outages);
    broker_down_ = true;
    broker_stalled_ = stall;
    ++outage_id_;
    trace_.note(now_, stall ? "broker stalls (every connection open, nothing moves) for " : "broker outage for ",
                duration.count(), " ms");
    if (duration > Millis{0}) queue_.push(SimEvent{now_ + duration, 0, EventKind::OutageEnd, 0, outage_id_});
    update_links();
}

void Simulation::split(std::vector<std::uint8_t> side, Millis duration) {
    ++stats_.splits;
    ++split_id_;
    std::string text;
    for (std::size_t i = 0; i < side.size(); ++i) text += (side[i] ? " B:" : " A:") + slots_[i].name;
    trace_.note(now_, "network split for ", duration.count(), " ms:", text);
    network_.split(std::move(side), now_);
    if (duration > Millis{0}) queue_.push(SimEvent{now_ + duration, 0, EventKind::SplitEnd, 0, split_id_});
}

void Simulation::leave(std::size_t slot, Millis operator_after) {
    Slot& s = slots_[slot];
    if (!s.process) return;
    ++stats_.leaves;
    trace_.note(now_, s.name, " leaves gracefully");
    const std::uint64_t incarnation = s.process->node->incarnation();
    apply(slot, s.process->node->leave(local(*s.process)));
    network_.set_down(slot);
    s.process.reset();
    s.down_since = now_;
    s.departed = true;
    s.ever_left = true;
    s.departed_incarnation = incarnation;
    ++s.leave_id;
    queue_.push(SimEvent{now_ + operator_after, 0, EventKind::OperatorStart, slot, s.leave_id});
    forget_unknown_lives();  // it may have been the last to know of someone
}

void Simulation::inject(const Message& message, Millis delay) {
    trace_.note(now_, "injected ", to_string(message.type), " from ", message.from, " term ", message.term);
    network_.inject(message, find(message.from).value_or(0), now_, delay);
}

// The adversary: a message in a running member's name (so that it is
// believed), of any type but Goodbye, with any term, role, leader and echo
// number, extremes first. (A forged goodbye, or a forged life, silences or
// fakes its victim: only authentication can stop that.)
void Simulation::forge(Rng& rng) {
    std::vector<std::size_t> running;  // and speaking: its own life has been heard first
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (connected(i)) running.push_back(i);
    }
    if (running.empty()) return;
    const auto pick = [&rng](std::initializer_list<std::uint64_t> extremes) {
        const std::vector<std::uint64_t> values(extremes);
        return rng.chance(750'000) ? values[rng.index(values.size())] : rng.next();
    };
    const std::size_t victim = running[rng.index(running.size())];
    const std::uint64_t real = slots_[victim].process->node->incarnation();
    static const MessageType kTypes[] = {MessageType::Heartbeat, MessageType::Election, MessageType::Answer,
                                         MessageType::Coordinator};
    static const Role kRoles[] = {Role::Follower, Role::Candidate, Role::Leader};
    Message m;
    m.type = kTypes[rng.index(std::size(kTypes))];
    m.from = slots_[victim].name;
    m.term = pick({0, 1, kMaxTerm - 1, kMaxTerm, kMaxTerm + 1, std::uint64_t{1} << 63, ~std::uint64_t{0},
                   ~std::uint64_t{0} - 2});
    m.role = kRoles[rng.index(std::size(kRoles))];
    m.leader = rng.chance(300'000) ? "" : slots_[rng.index(slots_.size())].name;
    // Its real life, or one the bounds reject. (A forged life within bounds
    // is a forged restart or comeback: only authentication can tell it.)
    m.incarnation = rng.chance(700'000) ? real : (rng.chance(500'000) ? kMaxIncarnation + 1 : ~std::uint64_t{0});
    m.seq = pick({0, 1, ~std::uint64_t{0}});
    ++stats_.forgeries;
    trace_.note(now_, "forged ", to_string(m.type), " as ", m.from, " term ", m.term, " inc ", m.incarnation);
    network_.inject(m, victim, now_, draw(Millis{0}, options_.delay_cap));
}

void Simulation::junk(Rng& rng) {
    Message m{MessageType::Heartbeat, "junk-" + std::to_string(rng.next() % 1000), 0, Role::Follower, "",
              rng.next() % kMaxIncarnation};
    ++stats_.junk;
    trace_.note(now_, "junk heartbeat from ", m.from);
    network_.inject(m, 0, now_, draw(Millis{0}, options_.delay_cap));
}

void Simulation::crash_loop(std::size_t slot, std::uint32_t times) {
    Slot& s = slots_[slot];
    ++stats_.crash_loops;
    s.crash_loop_left = times;
    trace_.note(now_, s.name, " goes into a crash loop (", times, " starts)");
    crash(slot, "crash (crash loop)");
}

void Simulation::heal() {
    trace_.note(now_, "heal: faults end");
    broker_down_ = false;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        s.cut = false, s.crash_loop_left = 0, ++s.loop_id;
        end_one_way(i);
    }
    network_.heal_split(now_);
    Weather calm = network_.weather();
    calm.loss_ppm = 0;
    network_.set_weather(calm);
    options_.restart_fail_ppm = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].departed && !slots_[i].process) {
            slots_[i].departed = false;
            trace_.note(now_, "operator starts ", slots_[i].name);
            start_process(i);
        }
    }
    update_links();
}

}  // namespace vigil::sim
