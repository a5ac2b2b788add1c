#include "sim_cluster.hpp"

#include <algorithm>
#include <stdexcept>

#include "vigil/codec.hpp"
#include "vigil/timing.hpp"

namespace vigil::sim {

void SimStats::add(const SimStats& o) {
    crashes += o.crashes, hangs += o.hangs, stalls += o.stalls, apoptoses += o.apoptoses, broker_stalls += o.broker_stalls;
    cuts += o.cuts, black_holes += o.black_holes, outages += o.outages, splits += o.splits, leaves += o.leaves;
    forgeries += o.forgeries, restarts_of_live += o.restarts_of_live;
    junk += o.junk, crash_loops += o.crash_loops, members_forgotten += o.members_forgotten;
    pauses += o.pauses, one_way_cuts += o.one_way_cuts, clock_steps += o.clock_steps;
    lost_bindings += o.lost_bindings;
    restarts_by_cut_off += o.restarts_by_cut_off;
    restarts_emitted += o.restarts_emitted, restarts_acted += o.restarts_acted;
    restarts_failed += o.restarts_failed, restarts_abandoned += o.restarts_abandoned;
    restarts_postponed += o.restarts_postponed;
    processes_started += o.processes_started, leader_changes += o.leader_changes;
    deliveries += o.deliveries;
    election_deliveries += o.election_deliveries;
    signals_sent += o.signals_sent, signals_delivered += o.signals_delivered;
    longest_down = std::max(longest_down, o.longest_down);
}

Simulation::Simulation(std::vector<std::string> names, SimOptions options, std::uint64_t seed, Trace& trace)
    : options_(options),
      trace_(trace),
      rng_(seed),
      network_(names, rng_.fork(), options_, queue_),
      invariants_(trace),
      held_(names.size()),
      signal_rng_(seed ^ 0x5EED51611A15ull) {
    if (names.empty()) throw std::invalid_argument("a simulation needs nodes");
    sorted_names_ = names;
    std::sort(sorted_names_.begin(), sorted_names_.end());
    if (std::adjacent_find(sorted_names_.begin(), sorted_names_.end()) != sorted_names_.end()) {
        throw std::invalid_argument("node names must be distinct");
    }
    for (std::string& name : names) {
        Slot slot;
        slot.name = std::move(name);
        slot.wall_offset = draw(Millis{1'000'000'000}, Millis{1'001'000'000});  // hosts' clocks disagree
        slots_.push_back(std::move(slot));
    }

    const Timing& t = options_.core_timing.value_or(options_.timing);
    base_config_.heartbeat_interval = t.heartbeat_interval;
    base_config_.heartbeat_timeout = t.heartbeat_timeout;
    base_config_.election_timeout = t.election_timeout;
    base_config_.reconnect_grace = t.reconnect_grace;
    base_config_.recovery = t.recovery;
    base_config_.path_slack = t.path_slack;
    base_config_.reconnect_window = t.reconnect_window;
    base_config_.exit_confirm = t.exit_confirm;
    if (options_.expect_members) base_config_.expected_members = sorted_names_;
    base_config_.max_members = options_.max_members;
}

Millis Simulation::draw(Millis lo, Millis hi) { return Millis{rng_.between(lo.count(), hi.count())}; }

// ---- views ---------------------------------------------------------------

std::optional<std::size_t> Simulation::find(const std::string& name) const {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].name == name) return i;
    }
    return std::nullopt;
}

const Node* Simulation::node(std::size_t index) const {
    const auto& p = slots_[index].process;
    return p ? p->node.get() : nullptr;
}

bool Simulation::healthy(std::size_t index) const {
    const auto& p = slots_[index].process;
    const Slot& s = slots_[index];
    return p && !p->hung && p->stalled_until <= now_ && p->paused_until <= now_ &&
           p->doomed_by_loop != s.loop_id;
}

bool Simulation::connected(std::size_t index) const {
    const auto& p = slots_[index].process;
    return p && p->told_connected && network_.up(index);
}

bool Simulation::live_and_connected(std::size_t index, Millis now) const {
    const auto& p = slots_[index].process;
    const Millis from = now - false_death_window(options_);
    return p && !p->watchdog->expired(local(*p)) && network_.up(index) && network_.up_since(index) <= from &&
           !network_.one_way_since(index, from) && !paused_within(index, from, harmless_pause(options_));
}

