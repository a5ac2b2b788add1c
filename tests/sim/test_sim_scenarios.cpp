// Hand-written situations through the same harness as the seed sweep: a quiet
// network, scripted faults, and expectations at fixed simulated times derived
// from the configuration. Every invariant of sim_invariants.hpp is checked
// throughout as well. VIGIL_SIM_TRACE=1 prints each scenario's events.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim_cluster.hpp"
#include "vigil/timing.hpp"

namespace {

using namespace std::chrono_literals;
using vigil::Millis;
using vigil::sim::Simulation;

// Values remembered at step time for later checks (e.g. an incarnation).
using Memo = std::map<std::string, std::uint64_t>;

struct Step {
    Millis at;
    std::function<void(Simulation&, Memo&)> act;
};

struct Check {
    Millis at;
    std::string what;
    std::function<std::string(const Simulation&, const Memo&)> why_not;  // "" = holds
};

struct Scenario {
    std::string name;
    std::vector<std::string> names;
    std::vector<Step> steps;
    std::vector<Check> checks;
    bool start_all = true;
};

vigil::sim::SimOptions quiet_options() {
    vigil::sim::SimOptions o;
    o.weather = vigil::sim::Weather{0, 0, 5ms, 20ms};
    o.delay_cap = 20ms;  // tight bounds: nothing travels longer
    return o;
}

const vigil::sim::SimOptions kOptions = quiet_options();
const vigil::sim::Timing& kT = kOptions.timing;

// Followers notice a silent leader and the highest survivor wins the election.
const Millis kFailover = kT.heartbeat_timeout + kT.heartbeat_interval + 3 * kT.election_timeout +
                         4 * kOptions.tick_max + 4 * kOptions.delay_cap;
// The leader notices a dead member and its restart command starts a new process.
const Millis kRestartStarts = kT.heartbeat_timeout + kT.heartbeat_interval + 2 * kOptions.tick_max +
                              kOptions.restart_act_max + kOptions.delay_cap;
// A started process connects and the cluster agrees again (listen + election).
const Millis kRejoin = kOptions.boot_max + kOptions.reconnect_max + kT.reconnect_grace + 3 * kT.election_timeout +
                       kOptions.restart_done_max + 4 * kOptions.tick_max + 4 * kOptions.delay_cap;

std::size_t slot_of(const Simulation& sim, const std::string& name) { return sim.find(name).value(); }

// ---- expectations ------------------------------------------------------------

std::string leads(const Simulation& sim, const std::string& name) {
    if (sim.leader_count() != 1) return std::to_string(sim.leader_count()) + " leaders";
    if (sim.slot(*sim.leader_slot()).name != name) return sim.slot(*sim.leader_slot()).name + " leads";
    for (std::size_t i = 0; i < sim.size(); ++i) {
        if (!sim.connected(i)) continue;
        if (sim.node(i)->leader() != name) return sim.slot(i).name + " follows '" + sim.node(i)->leader() + "'";
    }
    return "";
}

Check leader_is(Millis at, std::string name) {
    return {at, name + " leads, every connected node agrees",
            [name](const Simulation& sim, const Memo&) { return leads(sim, name); }};
}

Check converged(Millis at) {
    return {at, "converged: all up, highest leads",
            [](const Simulation& sim, const Memo&) { return sim.invariants().why_not_converged(sim); }};
}

Check restarts_emitted(Millis at, std::uint64_t count) {
    return {at, std::to_string(count) + " restart(s) emitted so far", [count](const Simulation& sim, const Memo&) {
                const auto n = sim.stats().restarts_emitted;
                return n == count ? std::string() : std::to_string(n) + " emitted";
            }};
}

Check processes_started(Millis at, std::uint64_t count) {
    return {at, std::to_string(count) + " process starts so far", [count](const Simulation& sim, const Memo&) {
                const auto n = sim.stats().processes_started;
                return n == count ? std::string() : std::to_string(n) + " started";
            }};
}

// Alive with an incarnation other than the one remembered under its name.
Check restarted(Millis at, std::string name) {
    return {at, name + " runs again (new incarnation)", [name](const Simulation& sim, const Memo& memo) {
                const auto& p = sim.slot(slot_of(sim, name)).process;
                if (!p) return name + " is down";
                return p->incarnation != memo.at(name) ? std::string() : name + " was never restarted";
            }};
}

Check is_down(Millis at, std::string name) {
    return {at, name + " is down", [name](const Simulation& sim, const Memo&) {
                return sim.alive(slot_of(sim, name)) ? name + " is running" : std::string();
            }};
}

Check leaders(Millis at, std::size_t count) {
    return {at, std::to_string(count) + " leaders", [count](const Simulation& sim, const Memo&) {
                return sim.leader_count() == count ? std::string() : std::to_string(sim.leader_count()) + " leaders";
            }};
}

// ---- steps -------------------------------------------------------------------

Step remember_and(Millis at, std::string name, std::function<void(Simulation&, std::size_t)> fault) {
    return {at, [name, fault](Simulation& sim, Memo& memo) {
                const std::size_t s = slot_of(sim, name);
                memo[name] = sim.slot(s).process ? sim.slot(s).process->incarnation : 0;
                fault(sim, s);
            }};
}

Step crash(Millis at, std::string name) {
    return remember_and(at, std::move(name), [](Simulation& sim, std::size_t s) { sim.crash(s); });
}

Step hang(Millis at, std::string name) {
    return remember_and(at, std::move(name), [](Simulation& sim, std::size_t s) { sim.hang(s); });
}

// From `at` on, every restart command fails (or works again).
Step restarts_fail(Millis at, bool fail) {
    return {at, [fail](Simulation& sim, Memo&) { sim.set_restart_fail_ppm(fail ? 1'000'000 : 0); }};
}

// A claim to lead from `from` (its real incarnation) with a term far ahead.
Step forged_claim(Millis at, std::string from, vigil::MessageType type) {
    return {at, [from, type](Simulation& sim, Memo&) {
                const auto& p = sim.slot(slot_of(sim, from)).process;
                const std::uint64_t term = sim.node(*sim.leader_slot())->term() + 10;
                sim.inject(vigil::Message{type, from, term, vigil::Role::Leader, from, p->incarnation}, 0ms);
            }};
}

// ---- the runner ----------------------------------------------------------------

void run(const Scenario& scenario, std::uint64_t seed) {
    const char* level = std::getenv("VIGIL_SIM_TRACE");
    vigil::sim::Trace trace(level ? std::atoi(level) : 0, 80);
    Simulation sim(scenario.names, kOptions, seed, trace);
    if (scenario.start_all) sim.start_all(300ms);
    Memo memo;

    // Steps before checks at equal times: a check at T sees the step at T.
    struct Point {
        Millis at;
        int order;
        std::size_t index;
    };
    std::vector<Point> points;
    for (std::size_t i = 0; i < scenario.steps.size(); ++i) points.push_back({scenario.steps[i].at, 0, i});
    for (std::size_t i = 0; i < scenario.checks.size(); ++i) points.push_back({scenario.checks[i].at, 1, i});
    std::stable_sort(points.begin(), points.end(),
                     [](const Point& x, const Point& y) { return x.at != y.at ? x.at < y.at : x.order < y.order; });

    for (const Point& point : points) {
        sim.run_until(point.at);
        if (point.order == 0) {
            scenario.steps[point.index].act(sim, memo);
            continue;
        }
        const Check& check = scenario.checks[point.index];
        const std::string why = check.why_not(sim, memo);
        INFO(scenario.name << " at " << point.at.count() << " ms: expected " << check.what << "; " << why
                           << "\nlast events:\n" << trace.tail());
        CHECK(why.empty());
    }
    INFO(scenario.name << ": " << sim.invariants().first() << "\nlast events:\n" << trace.tail());
    CHECK(sim.invariants().ok());
}

// "node_9" > "node_2" > "node_10" > "node_1": byte-wise, not numeric.
const std::vector<std::string> kFour = {"node_1", "node_10", "node_2", "node_9"};
const std::vector<std::string> kSix = {"alpha", "Zeta", "worker-1", "worker-10", "worker-2", "server"};

std::vector<Scenario> scenarios() {
    const Millis t0 = 5000ms;  // the cluster has settled by then
    std::vector<Scenario> table;

    // The old leader's restart fails until the failover has been checked: a
    // quick comeback would (rightly) start its Bully take-over before then.
    table.push_back({"kill the leader: the highest survivor leads, the old leader comes back and leads",
                     kFour,
                     {crash(t0, "node_9"), restarts_fail(t0, true), restarts_fail(t0 + kFailover, false)},
                     {leader_is(t0 - 1ms, "node_9"), leader_is(t0 + kFailover, "node_2"),
                      restarted(t0 + kFailover + kRestartStarts, "node_9"),
                      converged(t0 + kFailover + kRestartStarts + kRejoin),
                      restarts_emitted(t0 + 30s, 2)}});  // the one that failed, and the one that worked

    table.push_back({"kill a follower: the leader restarts it exactly once",
                     kFour,
                     {crash(t0, "node_10")},
                     // Silence counts from its last heartbeat, up to an interval (and a tick) before the crash.
                     {restarts_emitted(t0 + kT.heartbeat_timeout - kT.heartbeat_interval - kOptions.tick_max, 0),
                      restarted(t0 + kRestartStarts, "node_10"),
                      leader_is(t0 + kRestartStarts, "node_9"), converged(t0 + kRestartStarts + kRejoin),
                      restarts_emitted(t0 + 30s, 1)}});

    {
        // Each half elects its own leader while split (restart commands fail,
        // so nobody is killed); once they hear each other, one leader remains
        // within split_brain_bound().
        Scenario s{"split brain: two leaders that hear each other settle within a heartbeat interval", kSix, {}, {}};
        s.steps.push_back({0ms, [](Simulation& sim, Memo&) {
                               std::vector<std::uint8_t> side(sim.size());
                               for (std::size_t i = 0; i < sim.size(); ++i) {
                                   const std::string& n = sim.slot(i).name;
                                   side[i] = n == "worker-2" || n == "worker-10" || n == "server";
                               }
                               sim.split(side, 0ms);
                               sim.set_restart_fail_ppm(1'000'000);
                           }});
        s.checks.push_back(leaders(t0, 2));
        // Restarts issued in the last moments of the split (paced ones, or
        // due after back-off) are still on their way when it heals: they keep
        // failing, so that the count below is about the split brain alone.
        s.steps.push_back({t0, [](Simulation& sim, Memo&) {
                               sim.heal();
                               sim.set_restart_fail_ppm(1'000'000);
                           }});
        s.checks.push_back(leader_is(t0 + vigil::sim::split_brain_bound(kOptions), "worker-2"));
        s.checks.push_back(converged(t0 + 5s));
        s.checks.push_back(processes_started(t0 + 5s, 6));  // nobody was killed
        table.push_back(std::move(s));
    }

    for (const auto type : {vigil::MessageType::Coordinator, vigil::MessageType::Heartbeat}) {
        table.push_back({std::string("a lower node's claim to lead (") + vigil::to_string(type) +
                             ", term ahead) does not stick while a higher node lives",
                         kSix,
                         {forged_claim(t0, "Zeta", type)},
                         {leader_is(t0 + kT.heartbeat_interval + kT.election_timeout, "worker-2"),
                          leader_is(t0 + 10s, "worker-2"), restarts_emitted(t0 + 10s, 0)}});
    }

    table.push_back({"broker outage for the whole cluster: zero restarts, one leader after reconnecting",
                     kSix,
                     {{t0, [](Simulation& sim, Memo&) { sim.broker_outage(5 * kT.heartbeat_timeout); }}},
                     {leaders(t0 + kOptions.detect_max + 1ms, 0),
                      leader_is(t0 + 5 * kT.heartbeat_timeout + kRejoin, "worker-2"),
                      restarts_emitted(t0 + 30s, 0), processes_started(t0 + 30s, 6)}});

    table.push_back({"a hung follower terminates itself and is restarted",
                     kSix,
                     {hang(t0, "alpha")},
                     {is_down(t0 + kT.pulse_timeout + kOptions.tick_max + 1ms, "alpha"),
                      restarted(t0 + kT.pulse_timeout + kOptions.tick_max + kRestartStarts, "alpha"),
                      converged(t0 + kT.pulse_timeout + kRestartStarts + kRejoin)}});

    table.push_back({"a hung leader terminates itself; a new leader restarts it",
                     kSix,
                     {hang(t0, "worker-2")},
                     {is_down(t0 + kT.pulse_timeout + kOptions.tick_max + 1ms, "worker-2"),
                      leader_is(t0 + kT.pulse_timeout + kFailover, "worker-10"),
                      converged(t0 + kT.pulse_timeout + kFailover + kRestartStarts + kRejoin)}});

    table.push_back({"a graceful leave is not restarted; an operator's start rejoins",
                     kSix,
                     {{t0, [](Simulation& sim, Memo&) { sim.leave(slot_of(sim, "worker-1"), 20s); }}},
                     {is_down(t0 + 19s, "worker-1"), restarts_emitted(t0 + 19s, 0), converged(t0 + 20s + kRejoin)}});

    table.push_back({"a follower that dies just before the leader is restarted by the next leader",
                     kSix,
                     {crash(t0, "alpha"), crash(t0 + 300ms, "worker-2"), restarts_fail(t0, true),
                      restarts_fail(t0 + 300ms + kFailover, false)},
                     {leader_is(t0 + 300ms + kFailover, "worker-10"),
                      restarted(t0 + 300ms + kFailover + kRestartStarts, "alpha"),
                      converged(t0 + 300ms + kFailover + 2 * (kRestartStarts + kRejoin))}});

    {
        // Expected members are known without ever being heard: a node that
        // never came up is restarted, then takes over (Bully).
        Scenario s{"the highest node never started: the leader starts it, then it leads", kSix, {}, {}, false};
        s.steps.push_back({0ms, [](Simulation& sim, Memo& memo) {
                               memo["worker-2"] = 0;
                               for (std::size_t i = 0; i < sim.size(); ++i) {
                                   if (sim.slot(i).name != "worker-2") sim.start(i);
                               }
                           }});
        // Leaders judge expected members from when they take over: worker-2
        // is still down one heartbeat timeout after worker-10 leads.
        // worker-10 connects by 0.7 s, listens, holds its election back one
        // path slack for worker-2 (expected above it), elects, and is heard.
        s.checks.push_back(leader_is(700ms + 2 * kT.election_timeout + vigil::kPathSlack + 300ms, "worker-10"));
        s.checks.push_back(restarted(kFailover + kRestartStarts, "worker-2"));
        s.checks.push_back(converged(kFailover + kRestartStarts + kRejoin));
        table.push_back(std::move(s));
    }
    return table;
}

}  // namespace

