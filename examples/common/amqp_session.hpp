#pragma once
// The example apps' own data-plane connection to RabbitMQ (tasks and
// results). It is deliberately separate from vigil's control-plane transport:
// a rabbitmq-c connection belongs to one thread, and the sidecar has its own.
//
// One connection, one channel, publisher confirms on. Any error drops the
// connection (is_open() turns false); the caller reconnects with back-off and
// re-declares, because rabbitmq-c does no reconnecting by itself.
#include <amqp.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vigil/config.hpp"

namespace example {

struct Delivery {
    std::uint64_t tag = 0;  // valid only on the connection that delivered it
    std::string body;
    bool redelivered = false;
};

class AmqpSession {
public:
    explicit AmqpSession(vigil::BrokerConfig broker);
    ~AmqpSession();
    AmqpSession(const AmqpSession&) = delete;
    AmqpSession& operator=(const AmqpSession&) = delete;

    // Connects, logs in, opens the channel, enables publisher confirms and
    // declares each queue durable. False (and closed) on any failure.
    bool open(const std::vector<std::string>& durable_queues);
    // Polite close; safe to call when already closed.
    void close();
    bool is_open() const noexcept { return conn_ != nullptr; }
    const std::string& last_error() const noexcept { return last_error_; }

    bool set_prefetch(std::uint16_t count);
    bool consume(const std::string& queue);
    // The next delivery, waiting at most `timeout`; nullopt on timeout or error.
    std::optional<Delivery> next(std::chrono::milliseconds timeout);
    bool ack(std::uint64_t tag, bool multiple = false);

    // Persistent message to the default exchange, routed to `queue`.
    bool publish(const std::string& queue, const std::string& body);
    // Waits until the broker confirmed every publish so far. False on a nack,
    // a timeout or a broken connection: the caller must assume none of the
    // unconfirmed messages arrived. `while_waiting` runs every ~100 ms (pulse).
    bool wait_for_confirms(std::chrono::milliseconds timeout,
                           const std::function<void()>& while_waiting);

    // Ready messages in a queue (not counting unacked ones); nullopt on error.
    std::optional<std::uint32_t> message_count(const std::string& queue);

private:
    bool fail(const std::string& what);
    bool check_reply(const char* what);
    bool declare(const std::string& queue, std::uint32_t* message_count);
    // Reads one delivery or one method frame, waiting at most `timeout`.
    bool pump(std::chrono::milliseconds timeout);
    bool handle_method(const amqp_frame_t& frame);

    vigil::BrokerConfig broker_;
    amqp_connection_state_t conn_ = nullptr;
    std::string last_error_;
    std::deque<Delivery> buffered_;        // bounded by the prefetch count
    std::uint64_t publish_seq_ = 0;        // confirm sequence of the last publish
    std::set<std::uint64_t> unconfirmed_;  // bounded by the caller's batch size
    bool nacked_ = false;
};

}  // namespace example
