#pragma once
// One seed, end to end: draw a cluster (3..12 nodes, awkward names), network
// weather and modes from the seed; run a fault phase of random crashes, hangs,
// stalls, partitions, broker outages, splits and graceful leaves; heal; then
// require convergence (I1, I3) within convergence_bound() and hold it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sim_cluster.hpp"

namespace vigil::sim {

struct SeedReport {
    std::uint64_t seed = 0;
    std::size_t nodes = 0;
    bool ok = true;
    std::string failure;     // the first violation
    std::vector<std::string> failures;  // all recorded (up to 20)
    std::string setup;       // what the seed drew (nodes, weather, modes)
    std::string trace_tail;  // last notable events before the end
    Millis fault_end{0}, converged_at{0}, finished_at{0};
    SimStats stats;
};

// trace_level: 0 quiet (keep a tail), 1 notable events, 2 every message.
// `tweak` may change the drawn options (the shipped timings, self-tests).
using Tweak = std::function<void(SimOptions&)>;
SeedReport run_seed(std::uint64_t seed, int trace_level = 0, const Tweak& tweak = nullptr);

// Names for n nodes: several styles, so byte-wise order matters ("node_10" <
// "node_9", "Zeta" < "alpha", punctuation).
std::vector<std::string> draw_names(Rng& rng, std::size_t n);

}  // namespace vigil::sim
