#include "sim_chaos.hpp"

#include <algorithm>
#include <optional>
#include <sstream>

namespace vigil::sim {
namespace {

constexpr Millis kWarmUp = 3000ms;
constexpr Millis kConvergenceStep = 50ms;
// Converged state must hold this long: several heartbeat timeouts, so a
// lingering false death or leader flap would show.
constexpr Millis kHold = 5000ms;

Weather draw_weather(Rng& rng, const SimOptions& options) {
    Weather w;
    w.loss_ppm = rng.chance(400'000) ? 0 : static_cast<std::uint32_t>(rng.between(std::uint64_t{0}, std::uint64_t{60'000}));
    w.dup_ppm = rng.chance(500'000) ? 0 : static_cast<std::uint32_t>(rng.between(std::uint64_t{0}, std::uint64_t{50'000}));
    w.delay_max = Millis{rng.between(std::int64_t{0}, options.delay_cap.count())};
    w.delay_min = Millis{rng.between(std::int64_t{0}, w.delay_max.count() / 2)};
    return w;
}

// Signals are late by up to seconds (a paused reader, a lagging event
// stream), so that many land after their life or link was replaced.
Weather draw_signal_weather(Rng& rng) {
    Weather w;
    w.loss_ppm = rng.chance(500'000) ? 0 : static_cast<std::uint32_t>(rng.between(std::uint64_t{0}, std::uint64_t{200'000}));
    w.dup_ppm = rng.chance(500'000) ? 0 : static_cast<std::uint32_t>(rng.between(std::uint64_t{0}, std::uint64_t{300'000}));
    w.delay_max = Millis{rng.chance(500'000) ? rng.between(std::int64_t{0}, std::int64_t{200})
                                             : rng.between(std::int64_t{0}, std::int64_t{3000})};
    w.delay_min = Millis{rng.between(std::int64_t{0}, w.delay_max.count() / 4)};
    return w;
}

// Anyone still running the service normally (crash/hang/leave keep >= 1 so
// that someone is left to restart the others: a whole-cluster death is not
// recoverable by design).
std::vector<std::size_t> healthy_slots(const Simulation& sim) {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < sim.size(); ++i) {
        if (sim.healthy(i)) out.push_back(i);
    }
    return out;
}

