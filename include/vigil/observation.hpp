#pragma once
// Fast signals from outside the control plane that a member's process ended
// (or started): the broker saw its connection close, Docker saw its container
// exit. They enter the core as observations, like messages (Node::observe),
// and may be late, duplicated, missing or about an earlier life: the core
// weighs them (crash_reports.hpp). Heartbeats stay the safety net for what no
// signal reports: hangs, pauses, partitions.
#include <cstdint>
#include <string>

#include "vigil/time.hpp"

namespace vigil {

struct Observation {
    enum class Kind {
        LinkClosed,        // the broker deleted its control queue: that connection is gone
        ContainerExited,   // Docker: its container died
        ContainerStarted,  // Docker: its container started (a later life is on its way)
    };
    Kind kind = Kind::LinkClosed;
    std::string name;
    // LinkClosed: which life, and which of its connections (Message::link), closed.
    std::uint64_t incarnation = 0;
    std::uint64_t link = 0;
    // Container*: when it happened, on this node's clock (the adapter converts
    // Docker's wall-clock time; same host, same clock).
    Millis at{0};
};

const char* to_string(Observation::Kind kind) noexcept;

}  // namespace vigil
