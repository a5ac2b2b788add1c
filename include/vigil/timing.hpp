#pragma once
// Timings of the sidecar's own machinery, in one place: the monitor and the
// transport use them, config validation builds on them, and the simulation
// takes them from here, so that it can never be kinder than production.
#include "vigil/time.hpp"

namespace vigil {

// The sidecar loop sleeps until its core is due (Node::next_due) or a message
// arrives, at most kSidecarIdleWait; while restart commands run it polls them
// every kSidecarPollInterval. A due time is met up to one poll interval late
// at worst (the simulation ticks its cores that late).
inline constexpr Millis kSidecarPollInterval{50};
inline constexpr Millis kSidecarIdleWait{500};
// How late a message may reach its queue's consumer on a healthy broker.
inline constexpr Millis kBrokerJitter{200};
// A heartbeat may arrive this much later than its schedule (NodeConfig::path_slack).
inline constexpr Millis kPathSlack = kSidecarPollInterval + kBrokerJitter;
// AMQP heartbeat asked of the broker; rabbitmq-c declares the connection dead
// after two heartbeats without a frame: a silent, open TCP path (a pulled
// cable, a stalled broker) is noticed only after kDeadLinkNoticedWithin.
inline constexpr int kAmqpHeartbeatSeconds = 5;
inline constexpr Millis kDeadLinkNoticedWithin{2 * 1000 * kAmqpHeartbeatSeconds};

}  // namespace vigil