std::size_t pick_target(Simulation& sim, Rng& rng, const std::vector<std::size_t>& candidates) {
    // Favour the leader: its loss exercises elections and hand-over of restarts.
    if (const auto leader = sim.leader_slot(); leader && rng.chance(300'000) &&
                                               std::find(candidates.begin(), candidates.end(), *leader) != candidates.end()) {
        return *leader;
    }
    return candidates[rng.index(candidates.size())];
}

void random_fault(Simulation& sim, Rng& rng) {
    // Durations drawn for a 1 s heartbeat timeout, scaled to the one in force.
    const auto span = [&](std::int64_t lo, std::int64_t hi) {
        return Millis{rng.between(lo, hi) * sim.options().fault_scale};
    };
    const std::vector<std::size_t> healthy = healthy_slots(sim);
    const bool can_lose_one = healthy.size() >= 2;
    std::vector<std::size_t> all(sim.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    const std::uint64_t roll = rng.between(std::uint64_t{0}, std::uint64_t{99});
    if (roll < 22) {
        if (can_lose_one) sim.crash(pick_target(sim, rng, healthy));
    } else if (roll < 32) {
        if (can_lose_one) sim.hang(pick_target(sim, rng, healthy));
    } else if (roll < 38) {
        // Shorter than the pulse timeout: must not trigger apoptosis.
        const Millis limit = sim.options().timing.pulse_timeout - 300ms;
        if (!healthy.empty()) sim.stall(pick_target(sim, rng, healthy), Millis{rng.between(std::int64_t{100}, limit.count())});
    } else if (roll < 60) {
        // Close the connection, black-hole it, or block one way (up to 4 timeouts).
        const std::size_t victim = pick_target(sim, rng, all);
        const Millis duration = span(50, 4000);
        const std::uint64_t how = rng.between(std::uint64_t{0}, std::uint64_t{9});
        if (how < 7) {
            sim.cut(victim, duration, how >= 4);
        } else {
            sim.cut_one_way(victim, duration, how == 7 ? LinkFault::Mute : LinkFault::Deaf);
        }
    } else if (roll < 65) {
        sim.broker_outage(span(200, 6000), rng.chance(500'000));
    } else if (roll < 72) {
        std::vector<std::uint8_t> side(sim.size());
        for (auto& s : side) s = static_cast<std::uint8_t>(rng.between(std::uint64_t{0}, std::uint64_t{1}));
        sim.split(std::move(side), span(200, 3000));
    } else if (roll < 78) {
        if (can_lose_one) sim.leave(pick_target(sim, rng, healthy), span(1000, 15000));
    } else if (roll < 80) {
        sim.forge(rng);
    } else if (roll < 81) {
        sim.junk(rng);
    } else if (roll < 82) {
        // The highest node, most often: it leads each time it comes back.
        const std::size_t victim = rng.chance(600'000) ? sim.highest() : pick_target(sim, rng, all);
        if (can_lose_one && sim.healthy(victim)) {
            sim.crash_loop(victim, static_cast<std::uint32_t>(rng.between(std::uint64_t{2}, std::uint64_t{5})));
        }
    } else if (roll < 86) {
        Weather w = draw_weather(rng, sim.options());
        sim.set_weather(w);
        sim.trace().note(sim.now(), "weather: loss ", w.loss_ppm, " ppm, dup ", w.dup_ppm, " ppm, delay ",
                         w.delay_min.count(), "..", w.delay_max.count(), " ms");
    } else if (roll < 90) {
        // A whole process stopped (docker pause, SIGSTOP, a stalled VM): from
        // harmless to several timeouts.
        if (!healthy.empty()) sim.pause(pick_target(sim, rng, healthy), span(20, 3000));
    } else if (roll < 91) {
        // NTP steps a host's clock, back as often as forward.
        sim.step_wall_clock(pick_target(sim, rng, all), Millis{rng.between(std::int64_t{-600'000}, std::int64_t{600'000})});
    } else if (roll < 92) {
        if (const auto leader = sim.leader_slot()) sim.lose_binding(*leader);
    } else {
        // Calm: no fault this time.
    }
}

std::string describe(const std::vector<std::string>& names, const SimOptions& o) {
    std::ostringstream text;
    text << names.size() << " nodes:";
    for (const auto& n : names) text << ' ' << n;
    text << "; loss " << o.weather.loss_ppm << " ppm, dup " << o.weather.dup_ppm << " ppm, delay "
         << o.weather.delay_min.count() << ".." << o.weather.delay_max.count() << " ms; "
         << (o.fifo_links ? "fifo" : "reordering") << ", leader routing at "
         << (o.route_leader_at_publish ? "publish" : "delivery") << (o.through_codec ? ", via codec" : "")
         << ", restart failures " << o.restart_fail_ppm << " ppm, postponed " << o.restart_postpone_ppm << " ppm"
         << (o.restart_sigterm_ppm ? ", SIGTERM-first restarts" : "")
         << (o.expect_members ? ", EXPECTED_MEMBERS" : ", no EXPECTED_MEMBERS");
    if (o.broker_signals || o.docker_signals) {
        text << "; signals:" << (o.broker_signals ? " broker" : "") << (o.docker_signals ? " docker" : "") << " (loss "
             << o.signal_weather.loss_ppm << " ppm, dup " << o.signal_weather.dup_ppm << " ppm, delay "
             << o.signal_weather.delay_min.count() << ".." << o.signal_weather.delay_max.count() << " ms)";
    }
    return text.str();
}

}  // namespace

std::vector<std::string> draw_names(Rng& rng, std::size_t n) {
    static const char* const kPool[] = {"server", "worker-1", "worker-2", "worker-10", "node_9", "node_10", "Zeta",
                                        "alpha", "a", "aa", "~tilde", "0zero", "chaos_monkey", "svc.b", "svc-b",
                                        "W", "worker_2", "node_1", "node_100", "B.1"};
    std::vector<std::string> names;
    const std::uint64_t style = rng.between(std::uint64_t{0}, std::uint64_t{2});
    // Bounded: the pool has 20 names and the alphabet is large; n <= 12.
    for (int attempts = 0; names.size() < n && attempts < 10'000; ++attempts) {
        std::string name;
        if (style == 0) {
            name = "node_" + std::to_string(names.size() + 1);
        } else if (style == 1) {
            static const std::string kAlphabet = "abcxyzABZ019._-~";
            const std::size_t length = 1 + rng.index(8);
            for (std::size_t i = 0; i < length; ++i) name += kAlphabet[rng.index(kAlphabet.size())];
        } else {
            name = kPool[rng.index(std::size(kPool))];
        }
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    // Slots in random order, so slot index never hints at rank.
    for (std::size_t i = names.size(); i > 1; --i) std::swap(names[i - 1], names[rng.index(i)]);
    return names;
}

SeedReport run_seed(std::uint64_t seed, int trace_level, const Tweak& tweak) {
    Rng root(seed);
    Rng setup = root.fork();
    Rng chaos = root.fork();
    const std::uint64_t sim_seed = root.next();

    const auto n = static_cast<std::size_t>(setup.between(std::uint64_t{3}, std::uint64_t{12}));
    const std::vector<std::string> names = draw_names(setup, n);
    SimOptions options;
    options.weather = draw_weather(setup, options);
    options.fifo_links = setup.chance(700'000);
    options.route_leader_at_publish = setup.chance(500'000);
    options.through_codec = setup.chance(250'000);
    // docker restart sends SIGTERM first: in half the seeds the old process
    // says goodbye in the middle of its own restart.
    options.restart_sigterm_ppm = setup.chance(500'000) ? 1'000'000 : 0;
    // Half the seeds run without EXPECTED_MEMBERS: members known only by gossip.
    options.expect_members = setup.chance(500'000);
    options.restart_fail_ppm = setup.chance(500'000) ? 0 : static_cast<std::uint32_t>(setup.between(std::uint64_t{0}, std::uint64_t{200'000}));
    // A third of the seeds: the restarter is often full and postpones.
    options.restart_postpone_ppm =
        setup.chance(333'333) ? static_cast<std::uint32_t>(setup.between(std::uint64_t{0}, std::uint64_t{500'000})) : 0;
    // Fast crash signals in most seeds, as in production: the broker's where
    // its event plugin is on, Docker's where the back-end is docker.
    options.broker_signals = setup.chance(700'000);
    options.docker_signals = setup.chance(500'000);
    options.signal_weather = draw_signal_weather(setup);

    if (tweak) tweak(options);

    SeedReport report;
    report.seed = seed;
    report.nodes = n;
    report.setup = describe(names, options);

    Trace trace(trace_level);
    if (trace_level > 0) trace.note(Millis{0}, "seed ", seed, ": ", report.setup);
    Simulation sim(names, options, sim_seed, trace);
    sim.start_all(1000ms);

    // Fault phase.
    const std::int64_t scale = options.fault_scale;
    const Millis fault_end = kWarmUp * scale + Millis{chaos.between(std::int64_t{60'000}, std::int64_t{120'000}) * scale};
    Millis next = kWarmUp * scale;
    while (sim.invariants().ok()) {  // bounded: `next` grows by >= 100 ms
        next += Millis{chaos.between(std::int64_t{100}, std::int64_t{4000}) * scale};
        if (next >= fault_end) break;
        sim.run_until(next);
        random_fault(sim, chaos);
    }
    sim.run_until(fault_end);
    sim.heal();
    report.fault_end = fault_end;

    // Convergence phase: whole and agreed within the bound, then held without
    // a break (a leader that flaps, or a late false death, fails the hold).
    const Millis deadline = fault_end + convergence_bound(sim.options(), n);
    std::optional<Millis> since;  // converged, and held ever since
    const Millis hold = kHold * scale;
    while (sim.invariants().ok() && sim.now() < deadline + hold) {  // bounded by the deadline
        sim.run_until(sim.now() + kConvergenceStep);
        std::string why = sim.invariants().why_not_converged(sim);
        if (why.empty() && !since) why = sim.invariants().why_not_settled(sim);
        if (why.empty()) {
            if (!since) since = sim.now();
            if (sim.now() - *since >= hold) break;
        } else if (since) {
            sim.invariants().fail(sim.now(), "converged at " + std::to_string(since->count()) +
                                                 " ms, then broke: " + why);
        } else if (sim.now() > deadline) {
            sim.invariants().fail(sim.now(), "not converged " +
                                                 std::to_string(convergence_bound(sim.options(), n).count()) +
                                                 " ms after the faults ended: " + why);
        }
    }
    if (sim.invariants().ok() && (!since || sim.now() - *since < hold)) {
        sim.invariants().fail(sim.now(), "converged state did not hold");
    }
    report.converged_at = since.value_or(Millis{-1});
    report.finished_at = sim.now();
    report.ok = sim.invariants().ok();
    report.failure = sim.invariants().first();
    for (const auto& v : sim.invariants().violations()) report.failures.push_back(v.what);
    report.stats = sim.stats();
    if (!report.ok) report.trace_tail = trace.tail();
    return report;
}

}  // namespace vigil::sim
