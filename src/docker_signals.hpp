#pragma once
// Docker as a source of fast crash signals, for the leader: while this node
// leads it follows `docker events` (a member's container died or started),
// and on taking the lead, or when the event stream came back (it reports only
// what happens while it runs), it asks `docker inspect` for every member's
// state, so that one that died meanwhile is restarted at once rather than a
// heartbeat timeout later. What it returns goes to Node::observe; Docker's
// wall-clock times are turned into the monitor's steady clock (same host,
// same clock). Nothing here blocks: the CLI runs as supervised children.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "docker_watch.hpp"
#include "vigil/observation.hpp"
#include "vigil/time.hpp"

namespace vigil {

// Pure: an inspected state as the core takes it (stopped with a time: an
// exit; running, paused, restarting or never started: nothing).
std::optional<Observation> observation_of(const ContainerState& state, Millis steady_now, std::int64_t wall_now_ms);
Observation observation_of(const ContainerEvent& event, Millis steady_now, std::int64_t wall_now_ms);

class DockerSignals {
public:
    // `names`: the members to follow (empty: every container, the core keeps
    // to its members); `label`: a label filter ("key=value", "" = none).
    DockerSignals(std::vector<std::string> names, std::string label);

    // `members`: whom to inspect when reconciling (the names the core knows);
    // called only then, not on every turn of the sidecar's loop.
    using Members = std::function<std::vector<std::string>()>;
    std::vector<Observation> poll(bool leading, const Members& members, Millis now);
    std::optional<std::string> take_news();
    bool following() const { return events_ && events_->running(); }
    // The event stream's pipe, for the sidecar's wait (-1 when not following).
    int fd() const { return events_ ? events_->fd() : -1; }
    Millis next_due(Millis now) const;

private:
    std::vector<std::string> names_;
    std::string label_;
    std::unique_ptr<DockerEvents> events_;  // while leading
    DockerInspect inspect_;
    std::uint64_t reconciled_for_ = 0;  // the stream start that was reconciled
    std::vector<std::string> news_;
};

}  // namespace vigil