bool Simulation::paused_within(std::size_t index, Millis from, Millis longer_than) const {
    const auto& p = slots_[index].process;
    if (!p || p->pause_start < Millis{0}) return false;
    const Millis end = std::min(p->paused_until, now_);
    return end >= from && end - p->pause_start > longer_than;
}

std::size_t Simulation::leader_count() const {
    std::size_t count = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (const Node* n = node(i); n && n->is_leader()) ++count;
    }
    return count;
}

std::optional<std::size_t> Simulation::leader_slot() const {
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (const Node* n = node(i); n && n->is_leader()) {
            if (found) return std::nullopt;
            found = i;
        }
    }
    return found;
}

std::size_t Simulation::highest() const { return *find(sorted_names_.back()); }

bool Simulation::restart_in_flight() const {
    return std::any_of(commands_.begin(), commands_.end(), [](const RestartCommand& c) { return !c.done; });
}

// A command for it is running, or others may still believe so: until the
// news that it finished reaches them (the issuer's next heartbeat), and at
// most RESTART_TIMEOUT after it was issued (when nobody believes it any more;
// a note's age travels with it, so others place the issue a delivery late).
// Its issuer knows at once when its own command is done.
bool Simulation::restart_running(std::size_t target, std::uint64_t observer_process) const {
    const Millis lag = options_.timing.heartbeat_interval + options_.tick_max + options_.delay_cap;
    const Millis believed = options_.timing.recovery.restart_timeout + options_.delay_cap;
    return std::any_of(commands_.begin(), commands_.end(), [&](const RestartCommand& c) {
        if (c.target != target) return false;
        if (c.issuer_process == observer_process) return !c.done;
        return !c.done || now_ - c.done_at <= lag || now_ - c.issued_at <= believed;
    });
}

Process* Simulation::process(std::size_t slot, std::uint64_t id) {
    auto& p = slots_[slot].process;
    return p && p->id == id ? &*p : nullptr;
}

// ---- the timeline ----------------------------------------------------------

void Simulation::run_until(Millis until) {
    // Bounded: every handler schedules finitely many events, each strictly
    // later or at the same time; ticks advance by >= tick_min.
    while (!queue_.empty() && queue_.next_time() <= until) {
        const SimEvent event = queue_.pop();
        if (event.at < now_) throw std::logic_error("simulated time went backwards");
        now_ = event.at;
        handle(event);
    }
    now_ = std::max(now_, until);
}

// A stopped process does nothing: what is due to it waits until it runs
// again (the broker holds its deliveries, its timers fire late).
bool Simulation::defer_while_paused(const SimEvent& e) {
    const Process* p = nullptr;
    switch (e.kind) {
        case EventKind::Tick:
        case EventKind::Pulse:
        case EventKind::Boot:
        case EventKind::LinkUp:
        case EventKind::NotifyDown:
            p = process(e.slot, e.a);
            break;
        case EventKind::Deliver:
        case EventKind::Signal:
        case EventKind::Reconcile:
            p = slots_[e.slot].process ? &*slots_[e.slot].process : nullptr;
            break;
        case EventKind::RestartDone:
            p = process(commands_[e.a].issuer, commands_[e.a].issuer_process);
            break;
        default:
            return false;
    }
    if (!p || p->paused_until <= now_) return false;
    SimEvent later = e;
    later.at = p->paused_until;
    queue_.push(later);
    return true;
}

