#include "sim_invariants.hpp"

#include <algorithm>
#include <sstream>

#include "sim_cluster.hpp"
#include "vigil/watchdog.hpp"

namespace vigil::sim {
namespace {

std::string ms(Millis t) { return std::to_string(t.count()) + " ms"; }

}  // namespace

void Invariants::fail(Millis now, std::string what) {
    trace_.note(now, "VIOLATION: ", what);
    if (violations_.size() < 20) violations_.push_back(Violation{now, "at " + ms(now) + ": " + std::move(what)});
}

// I6, after every call into a node.
void Invariants::after_call(const Simulation& sim, std::size_t slot, Millis now) {
    const Node* node = sim.node(slot);
    if (!node || !node->is_leader()) return;
    if (node->leader() != node->self()) {
        fail(now, node->self() + " is leader but names '" + node->leader() + "' as leader");
    }
}

// I8, when `slot` starts to lead.
void Invariants::became_leader(const Simulation& sim, std::size_t slot, Millis now) {
    const Network& net = sim.network();
    const Millis from = now - usurper_window(sim.options());
    const Timing& t = sim.options().timing;
    const std::string& name = sim.slot(slot).name;
    if (!net.up(slot) || net.up_since(slot) > from || net.split_changed_at() > from) return;
    if (net.one_way_since(slot, from)) return;
    for (std::size_t other = 0; other < sim.size(); ++other) {
        const Slot& h = sim.slot(other);
        if (h.name <= name || !h.process || !net.up(other) || net.up_since(other) > from) continue;
        if (sim.paused_within(other, from, Millis{0}) || net.one_way_since(other, from)) continue;
        if (net.blocked(slot, other)) continue;
        const auto lost_to = net.last_loss(slot, other);
        const auto lost_from = net.last_loss(other, slot);
        if ((lost_to && *lost_to >= from) || (lost_from && *lost_from >= from)) continue;
        // A higher node that lost its own echo doubts its path and holds back
        // from elections (answering none) until the echo returns.
        if (const auto own = net.last_loss(other, other); own && *own >= from - t.heartbeat_timeout) continue;
        fail(now, name + " became leader (term " + std::to_string(sim.node(slot)->term()) + ") although " + h.name +
                      " has been reachable since " + ms(std::max(net.up_since(other), net.up_since(slot))));
    }
}

// I6, at every tick of `slot`: does it share the lead with someone it hears?
void Invariants::check_split_brain(const Simulation& sim, std::size_t slot, Millis now) {
    const Slot& a = sim.slot(slot);
    if (!a.process || !a.process->leader_since || !sim.connected(slot)) return;
    const Network& net = sim.network();
    const Millis bound = split_brain_bound(sim.options());
    for (std::size_t other = 0; other < sim.size(); ++other) {
        const Slot& b = sim.slot(other);
        if (other == slot || !b.process || !b.process->leader_since || !sim.connected(other)) continue;
        if (net.blocked(slot, other)) continue;
        // A stopped process, or a one-way link, hears nothing (or is not heard).
        if (a.process->paused_until > now || b.process->paused_until > now) continue;
        if (net.one_way_since(slot, now) || net.one_way_since(other, now)) continue;
        Millis since = std::max({*a.process->leader_since, *b.process->leader_since, net.up_since(slot),
                                 net.up_since(other), net.split_changed_at(), a.process->paused_until,
                                 b.process->paused_until, net.fault_changed_at(slot), net.fault_changed_at(other)});
        if (const auto loss = net.last_loss(slot, other)) since = std::max(since, *loss);
        if (const auto loss = net.last_loss(other, slot)) since = std::max(since, *loss);
        if (now - since > bound) {
            fail(now, "split brain: " + a.name + " (term " + std::to_string(sim.node(slot)->term()) + ") and " +
                          b.name + " (term " + std::to_string(sim.node(other)->term()) +
                          ") both lead and have heard each other since " + ms(since) + " (limit " + ms(bound) + ")");
        }
    }
}

// I2 and I4, whenever a node emits a restart.
void Invariants::on_restart(const Simulation& sim, std::size_t issuer, const std::string& target, Millis now) {
    const Node& leader = *sim.node(issuer);
    const std::string& name = leader.self();
    if (!leader.is_leader()) {
        fail(now, name + " emitted a restart of " + target + " but is not leader (role " + to_string(leader.role()) +
                      ", connected " + (leader.is_connected() ? "yes" : "no") + ")");
    }
    const auto victim = sim.find(target);
    if (!victim) {
        // Without EXPECTED_MEMBERS, a stranger that spoke once is a member
        // as far as anyone can tell; its restart fails harmlessly.
        const bool junk = target.rfind("junk-", 0) == 0 && !sim.options().expect_members;
        if (!junk) fail(now, name + " restarts '" + target + "', not an expected member");
        return;
    }
    if (*victim == issuer) {
        fail(now, name + " restarts itself");
        return;
    }

    const Slot& x = sim.slot(*victim);
    if (x.departed && !x.process) {
        const auto& heard = sim.slot(issuer).process->goodbye_heard;
        const auto it = heard.find(*victim);
        // Heard nothing since, directly, and learned no later life from gossip either.
        if (it != heard.end() && it->second == x.departed_incarnation && !sim.knows_life_after_goodbye(issuer, *victim)) {
            fail(now, name + " restarts " + target + ", which said goodbye to it and has not been heard since");
        }
    }

    check_storm(sim, issuer, *victim, now);

    if (!sim.live_and_connected(*victim, now)) return;  // really dead, about to die, or cut off itself
    // Judged from the harness's ground truth, whatever the issuer believes:
    // its own link being down (cut, black-holed, freshly back) excuses nothing.
    const Network& net = sim.network();
    const Millis from = now - false_death_window(sim.options());
    const auto loss = net.last_loss(*victim, issuer);
    if (!loss || *loss < from) {
        std::ostringstream why;
        why << "false death: " << name << " (term " << leader.term() << ", link "
            << (net.up(issuer) ? "up since " + ms(net.up_since(issuer)) : std::string("down")) << ") restarts "
            << target << ", alive and connected since " << ms(net.up_since(*victim)) << "; last loss " << target
            << "->" << name << " " << (loss ? ms(*loss) : std::string("never")) << "; window "
            << ms(false_death_window(sim.options()));
        fail(now, why.str());
    }
}

// A member whose current link, and the issuer's, were up for a whole signal
// window (long enough for its hello, its heartbeats and a probe's answer to
// reach the issuer), with nothing of it lost on the way, stopped or held up
// one way, was heard on that link: no signal about an earlier one may count.
void Invariants::on_signal_death(const Simulation& sim, std::size_t issuer, const std::string& name, Millis now) {
    const auto victim = sim.find(name);
    if (!victim || !sim.alive(*victim) || !sim.healthy(*victim)) return;
    const SimOptions& o = sim.options();
    const Millis window = std::max(o.timing.reconnect_window, o.timing.heartbeat_interval) + 3 * (o.delay_cap + o.tick_max);
    const Millis from = now - window;
    const Network& net = sim.network();
    for (const std::size_t slot : {*victim, issuer}) {
        if (!net.up(slot) || net.up_since(slot) > from || net.one_way_since(slot, from) ||
            sim.paused_within(slot, from, Millis{0})) {
            return;
        }
    }
    const auto loss = net.last_loss(*victim, issuer);
    if (loss && *loss >= from) return;
    fail(now, sim.slot(issuer).name + " took a fast signal for the death of " + name + ", whose life " +
                  std::to_string(sim.slot(*victim).process->node->incarnation()) + " is live and connected since " +
                  ms(net.up_since(*victim)) + " (window " + ms(window) + ")");
}

// I7: the previous restart of the same member in the same reign.
void Invariants::check_storm(const Simulation& sim, std::size_t issuer, std::size_t target, Millis now) {
    const Process& l = *sim.slot(issuer).process;
    const auto it = chains_.find({l.id, target});
    if (it == chains_.end() || !l.leader_since || it->second.reign != *l.leader_since) return;
    const Chain& chain = it->second;
    const std::string who = l.node->self() + " restarts " + sim.slot(target).name + " again ";
    const RecoveryPolicy& policy = sim.options().timing.recovery;
    // A Goodbye makes the planner forget the member; a long gap may reset it.
    const auto goodbye = l.last_goodbye_from.find(target);
    if (goodbye != l.last_goodbye_from.end() && goodbye->second >= chain.last_restart) return;
    const RestartCommand& previous = sim.command(chain.last_command);
    const auto heard = l.last_heard_from.find(target);
    // Booting ends when its new life is heard, even before the command exits.
    const bool heard_since_done = heard != l.last_heard_from.end() && heard->second >= previous.acted_at;
    if (!previous.done) {
        fail(now, who + "while its restart from " + ms(chain.last_restart) + " is still running");
    } else if (previous.ok && now < previous.done_at + policy.boot_grace && !heard_since_done) {
        fail(now, who + "while it boots (restart done at " + ms(previous.done_at) + ", grace " + ms(policy.boot_grace) + ")");
    }
    const bool chain_broken = now - chain.last_restart > policy.backoff_reset_after;
    const Millis backoff = owed_backoff(policy, chain.in_a_row);
    if (!chain_broken && now - chain.last_restart < backoff) {
        fail(now, who + "after " + ms(now - chain.last_restart) + " (" + std::to_string(chain.in_a_row) +
                      " in a row, back-off " + ms(backoff) + ")");
    }
}

// I9: what the previous issuer did is known to the next one.
void Invariants::check_memory(const Simulation& sim, std::size_t issuer, std::size_t target, Millis now) {
    const auto last = last_command_of_.find(target);
    if (last == last_command_of_.end()) return;
    const RestartCommand& prev = sim.command(last->second);
    const Process& l = *sim.slot(issuer).process;
    if (prev.issuer_process == l.id) return;  // the same process: I7
    const Network& net = sim.network();
    const Slot& p = sim.slot(prev.issuer);
    const Millis lag = sim.options().timing.heartbeat_interval + sim.options().tick_max + sim.options().delay_cap;
    const auto loss = net.last_loss(prev.issuer, issuer);
    const bool could_know = p.process && p.process->id == prev.issuer_process && net.up(prev.issuer) &&
                            net.up(issuer) && net.up_since(prev.issuer) <= prev.issued_at &&
                            !sim.paused_within(prev.issuer, prev.issued_at, Millis{0}) &&
                            !sim.paused_within(issuer, prev.issued_at, Millis{0}) &&
                            !net.one_way_since(prev.issuer, prev.issued_at) && !net.one_way_since(issuer, prev.issued_at) &&
                            net.up_since(issuer) <= prev.issued_at && (!loss || *loss < prev.issued_at) &&
                            now - prev.issued_at > lag;
    if (!could_know) return;
    const std::string who = l.node->self() + " restarts " + sim.slot(target).name + " after " + p.name + " did at " +
                            ms(prev.issued_at) + " ";
    if (!prev.done) fail(now, who + "and that restart is still running (two at once)");
    const auto chain = chains_.find({prev.issuer_process, target});
    if (chain == chains_.end()) return;
    const RecoveryPolicy& policy = sim.options().timing.recovery;
    const Millis backoff = owed_backoff(policy, chain->second.in_a_row);
    const auto goodbye = l.last_goodbye_from.find(target);
    const bool left_since = goodbye != l.last_goodbye_from.end() && goodbye->second >= prev.issued_at;
    if (!left_since && now - prev.issued_at < backoff) {
        fail(now, who + "(" + std::to_string(chain->second.in_a_row) + " in a row there): back-off " + ms(backoff) +
                      " forgotten across the change of leader");
    }
}

void Invariants::restart_started(const Simulation& sim, std::size_t issuer, std::size_t command, Millis now) {
    const Process& l = *sim.slot(issuer).process;
    if (!l.leader_since) return;  // already reported (I2)
    const std::size_t target = sim.command(command).target;
    check_memory(sim, issuer, target, now);
    last_command_of_[target] = command;
    Chain& chain = chains_[{l.id, target}];
    const auto goodbye = l.last_goodbye_from.find(target);
    const bool fresh = chain.reign != *l.leader_since || chain.in_a_row == 0 ||
                       now - chain.last_restart > sim.options().timing.recovery.backoff_reset_after ||
                       (goodbye != l.last_goodbye_from.end() && goodbye->second >= chain.last_restart);
    chain.in_a_row = fresh ? 1 : chain.in_a_row + 1;
    chain.reign = *l.leader_since;
    chain.last_command = command;
    chain.last_restart = now;
}

// I5, at every watchdog check (every tick of the sidecar loop).
void Invariants::on_watchdog(const Simulation& sim, std::size_t slot, bool expired, Millis now) {
    const Process& p = *sim.slot(slot).process;
    const Millis timeout = sim.options().timing.pulse_timeout;
    if (!p.pulsed) {
        if (expired) fail(now, sim.slot(slot).name + ": watchdog expired before the first pulse");
        return;
    }
    const Millis silent = now - p.last_pulse;
    // Time the whole process spent stopped is not its main loop's silence
    // once the stop outlasts the watchdog's max gap (its checks stop too: the
    // gap it sees is the pause plus up to a tick); a stop shorter by a tick
    // counts in full. Without a pause, the rule is exact.
    const Millis max_gap = Watchdog::max_gap_for(sim.options().core_timing.value_or(sim.options().timing).pulse_timeout);
    const Millis tick = sim.options().tick_max;
    Millis paused{0}, maybe{0};  // surely forgiven; possibly forgiven on top
    if (p.pause_start >= Millis{0} && p.paused_until > p.last_pulse - tick) {
        const Millis length = p.paused_until - p.pause_start;
        const Millis overlap =
            std::max(Millis{0}, std::min(p.paused_until, now) - std::max(p.pause_start, p.last_pulse));
        if (length > max_gap) {
            paused = overlap, maybe = tick;
        } else if (length + tick >= max_gap) {
            maybe = overlap + tick;
        }
    }
    if (expired && silent - paused <= timeout) {
        fail(now, sim.slot(slot).name + ": watchdog expired after only " + ms(silent - paused) +
                      " without a pulse while running");
    }
    if (!expired && silent - paused - maybe > timeout) {
        fail(now, sim.slot(slot).name + ": not terminated after " + ms(silent - paused) +
                      " without a pulse while running (limit " + ms(timeout) + ")");
    }
}

// Before the hold starts: what the faults did may still play out up to a
// heartbeat timeout after they ended (a leader's heartbeat or an echo lost,
// a pause, a one-way cut: someone times out, or steps down).
std::string Invariants::why_not_settled(const Simulation& sim) const {
    const Millis settled = sim.now() - false_death_window(sim.options());
    if (sim.network().last_loss_any() > settled) return "a message was lost a moment ago";
    // An election's last messages may still be on their way.
    if (sim.last_leader_change() > sim.now() - split_brain_bound(sim.options())) return "a leader changed a moment ago";
    for (std::size_t i = 0; i < sim.size(); ++i) {
        const Slot& s = sim.slot(i);
        if (s.process && s.process->paused_until > settled) return s.name + " was paused a moment ago";
        if (sim.network().fault_changed_at(i) > settled) return s.name + " was cut one way a moment ago";
    }
    return "";
}

// I1: "" when the cluster is whole and agrees on the highest node.
std::string Invariants::why_not_converged(const Simulation& sim) const {
    const std::string& top = sim.slot(sim.highest()).name;
    for (std::size_t i = 0; i < sim.size(); ++i) {
        const Slot& s = sim.slot(i);
        if (!s.process) return s.name + " is down";
        if (s.process->hung) return s.name + " is hung";
        if (s.process->paused_until > sim.now()) return s.name + " is paused";
        if (sim.network().fault(i) != LinkFault::None) return s.name + " is cut one way";
        if (!sim.connected(i)) return s.name + " is not connected";
    }
    if (sim.leader_count() != 1) return std::to_string(sim.leader_count()) + " leaders";
    for (std::size_t i = 0; i < sim.size(); ++i) {
        const Node& n = *sim.node(i);
        if (n.leader() != top) return n.self() + " follows '" + n.leader() + "', not " + top;
    }
    if (!sim.node(sim.highest())->is_leader()) return top + " does not lead";
    if (sim.restart_in_flight()) return "a restart command is still running";
    return "";
}

}  // namespace vigil::sim
