#pragma once
// Keeps an AmqpSession connected and consuming one queue. rabbitmq-c does no
// reconnecting, so after any drop this re-opens the connection with back-off,
// re-declares the queues, re-sets the prefetch and subscribes again. The
// server and the worker differ only in what they declare and consume.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/amqp_session.hpp"
#include "common/backoff.hpp"
#include "vigil/config.hpp"

namespace example {

struct ConsumerSpec {
    std::vector<std::string> declare;  // durable queues, declared on every connect
    std::string consume;               // the one queue to consume
    std::uint16_t prefetch = 1;
};

class ConsumerLink {
public:
    using Clock = std::chrono::steady_clock;

    // `on_lost` runs once per dropped connection, before any reconnect
    // attempt: delivery tags of the old connection are meaningless from then on.
    ConsumerLink(AmqpSession& session, const vigil::BrokerConfig& broker, ConsumerSpec spec,
                 std::function<void()> on_lost = {});

    // True when the session is open and consuming. Otherwise makes at most one
    // reconnect attempt, and only when the back-off allows it; the caller
    // pulses and calls again.
    bool ensure(Clock::time_point now);

private:
    AmqpSession& session_;
    ConsumerSpec spec_;
    std::function<void()> on_lost_;
    Backoff backoff_;
    bool was_connected_ = false;
};

}  // namespace example