void Simulation::handle(const SimEvent& e) {
    if (defer_while_paused(e)) return;
    switch (e.kind) {
        case EventKind::Tick:
            if (Process* p = process(e.slot, e.a)) on_tick(e.slot, *p);
            break;
        case EventKind::Pulse:
            if (Process* p = process(e.slot, e.a)) on_pulse(e.slot, *p);
            break;
        case EventKind::Boot:
            if (Process* p = process(e.slot, e.a)) {
                p->booted = true;
                maybe_connect(e.slot);
                queue_.push(SimEvent{now_ + draw(Millis{0}, options_.first_pulse_max), 0, EventKind::Pulse, e.slot, p->id});
            }
            break;
        case EventKind::LinkUp:
            if (Process* p = process(e.slot, e.a)) {
                p->link_pending = false;
                if (!link_wanted(e.slot)) break;  // cut again meanwhile; update_links retries
                network_.set_up(e.slot, now_);
                p->told_connected = true;
                p->queue_incarnation = p->node->incarnation();  // as the transport names its queue
                p->queue_link = p->node->link() + 1;
                trace_.note(now_, slots_[e.slot].name, " connected");
                apply(e.slot, p->node->connected(local(*p)));
            }
            break;
        case EventKind::NotifyDown:
            if (Process* p = process(e.slot, e.a); p && p->told_connected) {
                p->told_connected = false;
                trace_.note(now_, slots_[e.slot].name, " noticed its link is down");
                apply(e.slot, p->node->disconnected(local(*p)));
                maybe_connect(e.slot);
            }
            break;
        case EventKind::Deliver:
            on_deliver(e);
            break;
        case EventKind::CutEnd:
            if (slots_[e.slot].cut && slots_[e.slot].cut_id == e.a) {
                slots_[e.slot].cut = false;
                end_one_way(e.slot);
                trace_.note(now_, slots_[e.slot].name, " reachable again");
                update_links();
            }
            break;
        case EventKind::OutageEnd:
            if (broker_down_ && outage_id_ == e.a) {
                broker_down_ = false;
                trace_.note(now_, "broker back");
                update_links();
            }
            break;
        case EventKind::SplitEnd:
            if (network_.split_active() && split_id_ == e.a) {
                network_.heal_split(now_);
                trace_.note(now_, "split healed");
            }
            break;
        case EventKind::RestartAct:
            on_restart_act(e.a);
            break;
        case EventKind::RestartDone:
            on_restart_done(e.a, e.flag);
            break;
        case EventKind::Start:
            if (!slots_[e.slot].process) start_process(e.slot);
            break;
        case EventKind::LinkDies:
            // The broker gave up on a paused process, or either side on a
            // one-way black hole: the connection (and its queue) is gone.
            if (Process* p = process(e.slot, e.a); p && network_.up(e.slot)) {
                const bool still = e.flag ? p->paused_until > now_
                                          : slots_[e.slot].cut && slots_[e.slot].cut_id == e.b;
                if (!still) break;
                link_closing(e.slot);
                network_.set_down(e.slot);
                end_one_way(e.slot);  // what it held is lost with the connection
                queue_.push(SimEvent{now_, 0, EventKind::NotifyDown, e.slot, p->id});
            }
            break;
        case EventKind::Signal:
            on_signal(e);
            break;
        case EventKind::Reconcile:
            on_reconcile(e.slot, e.a);
            break;
        case EventKind::LoopCrash:
            if (process(e.slot, e.a) && slots_[e.slot].loop_id == e.b) crash(e.slot, "crash (crash loop)");
            break;
        case EventKind::OperatorStart: {
            Slot& s = slots_[e.slot];
            if (s.departed && s.leave_id == e.a && !s.process) {
                trace_.note(now_, "operator starts ", s.name);
                s.departed = false;
                start_process(e.slot);
            }
            break;
        }
    }
}

// ---- processes -------------------------------------------------------------

void Simulation::start_all(Millis stagger) {
    // Containers come up in no particular order, e.g. the highest one last.
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        queue_.push(SimEvent{now_ + draw(Millis{0}, stagger), 0, EventKind::Start, i, 0});
    }
}

void Simulation::start(std::size_t slot) {
    if (slots_[slot].process) return;
    trace_.note(now_, "operator starts ", slots_[slot].name);
    slots_[slot].departed = false;
    start_process(slot);
}

