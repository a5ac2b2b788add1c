#pragma once
// The name of a node's control queue says whose it is: the deployment (a hash
// of the control exchange), the life (incarnation) and which of its broker
// connections (link) declared it. When the connection closes, the broker
// deletes the exclusive queue and its event exchange tells everyone that
// name (`queue.deleted` on amq.rabbitmq.event): a fast signal of the end of
// exactly that connection of that life (observation.hpp). Pure.
//
//   vigil.<fnv1a64(exchange), 16 hex>.<incarnation>.<link>.<node name>
//
// At most 6 + 16 + 2 x (1 + 20) + 1 + 128 = 193 bytes: within AMQP's 255.
#include <cstdint>
#include <optional>
#include <string>

#include "control_routing.hpp"
#include "vigil/message.hpp"
#include "vigil/observation.hpp"

namespace vigil::routing {

inline std::string control_queue(const std::string& exchange, const std::string& self, std::uint64_t incarnation,
                                 std::uint64_t link) {
    return "vigil." + fnv1a_hex(exchange) + "." + std::to_string(incarnation) + "." + std::to_string(link) + "." +
           self;
}

namespace detail {

// A decimal number up to '.', within `max`; advances `at` past the dot.
inline std::optional<std::uint64_t> number_until_dot(const std::string& text, std::size_t& at, std::uint64_t max) {
    std::uint64_t value = 0;
    const std::size_t start = at;
    for (; at < text.size() && text[at] != '.'; ++at) {
        const char c = text[at];
        if (c < '0' || c > '9' || at - start >= 19) return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (at == start || at == text.size() || value > max) return std::nullopt;
    ++at;
    return value;
}

}  // namespace detail

// The queue of a member of this deployment: whose connection closed. Anything
// else (another deployment's queue, an application queue) is nothing to us.
inline std::optional<Observation> link_closed(const std::string& exchange, const std::string& queue) {
    const std::string prefix = "vigil." + fnv1a_hex(exchange) + ".";
    if (queue.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    std::size_t at = prefix.size();
    const auto incarnation = detail::number_until_dot(queue, at, kMaxIncarnation);
    if (!incarnation) return std::nullopt;
    const auto link = detail::number_until_dot(queue, at, kMaxLink);
    if (!link) return std::nullopt;
    Observation observation;
    observation.kind = Observation::Kind::LinkClosed;
    observation.name = queue.substr(at);
    observation.incarnation = *incarnation;
    observation.link = *link;
    if (!is_valid_node_name(observation.name)) return std::nullopt;
    return observation;
}

}  // namespace vigil::routing
