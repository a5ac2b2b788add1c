#include "vigil/recovery_planner.hpp"

#include <algorithm>

namespace vigil {

Millis RecoveryPlanner::backoff_after(std::uint32_t in_a_row) const {
    // The first restart is immediate; then initial, 2x, 4x ... capped at max.
    if (in_a_row == 0) return Millis{0};
    Millis delay = policy_.backoff_initial;
    for (std::uint32_t i = 1; i < in_a_row && delay < policy_.backoff_max; ++i) delay *= 2;
    return std::min(delay, policy_.backoff_max);
}

Millis RecoveryPlanner::next_allowed(const std::string& name, Millis now) const {
    const auto it = nodes_.find(name);
    if (it == nodes_.end()) return now;
    const Node& node = it->second;
    Millis earliest = std::max(now, node.booting_until);
    if (node.in_a_row > 0) earliest = std::max(earliest, node.last_restart + backoff_after(node.in_a_row));
    return earliest;
}

std::vector<std::string> RecoveryPlanner::plan(const std::vector<std::string>& dead, Millis now,
                                               std::size_t limit) {
    std::vector<std::string> restart;
    for (const std::string& name : dead) {
        Node& node = nodes_[name];
        node.healthy_streak = false;
        if (restart.size() >= limit || node.in_flight || next_allowed(name, now) > now) continue;
        node.in_flight = true;
        node.last_restart = now;
        ++node.in_a_row;
        restart.push_back(name);
    }
    return restart;
}

void RecoveryPlanner::finished(const std::string& name, bool ok, Millis now) {
    const auto it = nodes_.find(name);
    if (it == nodes_.end()) return;
    it->second.in_flight = false;
    // A failed command leaves nothing booting; the back-off still spaces retries.
    it->second.booting_until = ok ? now + policy_.boot_grace : now;
}

void RecoveryPlanner::healthy(const std::string& name, Millis now) {
    const auto it = nodes_.find(name);
    if (it == nodes_.end()) return;
    Node& node = it->second;
    node.booting_until = Millis{0};
    if (!node.healthy_streak) {
        node.healthy_streak = true;
        node.healthy_since = now;
    } else if (now - node.healthy_since >= policy_.backoff_reset_after) {
        node.in_a_row = 0;
    }
}

void RecoveryPlanner::unhealthy(const std::string& name) {
    if (const auto it = nodes_.find(name); it != nodes_.end()) it->second.healthy_streak = false;
}

bool RecoveryPlanner::in_flight(const std::string& name) const {
    const auto it = nodes_.find(name);
    return it != nodes_.end() && it->second.in_flight;
}

std::uint32_t RecoveryPlanner::restarts_in_a_row(const std::string& name) const {
    const auto it = nodes_.find(name);
    return it == nodes_.end() ? 0 : it->second.in_a_row;
}

}  // namespace vigil