TEST_CASE("scripted scenarios", "[sim][scenario]") {
    const std::vector<Scenario> table = scenarios();
    for (std::size_t i = 0; i < table.size(); ++i) {
        DYNAMIC_SECTION(table[i].name) { run(table[i], 1000 + i); }
    }
}

// Seed 929 of the sweep, in small: b says goodbye; while d (the leader, which
// heard it) is cut off from the broker, an operator starts b again and
// everyone else sees the new incarnation; b is then killed. c's restarts fail
// while d is away (so d keeps its memory); d comes back and leads. It must
// restart b: the others tell it of b's later life (heartbeats' "lives").
TEST_CASE("a killed node is restarted even if the new leader last heard its goodbye", "[sim][scenario]") {
    Scenario s{"goodbye, operator restart unseen by the next leader, then a kill",
               {"a", "b", "c", "d"},
               {{3s, [](Simulation& sim, Memo&) { sim.leave(slot_of(sim, "b"), 1000s); }},
                {4s, [](Simulation& sim, Memo&) { sim.cut(slot_of(sim, "d"), 5s); }},
                restarts_fail(4s, true),
                {4100ms, [](Simulation& sim, Memo&) { sim.start(slot_of(sim, "b")); }},
                crash(7s, "b"),
                restarts_fail(9s + kFailover, false)},
               {leader_is(6500ms, "c"), leader_is(9s + kFailover, "d"), restarted(40s, "b"), converged(40s)}};
    run(s, 77);
}