void Simulation::start_process(std::size_t slot) {
    Slot& s = slots_[slot];
    if (s.process) throw std::logic_error("two processes in one slot: " + s.name);
    if (now_ > Millis{0}) stats_.longest_down = std::max(stats_.longest_down, now_ - s.down_since);
    Process p;
    p.id = ++next_process_id_;
    // As in production: start time in the high bits (later lives are larger),
    // random low bits; never 0.
    const auto wall_ms = std::max<std::int64_t>(1, (now_ + s.wall_offset).count());
    p.incarnation = (static_cast<std::uint64_t>(wall_ms) << 16) | (rng_.next() & 0xFFFFu);
    p.clock_offset = draw(Millis{0}, Millis{std::int64_t{1} << 40});
    NodeConfig config = base_config_;
    config.self = s.name;
    config.incarnation = p.incarnation;
    s.last_incarnation = p.incarnation;
    p.node = std::make_unique<Node>(std::move(config));
    p.watchdog = std::make_unique<Watchdog>(options_.core_timing.value_or(options_.timing).pulse_timeout);
    p.started_at = now_;
    const std::uint64_t id = p.id;
    s.process = std::move(p);
    ++stats_.processes_started;
    trace_.note(now_, s.name, " process started (incarnation ", s.process->incarnation, ")");
    container_event(slot, Observation::Kind::ContainerStarted);
    queue_.push(SimEvent{now_ + draw(options_.boot_min, options_.boot_max), 0, EventKind::Boot, slot, id});
    if (s.crash_loop_left > 0) {
        --s.crash_loop_left;
        const Millis timeout = options_.timing.heartbeat_timeout;
        queue_.push(SimEvent{now_ + draw(timeout / 2, 3 * timeout), 0, EventKind::LoopCrash, slot, id, s.loop_id});
        s.process->doomed_by_loop = s.loop_id;
    }
    queue_.push(SimEvent{now_ + draw(Millis{0}, options_.tick_max), 0, EventKind::Tick, slot, id});
}

void Simulation::on_tick(std::size_t slot, Process& p) {
    // The watchdog check runs whatever the broker or a restart command does.
    const bool expired = p.watchdog->check(local(p));
    invariants_.on_watchdog(*this, slot, expired, now_);
    if (expired) {
        ++stats_.apoptoses;
        terminate(slot);
        return;
    }
    const std::uint64_t id = p.id;
    if (options_.lying_signals && signal_rng_.chance(2000)) report_link_closed(slot);
    if (local(p) >= p.due) {
        apply(slot, p.node->tick(local(p)));
        invariants_.check_split_brain(*this, slot, now_);
        if (process(slot, id)) {
            Process& after = *slots_[slot].process;
            after.due = std::min(after.node->next_due(local(after)), local(after) + vigil::kSidecarIdleWait);
        }
    }
    if (process(slot, id)) {
        queue_.push(SimEvent{now_ + draw(options_.tick_min, options_.tick_max), 0, EventKind::Tick, slot, id});
    }
}

void Simulation::on_pulse(std::size_t slot, Process& p) {
    if (p.hung) return;  // the chain of pulses ends for good
    if (now_ < p.stalled_until) {
        queue_.push(SimEvent{p.stalled_until, 0, EventKind::Pulse, slot, p.id});
        return;
    }
    p.watchdog->pulse(local(p));
    p.pulsed = true;
    p.last_pulse = now_;
    queue_.push(SimEvent{now_ + draw(options_.pulse_period_min, options_.pulse_period_max), 0, EventKind::Pulse, slot, p.id});
}

void Simulation::terminate(std::size_t slot) {
    Slot& s = slots_[slot];
    trace_.note(now_, s.name, " terminates itself (apoptosis), silent ", (now_ - s.process->last_pulse).count(), " ms");
    gone(slot);
}

// The container stops (crash, apoptosis, killed by a restart command).
void Simulation::gone(std::size_t slot) {
    Slot& s = slots_[slot];
    link_closing(slot);
    container_event(slot, Observation::Kind::ContainerExited);
    network_.set_down(slot);
    s.process.reset();
    s.down_since = now_;
    forget_unknown_lives();
}

// Does a living process (not the slot's own) know a life of the slot later
// than its last goodbye, heard directly or learned from others' gossip?
bool Simulation::life_known(std::size_t slot) const {
    for (std::size_t q = 0; q < slots_.size(); ++q) {
        if (q == slot || !slots_[q].process) continue;
        if (knows_life_after_goodbye(q, slot)) return true;
    }
    return false;
}

bool Simulation::knows_life_after_goodbye(std::size_t observer, std::size_t slot) const {
    const Slot& s = slots_[slot];
    const Process& p = *slots_[observer].process;
    for (const vigil::MemberView& member : p.node->members(local(p))) {
        if (member.name == s.name) {
            return member.liveness != vigil::Liveness::Departed && member.ever_heard &&
                   member.incarnation > s.departed_incarnation;
        }
    }
    return false;
}

