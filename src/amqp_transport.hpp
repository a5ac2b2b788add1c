#pragma once
// RabbitMQ adapter for the control plane (rabbitmq-c). One connection, owned
// and used by the monitor's thread only: rabbitmq-c connections are not
// thread-safe. No automatic reconnect in rabbitmq-c: the caller reconnects.
//
// A slow broker is not a lost broker: once TCP is up, setting up waits as long
// as the broker may take to notice a dead link (kDeadLinkNoticedWithin), and
// after that nothing waits for a reply at all. Bindings change with no-wait
// methods, so a leader whose broker is busy never gives up its connection for
// a late bind-ok (and never adds a reconnect to the broker's load).
#include <amqp.h>

#include <cstddef>
#include <string>

#include "vigil/config.hpp"
#include "vigil/node.hpp"
#include "vigil/time.hpp"

namespace vigil {

class AmqpTransport {
public:
    // LinkClosed: the broker's event exchange says a queue was deleted (its
    // name in `body`, "" if not one of this vhost): the fast signal of a
    // member's connection ending.
    enum class Received { Message, Timeout, Oversized, Closed, LinkClosed };

    // `self`: the node's name, for the binding of messages sent to it alone.
    AmqpTransport(BrokerConfig broker, std::string exchange, std::string self, std::size_t max_message_bytes,
                  Millis message_ttl);
    ~AmqpTransport() { close(); }
    AmqpTransport(const AmqpTransport&) = delete;
    AmqpTransport& operator=(const AmqpTransport&) = delete;

    // Connects, declares the exchange and a fresh exclusive queue named for
    // this life and link (control_queue.hpp), binds it as a follower
    // (control_routing.hpp) and to the broker's queue.deleted events if the
    // broker offers them. False with error() set on failure (and stays closed).
    bool connect(std::uint64_t incarnation, std::uint64_t link);
    void close() noexcept;
    // Closes channel and connection properly (bounded by the RPC timeout), so
    // that what we just published is delivered; for a graceful stop.
    void close_politely() noexcept;
    bool connected() const noexcept { return conn_ != nullptr; }

    bool publish(const Outgoing& outgoing, const std::string& body);
    // Follower heartbeats are routed to the leader only: take the leader's
    // bindings, or the follower's again.
    bool listen_to_followers(bool on);
    // Waits up to `timeout` for one message (0 = just look). Returns Timeout
    // early if `also_wake_on` (another input's fd, -1 = none) becomes readable.
    Received receive(Millis timeout, std::string& body, int also_wake_on = -1);

    const std::string& error() const noexcept { return error_; }
    // Whether this connection hears queue.deleted events; if not, why not
    // (no rabbitmq_event_exchange plugin, no permission, another vhost).
    bool broker_events() const noexcept { return broker_events_; }
    const std::string& broker_events_error() const noexcept { return broker_events_error_; }

private:
    bool check(amqp_rpc_reply_t reply, const char* what);
    bool fail(const std::string& what);
    Received handle_unexpected_frame();
    bool other_input_first(Millis timeout, int fd);
    bool bind(const std::string& binding, bool on);
    void bind_broker_events();

    BrokerConfig broker_;
    std::string exchange_;
    std::string self_;
    std::size_t max_message_bytes_;
    Millis message_ttl_;
    amqp_connection_state_t conn_ = nullptr;
    std::string queue_;
    bool followers_bound_ = false;
    bool broker_events_ = false;
    std::string error_;
    std::string broker_events_error_;
};

}  // namespace vigil
