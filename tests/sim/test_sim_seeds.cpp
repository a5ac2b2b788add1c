// The seed sweep: many random clusters through faults and back.
//   VIGIL_SIM_SEEDS=<count>   how many seeds (default 500), starting at
//   VIGIL_SIM_SEED_BASE=<n>   the first seed (default 1)
//   VIGIL_SIM_SEED=<n>        replay exactly one seed with a trace of events
//   VIGIL_SIM_TRACE=2         ... including every delivered message
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "sim_chaos.hpp"

namespace {

using vigil::sim::SeedReport;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* text = std::getenv(name);
    if (!text || !*text) return fallback;
    return std::strtoull(text, nullptr, 10);
}

std::string failure_text(const SeedReport& r) {
    return "seed " + std::to_string(r.seed) + " (" + std::to_string(r.nodes) + " nodes) failed: " + r.failure +
           "\n  setup: " + r.setup + "\n  replay: VIGIL_SIM_SEED=" + std::to_string(r.seed) +
           " tests/sim/vigil_sim_tests \"[seeds]\"\n  last events:\n" + r.trace_tail;
}

// Many seeds in one mode: a count line with every figure, the first failures
// in full (with their replay line), and proof that the faults really ran.
void sweep(const char* mode, std::uint64_t default_count, const vigil::sim::Tweak& tweak) {
    if (std::getenv("VIGIL_SIM_SEED")) {
        const std::uint64_t seed = env_number("VIGIL_SIM_SEED", 1);
        const int level = static_cast<int>(env_number("VIGIL_SIM_TRACE", 1));
        const SeedReport r = vigil::sim::run_seed(seed, level, tweak);
        std::cout << mode << " seed " << seed << ": " << (r.ok ? "ok" : "FAILED") << ", faults until "
                  << r.fault_end.count() << " ms, converged at " << r.converged_at.count() << " ms\n";
        INFO(failure_text(r));
        CHECK(r.ok);
        return;
    }

    const std::uint64_t count = env_number("VIGIL_SIM_SEEDS", default_count);
    const std::uint64_t base = env_number("VIGIL_SIM_SEED_BASE", 1);
    const auto started = std::chrono::steady_clock::now();
    vigil::sim::SimStats total;
    std::uint64_t failed = 0;
    vigil::Millis::rep slowest_convergence_ms = 0;
    for (std::uint64_t seed = base; seed < base + count; ++seed) {
        const SeedReport r = vigil::sim::run_seed(seed, 0, tweak);
        total.add(r.stats);
        slowest_convergence_ms = std::max(slowest_convergence_ms, (r.converged_at - r.fault_end).count());
        if (!r.ok) {
            ++failed;
            if (failed <= 20) std::cout << "FAILED " << mode << " seed " << r.seed << " (" << r.nodes << " nodes): " << r.failure << '\n';
            if (failed <= 3) FAIL_CHECK(mode << ' ' << failure_text(r));
        }
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << mode << ": " << count << " seeds from " << base << " in " << seconds << " s: " << failed << " failed; "
              << total.crashes << " crashes, " << total.hangs << " hangs (" << total.apoptoses << " apoptoses), "
              << total.stalls << " stalls, " << total.cuts << " cuts, " << total.black_holes << " black holes, "
              << total.outages << " outages, " << total.broker_stalls << " broker stalls, " << total.splits
              << " splits, " << total.leaves << " leaves, "
              << total.forgeries << " forgeries, " << total.junk << " junk senders, " << total.crash_loops
              << " crash loops, " << total.pauses << " pauses, " << total.one_way_cuts << " one-way cuts, "
              << total.clock_steps << " clock steps, " << total.lost_bindings << " lost bindings; "
              << total.members_forgotten << " members forgotten; " << total.restarts_emitted << " restarts emitted ("
              << total.restarts_acted << " acted, " << total.restarts_failed << " failed, " << total.restarts_abandoned
              << " abandoned, " << total.restarts_postponed << " postponed; " << total.restarts_of_live << " of live, connected processes, "
              << total.restarts_by_cut_off << " of them by a cut-off issuer); " << total.leader_changes
              << " leader changes; " << total.deliveries << " deliveries, " << total.signals_delivered << " of "
              << total.signals_sent << " signals delivered; slowest convergence "
              << slowest_convergence_ms << " ms, longest down " << total.longest_down.count() << " ms\n";
    CHECK(failed == 0);
    // The sweep must have exercised what it claims to (a vacuous run fails).
    if (count >= 50) {
        CHECK(total.crashes > 0);
        CHECK(total.apoptoses > 0);
        CHECK(total.restarts_acted > 0);
        CHECK(total.restarts_failed > 0);
        CHECK(total.restarts_postponed > 0);
        CHECK(total.outages > 0);
        CHECK(total.broker_stalls > 0);
        CHECK(total.splits > 0);
        CHECK(total.leaves > 0);
        CHECK(total.black_holes > 0);
        CHECK(total.forgeries > 0);
        CHECK(total.junk > 0);
        CHECK(total.crash_loops > 0);
        CHECK(total.pauses > 0);
        CHECK(total.one_way_cuts > 0);
        CHECK(total.clock_steps > 0);
        CHECK(total.lost_bindings > 0);
        CHECK(total.signals_delivered > 0);
    }
}

}  // namespace

TEST_CASE("random clusters converge and keep every invariant", "[sim][seeds]") {
    sweep("fast timings", 500, nullptr);
}

// Every seed with both kinds of fast crash signal, and their faults.
TEST_CASE("random clusters with fast crash signals", "[sim][signals]") {
    sweep("signals", 300, [](vigil::sim::SimOptions& o) {
        o.broker_signals = o.docker_signals = true;
    });
}

// The shipped timings (2 s / 6 s / 3 s) with link failures noticed as late as
// the real transport notices them (AMQP heartbeats: up to 10 s).
TEST_CASE("random clusters at the shipped timings", "[sim][shipped]") {
    sweep("shipped timings", 200, vigil::sim::use_shipped);
}