// A node that said goodbye once is, to the cluster, still gone, unless a
// living member heard a later life of it (the core gossips goodbyes, not
// lives). If no one living knows its latest life and that life has died, it
// is not the leader's to restart: the operator starts it again.
//
// Without EXPECTED_MEMBERS, likewise, a member is known only to the processes
// that heard of it: if every one of them has died too, nobody can restart it.
void Simulation::forget_unknown_lives() {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        if (s.process || s.departed) continue;
        const bool lost_life = s.ever_left && !life_known(i);
        const bool lost_member = !options_.expect_members && !member_known(i);
        if (!lost_life && !lost_member) continue;
        s.departed = true;
        ++s.leave_id;
        if (lost_member) ++stats_.members_forgotten;
        trace_.note(now_, s.name, lost_life ? " is down and no living node knows its last life"
                                            : " is down and no living node knows it is a member",
                    "; the operator will start it again");
        queue_.push(SimEvent{now_ + draw(Millis{1000}, Millis{5000}), 0, EventKind::OperatorStart, i, s.leave_id});
    }
}

bool Simulation::member_known(std::size_t slot) const {
    for (std::size_t q = 0; q < slots_.size(); ++q) {
        if (q == slot || !slots_[q].process) continue;
        const Process& p = *slots_[q].process;
        for (const vigil::MemberView& member : p.node->members(local(p))) {
            if (member.name == slots_[slot].name && member.liveness != vigil::Liveness::Departed) return true;
        }
    }
    return false;
}

// ---- carrying out what a node asked for -------------------------------------

void Simulation::apply(std::size_t slot, const Output& out) {
    Slot& s = slots_[slot];
    s.process->due = Millis::min();  // the loop ticks after anything reached its core
    for (const vigil::Event& ev : out.events) {
        if (ev.kind == vigil::Event::Kind::LeaderChanged) ++stats_.leader_changes, last_leader_change_ = now_;
        trace_.note(now_, s.name, ": ", to_string(ev.kind), " ", ev.name, " (term ", ev.term, ")",
                    ev.detail.empty() ? "" : ": ", ev.detail);
        // Silence-based deaths carry no detail; a confirmed signal says which.
        if (ev.kind == vigil::Event::Kind::MemberDead && !ev.detail.empty()) {
            invariants_.on_signal_death(*this, slot, ev.name, now_);
        }
    }
    if (const Node* n = s.process->node.get(); n->is_leader() != s.process->leader_since.has_value()) {
        s.process->leader_since = n->is_leader() ? std::optional<Millis>(now_) : std::nullopt;
        if (n->is_leader()) invariants_.became_leader(*this, slot, now_);
        // Docker's state of every container, asked once on taking the lead.
        if (n->is_leader() && options_.docker_signals) {
            queue_.push(SimEvent{now_ + Millis{signal_rng_.between(std::int64_t{20}, std::int64_t{500})}, 0,
                                 EventKind::Reconcile, slot, s.process->id});
        }
    }
    // Stepping down, the transport unbinds the leader's binding (a lost one
    // included); taking the lead again binds it anew.
    if (!s.process->node->is_leader()) network_.restore_binding(slot, now_);
    invariants_.after_call(*this, slot, now_);
    std::vector<std::string> postponed;
    std::vector<std::string> restarts = out.restart;
    if (options_.double_restarts) restarts.insert(restarts.end(), out.restart.begin(), out.restart.end());
    for (const std::string& target : restarts) {
        ++stats_.restarts_emitted;
        if (const auto victim = find(target); victim && live_and_connected(*victim, now_)) {
            ++stats_.restarts_of_live;
            if (!network_.up(slot)) ++stats_.restarts_by_cut_off;
        }
        trace_.note(now_, s.name, " (term ", s.process->node->term(), ") restarts ", target);
        invariants_.on_restart(*this, slot, target, now_);
        if (rng_.chance(options_.restart_postpone_ppm)) {
            // The restarter has no room for it (16 in flight): it tells the
            // core, which tries again later.
            ++stats_.restarts_postponed;
            trace_.note(now_, "restart of ", target, " postponed");
            postponed.push_back(target);
            continue;
        }
        if (const auto index = start_restart(slot, target)) invariants_.restart_started(*this, slot, *index, now_);
    }
    const auto is_leader = [this](std::size_t i) {
        const Node* n = node(i);
        return n && n->is_leader();
    };
    for (const Outgoing& outgoing : out.send) {
        if (!options_.through_codec) {
            network_.publish(slot, outgoing, now_, is_leader);
            continue;
        }
        const Decoded decoded = decode(encode(outgoing.message));
        if (!decoded.message || !(*decoded.message == outgoing.message)) {
            invariants_.fail(now_, "codec round trip changed a message from " + s.name + " (" +
                                       to_string(decoded.error) + ")");
            continue;
        }
        network_.publish(slot, Outgoing{*decoded.message, outgoing.audience, outgoing.to}, now_, is_leader);
    }
    // Then the heartbeat that tells the others which restarts now run.
    for (const std::string& target : postponed) {
        Process& issuer = *s.process;
        apply(slot, issuer.node->restart_postponed(target, local(issuer)));
    }
    if (!out.restart.empty()) apply(slot, s.process->node->restarts_handled(local(*s.process)));
}

