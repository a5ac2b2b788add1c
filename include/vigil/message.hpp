#pragma once
// The control-plane message, as the core sees it (wire format: codec.hpp).
#include <cstdint>
#include <string>

namespace vigil {

enum class MessageType {
    Heartbeat,    // "I am alive"; a leader's heartbeat also asserts its term
    Election,     // Bully: "I am starting an election"; higher nodes answer
    Answer,       // Bully: "a higher node is alive; stand down"
    Coordinator,  // Bully: "I lead, from this term on"
    Goodbye,      // graceful stop: do not restart me
};

enum class Role { Follower, Candidate, Leader };

struct Message {
    MessageType type = MessageType::Heartbeat;
    std::string from;            // sender's CONTAINER_NAME
    std::uint64_t term = 0;      // sender's current term (epoch)
    Role role = Role::Follower;  // sender's role when it sent this
    std::string leader;          // whom the sender follows ("" if nobody)
    std::uint64_t incarnation = 0;  // random per process start; tells restarts apart

    bool operator==(const Message&) const = default;
};

const char* to_string(MessageType type) noexcept;
const char* to_string(Role role) noexcept;

// A node name is data: 1..128 printable ASCII bytes (no spaces or control
// characters). Restart back-ends apply their own stricter rules on top.
bool is_valid_node_name(const std::string& name) noexcept;

}  // namespace vigil
