// Liveness with bounds derived from the configuration, not from experience:
// in a calm cluster, one fault at a time, each recovery must come within what
// the timings allow (detection, owed back-off, election), plus a tick or a
// delivery of slack. The chaos sweep's convergence bound is far looser; these
// catch a detector, an election or a back-off that is merely slow.
//   VIGIL_SIM_SEEDS / VIGIL_SIM_SEED_BASE as for the sweep.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "sim_chaos.hpp"

namespace {

using namespace std::chrono_literals;
using vigil::Millis;
using vigil::sim::Simulation;
using vigil::sim::SimOptions;

constexpr Millis kPoll = 10ms;  // how finely the test looks; added to every bound

// The bounds, from the configuration (see each for the reasoning).
struct Bounds {
    explicit Bounds(const SimOptions& options) : o(options) {}
    const SimOptions& o;
    // A member dies at t: its last heartbeat reached the leader by t + delay;
    // the leader judges it on its first tick a timeout later (its proof of
    // its own path, an interval and a margin later, comes sooner than that).
    // With the broker's signals, the leader hears of the closed connection at
    // once (no signal faults here) and confirms it a reconnect window later.
    Millis detect() const {
        if (o.broker_signals) return o.timing.reconnect_window + o.tick_max + o.signal_weather.delay_max + kPoll;
        return o.timing.heartbeat_timeout + o.tick_max + o.delay_cap + kPoll;
    }
    // The leader dies at t: the highest survivor times it out as above,
    // elects, waits an election timeout for ANSWERs no one sends, and its
    // COORDINATOR reaches the others.
    // With the broker's signals: the highest survivor hears of the leader's
    // closed connection, elects at its next tick, leads at once with nobody
    // above it left to answer (knowing every name only with EXPECTED_MEMBERS;
    // else after an election timeout), and its COORDINATOR reaches the others.
    Millis failover() const {
        if (o.broker_signals) {
            const Millis answers = o.expect_members ? Millis{0} : o.timing.election_timeout;
            return o.signal_weather.delay_max + answers + 2 * o.tick_max + o.delay_cap + kPoll;
        }
        return o.timing.heartbeat_timeout + o.timing.election_timeout + 2 * o.tick_max + 2 * o.delay_cap + kPoll;
    }
    // The restart after `in_a_row` restarts in a row waits this long (0 first).
    Millis backoff(std::uint32_t in_a_row) const { return vigil::sim::owed_backoff(o.timing.recovery, in_a_row); }
};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    return text && *text ? std::strtoull(text, nullptr, 10) : fallback;
}

// Runs the simulation until `holds` or `deadline`; the time it first held, or
// nothing.
std::optional<Millis> wait_until(Simulation& sim, Millis deadline, const std::function<bool()>& holds) {
    while (sim.now() < deadline) {  // bounded by the deadline
        if (holds()) return sim.now();
        sim.run_until(sim.now() + kPoll);
    }
    return holds() ? std::optional<Millis>(sim.now()) : std::nullopt;
}

bool settled(const Simulation& sim) {
    return sim.invariants().why_not_converged(sim).empty() && sim.invariants().why_not_settled(sim).empty();
}

// The first restart of `slot` issued at or after `since`.
std::optional<Millis> restart_issued(const Simulation& sim, std::size_t slot, Millis since) {
    for (std::size_t i = 0; i < sim.command_count(); ++i) {
        const auto& c = sim.command(i);
        if (c.target == slot && c.issued_at >= since) return c.issued_at;
    }
    return std::nullopt;
}

struct Figures {
    Millis detect{0}, failover{0}, backoff_late{0}, after_reset{0};
    void add(const Figures& f) {
        detect = std::max(detect, f.detect), failover = std::max(failover, f.failover);
        backoff_late = std::max(backoff_late, f.backoff_late), after_reset = std::max(after_reset, f.after_reset);
    }
};