void Simulation::on_deliver(const SimEvent& e) {
    const std::size_t to = e.slot;
    if (!network_.up(to) || network_.epoch(to) != e.b || !slots_[to].process) return;  // that connection is gone
    Process& p = *slots_[to].process;
    const Published& pub = network_.published(e.a);
    const bool echo = pub.from == to && !pub.injected;
    // Held up one way: it never left its sender, whose connection died (the
    // sender's fault, a loss), or it waits until the path is back.
    if (pub.held && network_.epoch(pub.from) != pub.sender_epoch) {
        network_.note_loss(pub.from, to, now_);
        return;
    }
    const bool mute = pub.held && network_.fault(pub.from) == LinkFault::Mute;
    if (mute || network_.fault(to) == LinkFault::Deaf) {
        held_[mute ? pub.from : to].push_back(e);  // in order, until end_one_way()
        return;
    }
    // Expired in the queue of a recipient that was stopped (x-message-ttl):
    // its own fault, so no excuse for judging the sender.
    if (now_ - pub.at > options_.timing.heartbeat_timeout) return;
    if (!options_.route_leader_at_publish && !network_.routed(pub, to, p.node->is_leader())) return;
    if (e.flag) {
        network_.note_loss(pub.from, to, now_);  // it would have arrived: a real loss
        return;
    }
    ++stats_.deliveries;
    const MessageType type = pub.message.type;
    if (type == MessageType::Election || type == MessageType::Answer || type == MessageType::Coordinator) {
        ++stats_.election_deliveries;
    }
    // A forgery carrying its victim's real life is, to anyone, that life
    // speaking (only authentication can tell): the harness counts it heard.
    const auto& sender = slots_[pub.from].process;
    if (pub.injected && sender && pub.message.from == slots_[pub.from].name &&
        pub.message.incarnation == sender->node->incarnation()) {
        p.last_heard_from[pub.from] = now_;
    }
    if (!pub.injected && !echo) {
        p.last_heard_from[pub.from] = now_;
        // A goodbye while a restart of its sender is running is the SIGTERM
        // half of that restart (or indistinguishable from it): no departure.
        if (pub.message.type == MessageType::Goodbye && !restart_running(pub.from, p.id)) {
            p.goodbye_heard[pub.from] = pub.message.incarnation;
            p.last_goodbye_from[pub.from] = now_;
        } else if (pub.message.type == MessageType::Goodbye) {
            p.goodbye_heard.erase(pub.from);
        } else {
            p.goodbye_heard.erase(pub.from);
        }
    }
    if (trace_.messages()) {
        trace_.note(now_, slots_[to].name, " <- ", to_string(pub.message.type), " from ", pub.message.from, " term ",
                    pub.message.term, " role ", to_string(pub.message.role), " leader '", pub.message.leader, "'",
                    " gossip: ", pub.message.departed.size(), " departed, ", pub.message.lives.size(), " lives, ",
                    pub.message.members.size(), " members, ", pub.message.restarts.size(), " restarts");
    }
    apply(to, p.node->receive(pub.message, local(p)));
}

std::optional<std::size_t> Simulation::start_restart(std::size_t issuer, const std::string& target) {
    const auto target_slot = find(target);
    if (!target_slot || *target_slot == issuer) return std::nullopt;  // reported by the invariants
    RestartCommand command;
    command.issuer = issuer;
    command.issuer_process = slots_[issuer].process->id;
    command.target = *target_slot;
    command.fails = options_.restarts_never_work || rng_.chance(options_.restart_fail_ppm);
    command.issued_at = now_;
    commands_.push_back(command);
    queue_.push(SimEvent{now_ + draw(options_.restart_act_min, options_.restart_act_max), 0, EventKind::RestartAct, 0,
                         commands_.size() - 1});
    return commands_.size() - 1;
}

