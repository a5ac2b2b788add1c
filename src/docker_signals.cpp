#include "docker_signals.hpp"

#include <chrono>

namespace vigil {
namespace {

std::int64_t wall_now_ms() {
    return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Docker's wall time on our steady clock; an event without a time is now.
Millis steady_at(std::int64_t wall_ms, Millis steady_now, std::int64_t wall_now) {
    return wall_ms > 0 ? steady_now - Millis{wall_now - wall_ms} : steady_now;
}

}  // namespace

std::optional<Observation> observation_of(const ContainerState& state, Millis steady_now, std::int64_t wall_now) {
    if ((state.status != "exited" && state.status != "dead") || state.finished_wall_ms <= 0) return std::nullopt;
    return Observation{Observation::Kind::ContainerExited, state.name, 0, 0,
                       steady_at(state.finished_wall_ms, steady_now, wall_now)};
}

Observation observation_of(const ContainerEvent& event, Millis steady_now, std::int64_t wall_now) {
    const auto kind = event.started ? Observation::Kind::ContainerStarted : Observation::Kind::ContainerExited;
    return Observation{kind, event.name, 0, 0, steady_at(event.wall_ms, steady_now, wall_now)};
}

DockerSignals::DockerSignals(std::vector<std::string> names, std::string label)
    : names_(std::move(names)), label_(std::move(label)) {}

std::vector<Observation> DockerSignals::poll(bool leading, const Members& members, Millis now) {
    std::vector<Observation> out;
    if (!leading) {
        if (events_) news_.push_back("not leading: no longer following docker events");
        events_.reset();  // stops the child
        return out;
    }
    if (!events_) {
        events_ = std::make_unique<DockerEvents>(names_, label_);
        reconciled_for_ = 0;
    }
    const std::int64_t wall_now = wall_now_ms();
    for (const ContainerEvent& event : events_->poll(now)) out.push_back(observation_of(event, now, wall_now));
    // Once per start of the stream: what happened before it ran.
    if (events_->running() && reconciled_for_ != events_->starts() && !inspect_.busy() &&
        inspect_.start(members(), now)) {
        reconciled_for_ = events_->starts();
    }
    if (const auto result = inspect_.poll(now)) {
        if (!result->ok) news_.push_back("docker inspect of the members failed (" + result->error + ")");
        for (const ContainerState& state : result->states) {
            if (const auto exited = observation_of(state, now, wall_now)) out.push_back(*exited);
        }
    }
    return out;
}

std::optional<std::string> DockerSignals::take_news() {
    if (events_) {
        if (auto news = events_->take_news()) return news;
    }
    if (news_.empty()) return std::nullopt;
    std::string news = std::move(news_.front());
    news_.erase(news_.begin());
    return news;
}

Millis DockerSignals::next_due(Millis now) const {
    Millis due = events_ ? events_->next_due(now) : now + Millis{60000};
    if (inspect_.busy()) due = std::min(due, inspect_.next_due(now));
    return due;
}

}  // namespace vigil
