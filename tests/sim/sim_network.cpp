#include "sim_network.hpp"

#include <algorithm>
#include <string>

#include "control_routing.hpp"

namespace vigil::sim {

Network::Network(std::vector<std::string> names, Rng rng, const SimOptions& options, EventQueue& queue)
    : n_(names.size()),
      names_(std::move(names)),
      rng_(rng),
      options_(options),
      queue_(queue),
      weather_(options.weather),
      links_(n_),
      loss_(n_ * n_),
      faults_(n_, LinkFault::None),
      fault_changed_at_(n_, Millis{-1}),
      unbound_(n_, false),
      last_arrival_(n_ * n_) {}

void Network::set_up(std::size_t slot, Millis now) {
    Link& link = links_[slot];
    link.up = true;
    ++link.epoch;
    link.since = now;
}

void Network::set_down(std::size_t slot) {
    Link& link = links_[slot];
    link.up = false;
    ++link.epoch;  // whatever was queued for the old connection is gone
}

void Network::publish(std::size_t from, const Outgoing& outgoing, Millis now,
                      const std::function<bool(std::size_t)>& is_leader) {
    ++sent_;
    if (!links_[from].up) {
        ++lost_;  // publish on a dead connection fails
        return;
    }
    pool_.push_back(Published{outgoing.message, now, from, outgoing.audience, outgoing.to, false,
                              faults_[from] == LinkFault::Mute, links_[from].epoch});
    const std::uint64_t index = pool_.size() - 1;
    for (std::size_t to = 0; to < n_; ++to) {
        if (!links_[to].up) continue;  // no queue bound: nobody to route to
        // AMQP routes at publish time; the other mode decides at delivery.
        if (options_.route_leader_at_publish && !routed(pool_[index], to, is_leader(to))) continue;
        const bool lost = blocked(from, to) || rng_.chance(weather_.loss_ppm);
        schedule(index, from, to, now, lost);
        if (!lost && rng_.chance(weather_.dup_ppm)) schedule(index, from, to, now, false);
    }
}

bool Network::routed(const Published& published, std::size_t to, bool leading) const {
    const auto queue = [](std::size_t slot) { return "q" + std::to_string(slot); };
    const std::string key = routing::key_for(published.audience, queue(published.from), published.to);
    for (const std::string& binding : routing::bindings(leading, queue(to), names_[to])) {
        if (leading && unbound_[to] && binding == routing::kEverything) continue;
        if (routing::matches(binding, key)) return true;
    }
    return false;
}

void Network::inject(const Message& message, std::size_t from, Millis now, Millis delay) {
    pool_.push_back(Published{message, now, from, Audience::Everyone, "", true});
    const std::uint64_t index = pool_.size() - 1;
    for (std::size_t to = 0; to < n_; ++to) {
        if (!links_[to].up) continue;
        queue_.push(SimEvent{now + delay, 0, EventKind::Deliver, to, index, links_[to].epoch, false});
    }
}

// A lost message still travels the timeline, flagged: whether its loss matters
// (was its recipient listening, and the leader?) is only known at delivery.
void Network::schedule(std::uint64_t index, std::size_t from, std::size_t to, Millis now, bool lost) {
    const auto span = static_cast<std::int64_t>((weather_.delay_max - weather_.delay_min).count());
    Millis at = now + weather_.delay_min + Millis{rng_.between(std::int64_t{0}, std::max<std::int64_t>(0, span))};
    if (options_.fifo_links) {
        Arrival& last = last_arrival_[from * n_ + to];
        if (last.sender_epoch == links_[from].epoch) at = std::max(at, last.at);
        last = Arrival{at, links_[from].epoch};
    }
    if (lost) ++lost_;
    queue_.push(SimEvent{at, 0, EventKind::Deliver, to, index, links_[to].epoch, lost});
}

}  // namespace vigil::sim
