// Clusters of 50 to 1000 cores in the simulation, all started at once on a
// calm network: the protocol's deliveries must stay linear in the cluster's
// size. Counts, not times: the simulation is deterministic.
//   - electing: ELECTION / ANSWER / COORDINATOR deliveries until one leader is
//     agreed, per node (the highest elects first; the rest only hear it);
//   - steady: deliveries per heartbeat interval, per node, once agreed (the
//     leader's broadcast, a follower's heartbeat to the leader, its echo).
// The start-up's hellos (one heartbeat to everyone per connect, so that every
// node learns every other, and whom to let elect first) are N^2, once.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sim_cluster.hpp"

namespace {

using vigil::Millis;
using vigil::sim::Simulation;
using namespace std::chrono_literals;

bool agreed(const Simulation& sim) {
    const auto leader = sim.leader_slot();
    if (!leader || *leader != sim.highest()) return false;
    for (std::size_t i = 0; i < sim.size(); ++i) {
        const vigil::Node* node = sim.node(i);
        if (!node || node->leader() != sim.slot(*leader).name) return false;
    }
    return true;
}

struct Figures {
    double electing_per_node;
    double steady_per_node_per_interval;
};

Figures measure(std::size_t nodes, bool expect_members) {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < nodes; ++i) names.push_back("n" + std::to_string(1000 + i));
    vigil::sim::SimOptions options;
    options.weather = vigil::sim::Weather{0, 0, 5ms, 20ms};
    options.delay_cap = 20ms;
    options.expect_members = expect_members;
    options.max_members = 2 * nodes;
    vigil::sim::Trace trace(std::getenv("VIGIL_SIM_TRACE") ? std::atoi(std::getenv("VIGIL_SIM_TRACE")) : 0, 20);
    Simulation sim(names, options, 7, trace);
    sim.start_all(300ms);
    const Millis give_up = 60s;
    while (!agreed(sim) && sim.now() < give_up) sim.run_until(sim.now() + 50ms);
    INFO(nodes << " nodes: " << sim.invariants().first() << "\n" << trace.tail());
    REQUIRE(agreed(sim));
    const double electing = static_cast<double>(sim.stats().election_deliveries) / static_cast<double>(nodes);
    const std::uint64_t before = sim.stats().deliveries;
    const Millis window = 50 * options.timing.heartbeat_interval;
    sim.run_until(sim.now() + window);
    REQUIRE(agreed(sim));
    REQUIRE(sim.invariants().ok());
    const double intervals = static_cast<double>(window / options.timing.heartbeat_interval);
    const double steady = static_cast<double>(sim.stats().deliveries - before) / intervals / static_cast<double>(nodes);
    std::printf("sim scale: %4zu nodes%s: electing %.2f deliveries per node, steady %.2f per node per interval\n",
                nodes, expect_members ? "" : " (no EXPECTED_MEMBERS)", electing, steady);
    return Figures{electing, steady};
}

}  // namespace

TEST_CASE("deliveries stay linear in the cluster's size, 50 to 1000 nodes", "[scale]") {
    for (const std::size_t nodes : {50, 200, 1000}) {
        for (const bool expect_members : {true, false}) {
            if (nodes == 1000 && !expect_members) continue;  // a minute more, and no news
            const Figures f = measure(nodes, expect_members);
            // A handful of broadcast ELECTIONs (from nodes that connect before
            // any higher one) and one COORDINATOR: not one per node, nor N^2.
            CHECK(f.electing_per_node < 12.0);
            // Two for each follower's heartbeat, one for the leader's broadcast.
            CHECK(f.steady_per_node_per_interval < 4.0);
        }
    }
}
