// The harness catches a misbehaving system: each row runs a few seeds with
// one deliberate defect and requires the named invariant to report it. (The
// core itself was also mutated by hand, one defect at a time; see README.md.)
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "sim_chaos.hpp"

namespace {

using namespace std::chrono_literals;
using vigil::sim::SimOptions;

struct Defect {
    const char* name;
    std::function<void(SimOptions&)> tweak;
    const char* expected;  // a fragment of the violation it must cause
};

}  // namespace

TEST_CASE("the invariants catch a misbehaving system", "[sim][selftest]") {
    const auto core = [](auto change) {
        return [change](SimOptions& o) {
            vigil::sim::Timing t = o.timing;
            change(t);
            o.core_timing = t;
        };
    };
    const std::vector<Defect> defects = {
        // The proof of the own path already spaces judgements by an interval
        // plus slack; without the slack, a short timeout shows again.
        {"heartbeat timeout and path slack shorter than the heartbeat jitter (I4)",
         core([](vigil::sim::Timing& t) {
             t.heartbeat_timeout = 250ms;
             t.path_slack = 0ms;
         }),
         "false death"},
        {"watchdog slower than PULSE_TIMEOUT (I5)", core([](vigil::sim::Timing& t) { t.pulse_timeout += 500ms; }),
         "not terminated after"},
        {"watchdog faster than PULSE_TIMEOUT (I5)", core([](vigil::sim::Timing& t) { t.pulse_timeout -= 500ms; }),
         "watchdog expired after only"},
        {"election gives up before ANSWERs can arrive (I8)",
         core([](vigil::sim::Timing& t) { t.election_timeout = 30ms; }), "became leader"},
        // With rare heartbeats every follower times its leader out between
        // two of them, again and again: elections never settle, so neither
        // do restarts (a lower node no longer usurps: the highest candidate's
        // ELECTION makes every lower one stand down).
        {"leader heartbeats ten times too rare (I3)", core([](vigil::sim::Timing& t) { t.heartbeat_interval = 2000ms; }),
         "not converged"},
        {"restarts never work (I3)", [](SimOptions& o) { o.restarts_never_work = true; }, "not converged"},
        {"every restart run twice (I7)", [](SimOptions& o) { o.double_restarts = true; }, "is still running"},
        // A connection reported closed while it lives on: nothing the member
        // sends disproves it (same life, same link), so the core takes it.
        {"a broker that reports live connections closed (I12)", [](SimOptions& o) { o.lying_signals = true; },
         "took a fast signal for the death of"},
    };
    for (const Defect& defect : defects) {
        DYNAMIC_SECTION(defect.name) {
            std::string seen;
            // Bounded: at most 40 seeds; most defects show in the first few.
            for (std::uint64_t seed = 1; seed <= 40; ++seed) {
                const auto report = vigil::sim::run_seed(seed, 0, defect.tweak);
                for (const std::string& text : report.failures) {
                    if (text.find(defect.expected) != std::string::npos) seen = text;
                }
                if (!seen.empty()) break;
            }
            INFO("expected a violation containing '" << defect.expected << "'");
            CHECK_FALSE(seen.empty());
        }
    }
}
