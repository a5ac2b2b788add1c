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
    enum class Received { Message, Timeout, Oversized, Closed };

    // `self`: the node's name, for the binding of messages sent to it alone.
    AmqpTransport(BrokerConfig broker, std::string exchange, std::string self, std::size_t max_message_bytes,
                  Millis message_ttl);
    ~AmqpTransport() { close(); }
    AmqpTransport(const AmqpTransport&) = delete;
    AmqpTransport& operator=(const AmqpTransport&) = delete;

    // Connects, declares the exchange and a fresh exclusive queue, binds it
    // as a follower (control_routing.hpp). False with error() set on failure
    // (and stays closed).
    bool connect();
    void close() noexcept;
    // Closes channel and connection properly (bounded by the RPC timeout), so
    // that what we just published is delivered; for a graceful stop.
    void close_politely() noexcept;
    bool connected() const noexcept { return conn_ != nullptr; }

    bool publish(const Outgoing& outgoing, const std::string& body);
    // Follower heartbeats are routed to the leader only: take the leader's
    // bindings, or the follower's again.
    bool listen_to_followers(bool on);
    // Waits up to `timeout` for one message (0 = just look).
    Received receive(Millis timeout, std::string& body);

    const std::string& error() const noexcept { return error_; }

private:
    bool check(amqp_rpc_reply_t reply, const char* what);
    bool fail(const std::string& what);
    Received handle_unexpected_frame();
    bool bind(const std::string& binding, bool on);

    BrokerConfig broker_;
    std::string exchange_;
    std::string self_;
    std::size_t max_message_bytes_;
    Millis message_ttl_;
    amqp_connection_state_t conn_ = nullptr;
    std::string queue_;
    bool followers_bound_ = false;
    std::string error_;
};

}  // namespace vigil