class LivenessRun {
public:
    LivenessRun(std::uint64_t seed, const vigil::sim::Tweak& tweak) : seed_(seed) {
        vigil::sim::Rng root(seed);
        vigil::sim::Rng setup = root.fork();
        const auto n = static_cast<std::size_t>(setup.between(std::uint64_t{3}, std::uint64_t{8}));
        names_ = vigil::sim::draw_names(setup, n);
        options_.weather.delay_max = Millis{setup.between(std::int64_t{0}, options_.delay_cap.count())};
        options_.fifo_links = setup.chance(700'000);
        options_.route_leader_at_publish = setup.chance(500'000);
        options_.through_codec = setup.chance(250'000);
        options_.restart_sigterm_ppm = setup.chance(500'000) ? 1'000'000 : 0;
        options_.expect_members = setup.chance(500'000);
        if (tweak) tweak(options_);
        sim_ = std::make_unique<Simulation>(names_, options_, root.next(), trace_);
    }

    // "" if every recovery came within its bound.
    std::string run(Figures& figures) {
        const Bounds bound(sim_->options());
        sim_->start_all(1000ms);
        if (!settle()) return "never converged at the start";
        const std::size_t leader = *sim_->leader_slot();
        const std::size_t follower = lowest_except(leader);

        // A follower crashes.
        std::string why = crash_and_time_restart(follower, bound.detect(), 0ms, figures.detect);
        if (!why.empty() || !settle()) return why.empty() ? "no convergence after a follower's restart" : why;

        // The leader crashes: the highest survivor leads, agreed by all.
        const Millis died = sim_->now();
        sim_->crash(leader);
        const std::size_t next = highest_except(leader);
        const auto agreed = wait_until(*sim_, died + bound.failover() + 1s, [&] { return all_follow(next, leader); });
        if (!agreed || *agreed - died > bound.failover()) {
            return "leader killed at " + ms(died) + ": " + sim_->slot(next).name + " agreed by all " +
                   (agreed ? "after " + ms(*agreed - died) : std::string("never")) + ", bound " + ms(bound.failover());
        }
        figures.failover = std::max(figures.failover, *agreed - died);
        if (!settle()) return "no convergence after the leader's return";

        // A crash loop of a member never restarted before: each restart as
        // soon as detection and back-off allow.
        const std::size_t victim = never_restarted_follower();
        if (victim == sim_->size()) return "no follower left that was never restarted";
        Millis previous{0};
        for (std::uint32_t in_a_row = 0; in_a_row < 4; ++in_a_row) {
            const Millis owed = in_a_row == 0 ? Millis{0} : previous + bound.backoff(in_a_row) - sim_->now();
            Millis late{0};
            why = crash_and_time_restart(victim, bound.detect(), std::max(owed, Millis{0}), late);
            if (!why.empty()) return "crash loop, restart " + std::to_string(in_a_row + 1) + ": " + why;
            figures.backoff_late = std::max(figures.backoff_late, late);
            previous = last_restart(victim);
            if (!settle()) return "no convergence in the crash loop";
        }

        // Healthy for the reset period: the back-off is forgotten.
        const Millis reset_at = previous + sim_->options().timing.recovery.backoff_reset_after + 1s;
        sim_->run_until(std::max(sim_->now(), reset_at));
        if (!settled(*sim_)) return "not settled before the reset check";
        why = crash_and_time_restart(victim, bound.detect(), 0ms, figures.after_reset);
        if (!why.empty()) return "after the back-off reset: " + why;
        if (!sim_->invariants().ok()) return sim_->invariants().first();
        return "";
    }

    std::string describe() const {
        std::ostringstream text;
        text << "seed " << seed_ << ": " << names_.size() << " nodes:";
        for (const auto& name : names_) text << ' ' << name;
        text << "\n  replay: VIGIL_SIM_SEEDS=1 VIGIL_SIM_SEED_BASE=" << seed_ << " tests/sim/vigil_sim_tests \"[liveness]\"";
        return text.str();
    }
    std::string tail() const { return trace_.tail(); }

private:
    static std::string ms(Millis t) { return std::to_string(t.count()) + " ms"; }

    bool settle() {
        return wait_until(*sim_, sim_->now() + 60 * sim_->options().timing.heartbeat_timeout, [&] {
                   return settled(*sim_);
               }).has_value();
    }

    // Crashes `slot` once the leader has heard it since its last restart
    // command ended (so no boot grace is owed); its restart must be issued
    // within `detect` of the crash, or `owed` (its back-off, from now) plus a
    // tick, whichever is later. `late`: how far past the owed back-off.
    std::string crash_and_time_restart(std::size_t slot, Millis detect, Millis owed, Millis& late) {
        const Millis asked = sim_->now();
        const auto booted = wait_until(*sim_, asked + 10 * sim_->options().timing.heartbeat_timeout,
                                       [&] { return heard_since_restart(slot); });
        if (!booted) return sim_->slot(slot).name + " not heard by the leader after its restart";
        owed -= sim_->now() - asked;
        const Millis died = sim_->now();
        sim_->crash(slot);
        const Millis allowed = std::max(detect, owed + sim_->options().tick_max + kPoll);
        const auto issued = wait_until(*sim_, died + allowed + 1s,
                                       [&] { return restart_issued(*sim_, slot, died).has_value(); });
        if (!issued) return sim_->slot(slot).name + " never restarted (allowed " + ms(allowed) + ")";
        const Millis took = *restart_issued(*sim_, slot, died) - died;
        if (took > allowed) {
            return sim_->slot(slot).name + " killed at " + ms(died) + ", restart issued after " + ms(took) +
                   ", bound " + ms(allowed) + " (back-off owed " + ms(owed) + ")";
        }
        late = std::max(late, took - std::max(owed, Millis{0}));
        return "";
    }

    bool heard_since_restart(std::size_t slot) const {
        const auto leader = sim_->leader_slot();
        if (!leader) return false;
        const auto& heard = sim_->slot(*leader).process->last_heard_from;
        const auto it = heard.find(slot);
        Millis done{-1};
        for (std::size_t i = 0; i < sim_->command_count(); ++i) {
            if (sim_->command(i).target == slot) done = std::max(done, sim_->command(i).done_at);
        }
        return it != heard.end() && it->second > done;
    }

    Millis last_restart(std::size_t slot) const {
        Millis last{0};
        for (std::size_t i = 0; i < sim_->command_count(); ++i) {
            if (sim_->command(i).target == slot) last = std::max(last, sim_->command(i).issued_at);
        }
        return last;
    }

    std::size_t never_restarted_follower() const {
        for (std::size_t i = 0; i < sim_->size(); ++i) {
            if (sim_->node(i) && !sim_->node(i)->is_leader() && !restart_issued(*sim_, i, Millis{0})) return i;
        }
        return sim_->size();
    }

    bool all_follow(std::size_t leader, std::size_t dead) const {
        for (std::size_t i = 0; i < sim_->size(); ++i) {
            if (i == dead) continue;
            const auto* node = sim_->node(i);
            if (!node || node->leader() != sim_->slot(leader).name) return false;
        }
        return sim_->node(leader)->is_leader();
    }

    std::size_t lowest_except(std::size_t skip) const {
        std::size_t best = skip == 0 ? 1 : 0;
        for (std::size_t i = 0; i < sim_->size(); ++i) {
            if (i != skip && sim_->slot(i).name < sim_->slot(best).name) best = i;
        }
        return best;
    }
    std::size_t highest_except(std::size_t skip) const {
        std::size_t best = skip == 0 ? 1 : 0;
        for (std::size_t i = 0; i < sim_->size(); ++i) {
            if (i != skip && sim_->slot(i).name > sim_->slot(best).name) best = i;
        }
        return best;
    }

    std::uint64_t seed_;
    std::vector<std::string> names_;
    SimOptions options_;
    vigil::sim::Trace trace_{static_cast<int>(env_number("VIGIL_SIM_TRACE", 0))};
    std::unique_ptr<Simulation> sim_;
};

void sweep(const char* mode, std::uint64_t default_count, const vigil::sim::Tweak& tweak) {
    const std::uint64_t count = env_number("VIGIL_SIM_SEEDS", default_count);
    const std::uint64_t base = env_number("VIGIL_SIM_SEED_BASE", 1);
    Figures worst;
    std::uint64_t failed = 0;
    for (std::uint64_t seed = base; seed < base + count; ++seed) {
        LivenessRun run(seed, tweak);
        Figures figures;
        const std::string why = run.run(figures);
        worst.add(figures);
        if (why.empty()) continue;
        if (++failed <= 3) FAIL_CHECK(mode << ' ' << run.describe() << "\n  " << why << "\n  last events:\n" << run.tail());
    }
    SimOptions o;
    if (tweak) tweak(o);
    const Bounds bound(o);
    SimOptions unexpected = o;
    unexpected.expect_members = false;
    std::cout << mode << " liveness: " << count << " seeds, " << failed << " failed; slowest follower restart "
              << worst.detect.count() << " ms (bound " << bound.detect().count() << "), slowest failover "
              << worst.failover.count() << " ms (bound " << bound.failover().count() << ", without EXPECTED_MEMBERS "
              << Bounds(unexpected).failover().count()
              << "), latest restart past its back-off " << worst.backoff_late.count() << " ms, slowest restart "
              << "after the back-off reset " << worst.after_reset.count() << " ms\n";
    CHECK(failed == 0);
}

}  // namespace

TEST_CASE("recoveries come within bounds derived from the configuration", "[sim][liveness]") {
    sweep("fast timings", 300, nullptr);
}

TEST_CASE("recoveries come within bounds derived from the shipped configuration", "[sim][liveness]") {
    sweep("shipped timings", 100, vigil::sim::use_shipped);
}

// The broker's fast crash signals (no faults of their own here): a crash is
// restarted a reconnect window after it, far below the heartbeat timeout, and
// a dead leader is replaced within a tick or two and a delivery.
TEST_CASE("with fast crash signals, recoveries come within a reconnect window", "[sim][liveness]") {
    sweep("signals, fast timings", 300, [](SimOptions& o) { o.broker_signals = true; });
    sweep("signals, shipped timings", 100, [](SimOptions& o) {
        vigil::sim::use_shipped(o);
        o.broker_signals = true;
    });
}
