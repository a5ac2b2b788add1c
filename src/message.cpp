#include "vigil/message.hpp"

#include <algorithm>

namespace vigil {

const char* to_string(MessageType type) noexcept {
    switch (type) {
        case MessageType::Heartbeat: return "heartbeat";
        case MessageType::Election: return "election";
        case MessageType::Answer: return "answer";
        case MessageType::Coordinator: return "coordinator";
        case MessageType::Goodbye: return "goodbye";
    }
    return "?";
}

const char* to_string(Role role) noexcept {
    switch (role) {
        case Role::Follower: return "follower";
        case Role::Candidate: return "candidate";
        case Role::Leader: return "leader";
    }
    return "?";
}

bool is_valid_node_name(const std::string& name) noexcept {
    if (name.empty() || name.size() > 128) return false;
    for (const char c : name) {
        if (c <= ' ' || c > '~') return false;  // printable ASCII, no space
    }
    return true;
}

bool in_range(const Message& message) noexcept {
    const auto ok = [](const Departure& entry) { return entry.incarnation <= kMaxIncarnation; };
    const auto note_ok = [](const RestartNote& note) {
        return note.in_a_row <= kMaxRestartsInARow && note.age_ms <= kMaxNoteAgeMs;
    };
    return message.term <= kMaxTerm && message.incarnation <= kMaxIncarnation && message.link <= kMaxLink &&
           std::all_of(message.departed.begin(), message.departed.end(), ok) &&
           std::all_of(message.lives.begin(), message.lives.end(), ok) &&
           std::all_of(message.members.begin(), message.members.end(), ok) &&
           std::all_of(message.restarts.begin(), message.restarts.end(), note_ok);
}

}  // namespace vigil
