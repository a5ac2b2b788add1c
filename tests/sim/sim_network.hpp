#pragma once
// The broker as the simulation sees it: which nodes hold a live connection,
// network splits between nodes, and per-recipient loss, duplication, delay
// and reordering of published messages. Deliveries go onto the shared
// timeline; a delivery is void if its recipient's connection changed since
// publish (an exclusive queue dies with its connection).
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim_config.hpp"
#include "sim_events.hpp"
#include "sim_rng.hpp"
#include "vigil/message.hpp"
#include "vigil/node.hpp"

namespace vigil::sim {

// One direction of a node's link black-holed (its AMQP heartbeats too). TCP
// holds what is sent meanwhile and delivers it late, unless the connection dies.
enum class LinkFault : std::uint8_t { None, Mute, Deaf };

struct Published {
    Message message;
    Millis at{0};  // published (the queue's message TTL counts from here)
    std::size_t from = 0;  // sender's slot
    Audience audience = Audience::Everyone;
    std::string to;  // Audience::Direct: its recipient's name
    bool injected = false;  // put on the wire by a test, not by a node
    // Published while its sender was mute: the bytes wait in the sender's TCP
    // connection until the path is back, and are lost if that connection dies.
    bool held = false;
    std::uint64_t sender_epoch = 0;
};

class Network {
public:
    // `names`: each slot's node name (its direct binding).
    Network(std::vector<std::string> names, Rng rng, const SimOptions& options, EventQueue& queue);

    // Connections. `epoch` changes on every reconnect.
    bool up(std::size_t slot) const { return links_[slot].up; }
    std::uint64_t epoch(std::size_t slot) const { return links_[slot].epoch; }
    Millis up_since(std::size_t slot) const { return links_[slot].since; }
    void set_up(std::size_t slot, Millis now);
    void set_down(std::size_t slot);

    // A split: nodes on different sides hear nothing from each other.
    void split(std::vector<std::uint8_t> side, Millis now) {
        side_ = std::move(side);
        split_changed_at_ = now;
    }
    void heal_split(Millis now) {
        if (side_.empty()) return;
        side_.clear();
        split_changed_at_ = now;
    }
    Millis split_changed_at() const { return split_changed_at_; }
    bool split_active() const { return !side_.empty(); }
    bool blocked(std::size_t from, std::size_t to) const { return !side_.empty() && side_[from] != side_[to]; }

    void set_fault(std::size_t slot, LinkFault fault, Millis now) {
        if (faults_[slot] == fault) return;
        faults_[slot] = fault;
        fault_changed_at_[slot] = now;
    }
    LinkFault fault(std::size_t slot) const { return faults_[slot]; }
    Millis fault_changed_at(std::size_t slot) const { return fault_changed_at_[slot]; }
    // The leader's binding of the slot's queue is gone (the broker lost it);
    // the transport binds it anew the next time the node takes the lead.
    void lose_binding(std::size_t slot, Millis now) {
        unbound_[slot] = true;
        fault_changed_at_[slot] = now;
    }
    void restore_binding(std::size_t slot, Millis now) {
        if (!unbound_[slot]) return;
        unbound_[slot] = false;
        fault_changed_at_[slot] = now;
    }
    bool unbound(std::size_t slot) const { return unbound_[slot]; }
    // One way faulty (or its binding lost) at some time in [from, now]?
    bool one_way_since(std::size_t slot, Millis from) const {
        return faults_[slot] != LinkFault::None || unbound_[slot] || fault_changed_at_[slot] >= from;
    }
    // Does the queue of `to` take a message published by `from` to that
    // audience? By the transport's own bindings (control_routing.hpp).
    bool routed(const Published& published, std::size_t to, bool leading) const;

    void set_weather(const Weather& weather) { weather_ = weather; }
    const Weather& weather() const { return weather_; }

    // A node publishes. A sender without a connection loses the message (the
    // publish fails). `is_leader` tells whose queue has the leader's bindings.
    void publish(std::size_t from, const Outgoing& outgoing, Millis now,
                 const std::function<bool(std::size_t)>& is_leader);
    // A test puts a message on the wire, delivered to every connected node.
    void inject(const Message& message, std::size_t from, Millis now, Millis delay);

    const Published& published(std::uint64_t index) const { return pool_[index]; }

    // For the false-death rule: when a message from `from` last failed to
    // reach `to` (loss or split), or never.
    std::optional<Millis> last_loss(std::size_t from, std::size_t to) const { return loss_[from * n_ + to]; }
    void note_loss(std::size_t from, std::size_t to, Millis now) {
        loss_[from * n_ + to] = now;
        last_loss_any_ = now;
    }
    Millis last_loss_any() const { return last_loss_any_; }

    std::uint64_t sent() const { return sent_; }
    std::uint64_t lost() const { return lost_; }

private:
    struct Link {
        bool up = false;
        std::uint64_t epoch = 0;
        Millis since{0};
    };
    void schedule(std::uint64_t index, std::size_t from, std::size_t to, Millis now, bool lost);

    std::size_t n_;
    std::vector<std::string> names_;
    Rng rng_;
    const SimOptions& options_;
    EventQueue& queue_;
    Weather weather_;
    std::vector<Link> links_;
    std::vector<std::uint8_t> side_;
    Millis split_changed_at_{0};
    std::deque<Published> pool_;
    std::vector<std::optional<Millis>> loss_;
    Millis last_loss_any_{-1};
    std::vector<LinkFault> faults_;
    std::vector<Millis> fault_changed_at_;
    std::vector<bool> unbound_;
    // FIFO per (from, to), within one connection of the sender: RabbitMQ
    // keeps a publisher's order per channel, not across its reconnects.
    struct Arrival {
        Millis at{0};
        std::uint64_t sender_epoch = 0;
    };
    std::vector<Arrival> last_arrival_;
    std::uint64_t sent_ = 0;
    std::uint64_t lost_ = 0;
};

}  // namespace vigil::sim