void Simulation::on_restart_act(std::uint64_t index) {
    RestartCommand& c = commands_[index];
    Slot& target = slots_[c.target];
    const bool issuer_alive = process(c.issuer, c.issuer_process) != nullptr;
    if (!issuer_alive && rng_.chance(options_.restart_abandon_ppm)) {
        ++stats_.restarts_abandoned;
        c.done = true;
        c.done_at = now_;
        trace_.note(now_, "restart of ", target.name, " abandoned: its issuer died");
        return;
    }
    if (c.fails) {
        ++stats_.restarts_failed;
        trace_.note(now_, "restart of ", target.name, " fails");
    } else {
        ++stats_.restarts_acted;
        if (target.process) {
            // docker restart: SIGTERM first (the service says goodbye), or a kill.
            if (rng_.chance(options_.restart_sigterm_ppm)) {
                trace_.note(now_, "restart stops the running ", target.name, " (SIGTERM: it says goodbye)");
                apply(c.target, target.process->node->leave(local(*target.process)));
                // Those who did not know of the restart take the goodbye at its
                // word; if none of them learns of the new life before it dies,
                // to the cluster the node has left (forget_unknown_lives).
                target.ever_left = true;
                target.departed_incarnation = target.process->node->incarnation();
            } else {
                trace_.note(now_, "restart kills the running ", target.name);
            }
            gone(c.target);
        }
        target.departed = false;
        c.acted_at = now_;
        start_process(c.target);
    }
    queue_.push(SimEvent{now_ + draw(options_.restart_done_min, options_.restart_done_max), 0, EventKind::RestartDone, 0,
                      index, 0, !c.fails});
}

void Simulation::on_restart_done(std::uint64_t index, bool ok) {
    RestartCommand& c = commands_[index];
    c.done = true;
    c.ok = ok;
    c.done_at = now_;
    Process* issuer = process(c.issuer, c.issuer_process);
    if (!issuer) return;  // nobody to tell
    apply(c.issuer, issuer->node->restart_finished(slots_[c.target].name, ok, local(*issuer)));
}

// ---- links -------------------------------------------------------------------

void Simulation::maybe_connect(std::size_t slot) {
    auto& p = slots_[slot].process;
    if (!p || !p->booted || p->told_connected || p->link_pending || !link_wanted(slot)) return;
    p->link_pending = true;
    queue_.push(SimEvent{now_ + draw(options_.reconnect_min, options_.reconnect_max), 0, EventKind::LinkUp, slot, p->id});
}

void Simulation::drop_link(std::size_t slot) {
    if (!network_.up(slot)) return;
    const auto& p = slots_[slot].process;
    if (slots_[slot].one_way != LinkFault::None && !broker_down_) {
        // One way only: the link stays up until AMQP heartbeats run out.
        if (network_.fault(slot) != LinkFault::None) return;
        network_.set_fault(slot, slots_[slot].one_way, now_);
        queue_.push(SimEvent{now_ + draw(options_.blackhole_notice_min, options_.blackhole_notice_max), 0,
                             EventKind::LinkDies, slot, p->id, slots_[slot].cut_id});
        return;
    }
    link_closing(slot);
    network_.set_down(slot);
    end_one_way(slot);
    // The transport notices later: a closed connection soon, a black hole only
    // when AMQP heartbeats run out.
    const bool silent = (slots_[slot].silent_cut && slots_[slot].cut) || (broker_down_ && broker_stalled_);
    const Millis notice = silent ? draw(options_.blackhole_notice_min, options_.blackhole_notice_max)
                              : draw(Millis{0}, options_.detect_max);
    queue_.push(SimEvent{now_ + notice, 0, EventKind::NotifyDown, slot, p->id});
}

// A one-way cut is over (or became a closed connection): what it held up
// moves on now, in the order it came, ahead of anything sent later.
void Simulation::end_one_way(std::size_t slot) {
    slots_[slot].one_way = LinkFault::None;
    network_.set_fault(slot, LinkFault::None, now_);
    for (const SimEvent& held : held_[slot]) {
        SimEvent now = held;
        now.at = now_;
        queue_.push(now);
    }
    held_[slot].clear();
}

void Simulation::update_links() {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (link_wanted(i)) {
            maybe_connect(i);
        } else {
            drop_link(i);
        }
    }
}

}  // namespace vigil::sim
