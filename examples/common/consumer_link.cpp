#include "common/consumer_link.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace example {

ConsumerLink::ConsumerLink(AmqpSession& session, const vigil::BrokerConfig& broker, ConsumerSpec spec,
                           std::function<void()> on_lost)
    : session_(session),
      spec_(std::move(spec)),
      on_lost_(std::move(on_lost)),
      backoff_(broker.reconnect_backoff_initial, broker.reconnect_backoff_max) {}

bool ConsumerLink::ensure(Clock::time_point now) {
    if (session_.is_open()) {
        return true;
    }
    if (was_connected_) {
        spdlog::warn("lost the broker connection: {}", session_.last_error());
        was_connected_ = false;
        if (on_lost_) {
            on_lost_();
        }
    }
    if (!backoff_.due(now)) {
        return false;
    }
    if (session_.open(spec_.declare) && session_.set_prefetch(spec_.prefetch) && session_.consume(spec_.consume)) {
        spdlog::info("connected to the broker; consuming {} (prefetch {})", spec_.consume, spec_.prefetch);
        backoff_.succeeded();
        was_connected_ = true;
        return true;
    }
    const auto wait = backoff_.failed(now);
    spdlog::warn("broker not reachable ({}); next try in {} ms", session_.last_error(), wait.count());
    return false;
}

}  // namespace example
