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
    Millis earliest = std::max({now, node.booting_until, node.retry_at, node.others_booting_until});
    if (node.in_a_row > 0) earliest = std::max(earliest, node.last_restart + backoff_after(node.in_a_row));
    return earliest;
}

std::vector<std::string> RecoveryPlanner::plan(const std::vector<std::string>& dead, Millis now,
                                               std::size_t limit) {
    std::vector<std::string> restart;
    for (const std::string& name : dead) {
        Node& node = nodes_[name];
        node.healthy_streak = false;
        // No restart for a whole reset period: it was healthy meanwhile (a node
        // that stays dead is retried at least every backoff_max), whoever
        // watched it then; followers never hear members to see it themselves.
        if (node.in_a_row > 0 && now - node.last_restart > policy_.backoff_reset_after) node.in_a_row = 0;
        if (restart.size() >= limit || node.in_flight || next_allowed(name, now) > now) continue;
        node.in_flight = true;
        node.previous_restart = node.last_restart;
        node.last_restart = now;
        node.in_a_row = std::min<std::uint32_t>(node.in_a_row + 1, kMaxRestartsInARow);
        restart.push_back(name);
    }
    return restart;
}

void RecoveryPlanner::finished(const std::string& name, bool ok, Millis now) {
    const auto it = nodes_.find(name);
    if (it == nodes_.end()) return;
    Node& node = it->second;
    node.in_flight = false;
    // A failed command leaves nothing booting (the back-off still spaces
    // retries). A life heard while the command ran may be the one it then
    // killed (a previous restart's, late to the broker), so the grace holds
    // until the member is heard after this (healthy() ends it).
    node.booting_until = ok ? now + policy_.boot_grace : now;
}

void RecoveryPlanner::postponed(const std::string& name, Millis now) {
    const auto it = nodes_.find(name);
    if (it == nodes_.end() || !it->second.in_flight) return;
    Node& node = it->second;
    node.in_flight = false;
    if (node.in_a_row > 0) --node.in_a_row;
    node.last_restart = node.previous_restart;
    node.retry_at = now + policy_.postpone_retry;
}

void RecoveryPlanner::healthy(const std::string& name, Millis now, bool new_life) {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) {
        if (!new_life) return;
        it = nodes_.emplace(name, Node{}).first;  // remember the new life against stale notes
    }
    Node& node = it->second;
    node.booting_until = Millis{0};
    if (new_life) {
        node.others_in_flight_until = node.others_booting_until = Millis{0};  // whoever restarted it is done
        node.new_life_at = now;
    }
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

std::vector<RestartNote> RecoveryPlanner::notes(Millis now) const {
    std::vector<RestartNote> out;
    for (const auto& [name, node] : nodes_) {
        const bool in_flight = node.in_flight || now < node.others_in_flight_until;
        const bool recent = node.in_a_row > 0 && now - node.last_restart < policy_.backoff_reset_after;
        if (!in_flight && !recent) continue;
        const auto age = std::max<Millis::rep>(0, (now - node.last_restart).count());
        out.push_back(RestartNote{name, node.in_a_row, static_cast<std::uint64_t>(age), in_flight});
    }
    return out;
}

void RecoveryPlanner::learn(const RestartNote& note, Millis now) {
    const Millis restarted_at = now - Millis{static_cast<Millis::rep>(std::min(note.age_ms, kMaxNoteAgeMs))};
    const std::uint32_t count = std::min(note.in_a_row, kMaxRestartsInARow);
    Node& node = nodes_[note.name];
    // Ages travel with delivery delays, so times match only roughly; each
    // restart raises the count, so (count, time) tells restarts apart.
    constexpr Millis kTimeSlack{1000};
    const bool same = count == node.in_a_row && restarted_at <= node.last_restart + kTimeSlack &&
                      restarted_at >= node.last_restart - kTimeSlack;
    const bool newer = !same && (restarted_at > node.last_restart + kTimeSlack ||
                                 (count > node.in_a_row && restarted_at >= node.last_restart - kTimeSlack));
    if (same) {
        if (!note.in_flight && now < node.others_in_flight_until) {
            node.others_in_flight_until = Millis{0};  // news that it finished: it boots, perhaps
            node.others_booting_until = std::max(node.others_booting_until, now + policy_.boot_grace);
        }
        return;
    }
    if (!newer) return;  // our news is fresher: we tell them, not they us
    // Two leaders (one stepping down) may each have counted: keep the larger,
    // so that a newer restart with a lower count does not shorten the back-off.
    node.in_a_row = std::max(node.in_a_row, count);
    node.last_restart = restarted_at;
    // A restart issued before we heard a new life of it is over, whatever a
    // late or stale note says.
    const bool running = note.in_flight && !node.in_flight && restarted_at > node.new_life_at;
    node.others_in_flight_until = running ? restarted_at + policy_.restart_timeout : Millis{0};
    node.others_booting_until = running ? node.others_in_flight_until + policy_.boot_grace : Millis{0};
}

bool RecoveryPlanner::in_flight(const std::string& name) const {
    const auto it = nodes_.find(name);
    return it != nodes_.end() && it->second.in_flight;
}

bool RecoveryPlanner::restarting(const std::string& name, Millis now) const {
    const auto it = nodes_.find(name);
    if (it == nodes_.end()) return false;
    const Node& node = it->second;
    return node.in_flight || now < node.others_in_flight_until || now < node.booting_until ||
           now < node.others_booting_until;
}

bool RecoveryPlanner::goodbye_is_restart(const std::string& name, Millis now) const {
    const auto it = nodes_.find(name);
    // docker restart's SIGTERM comes while the command runs, never after it.
    return it != nodes_.end() && (it->second.in_flight || now < it->second.others_in_flight_until);
}

std::uint32_t RecoveryPlanner::restarts_in_a_row(const std::string& name) const {
    const auto it = nodes_.find(name);
    return it == nodes_.end() ? 0 : it->second.in_a_row;
}

}  // namespace vigil
