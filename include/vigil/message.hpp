#pragma once
// The control-plane message, as the core sees it (wire format: codec.hpp).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

enum class MessageType {
    Heartbeat,    // "I am alive"; a leader's heartbeat also asserts its term
    Election,     // Bully: "I am starting an election"; higher nodes answer
    Answer,       // Bully: "a higher node is alive; stand down"
    Coordinator,  // Bully: "I lead, from this term on"
    Goodbye,      // graceful stop: do not restart me
};

enum class Role { Follower, Candidate, Leader };

// A node that said goodbye, and which of its lives (incarnations) said it.
struct Departure {
    std::string name;
    std::uint64_t incarnation = 0;

    bool operator==(const Departure&) const = default;
};

// Heartbeats carry slices of what the sender knows (members, departures,
// later lives, restarts), rotating through it so that every message fits
// MAX_MESSAGE_BYTES. A list holds at most this many entries on the wire.
inline constexpr std::size_t kMaxEntriesPerList = 1024;

// What a node knows of a member's restarts (RecoveryPlanner), for gossip: a
// new leader carries on with the back-off and the restarts in flight.
inline constexpr std::uint32_t kMaxRestartsInARow = 64;  // the back-off is at its cap long before
inline constexpr std::uint64_t kMaxNoteAgeMs = (std::uint64_t{1} << 53) - 1;
struct RestartNote {
    std::string name;
    std::uint32_t in_a_row = 0;  // restarts in a row (back-off count)
    std::uint64_t age_ms = 0;    // since the last restart was issued
    bool in_flight = false;      // that restart has not finished yet

    bool operator==(const RestartNote&) const = default;
};

// Counters from the wire are bounded far below their type's limit, so that no
// arithmetic on them can wrap and a wrapped or forged value is recognisable.
// A term grows by one per election: 2^53 - 1 is more than a million elections
// a second for 280 years (and exact in a JSON double). Incarnations carry the
// start time in ms above 16 random bits: 2^62 is reached in the year 4199.
inline constexpr std::uint64_t kMaxTerm = (std::uint64_t{1} << 53) - 1;
inline constexpr std::uint64_t kMaxIncarnation = std::uint64_t{1} << 62;
// A life's broker connections are numbered from 1; one a millisecond would
// take 280 years to reach this.
inline constexpr std::uint64_t kMaxLink = (std::uint64_t{1} << 53) - 1;

// The next term, saturating at kMaxTerm: at the cap, terms tie and the Bully
// rule (higher name wins) still settles who leads.
constexpr std::uint64_t next_term(std::uint64_t term) noexcept { return term < kMaxTerm ? term + 1 : kMaxTerm; }

struct Message {
    MessageType type = MessageType::Heartbeat;
    std::string from;            // sender's CONTAINER_NAME
    std::uint64_t term = 0;      // sender's current term (epoch)
    Role role = Role::Follower;  // sender's role when it sent this
    std::string leader;          // whom the sender follows ("" if nobody)
    // Per process start, and later starts have larger ones (start time in the
    // high bits): tells restarts apart and which of two lives is the newer.
    std::uint64_t incarnation = 0;
    std::vector<Departure> departed;  // heartbeats only; optional on the wire
    // Heartbeats only: later lives of nodes that others still gossip as
    // departed ("it came back as this incarnation"), so that a leader which
    // missed the comeback restarts the node when that life dies.
    std::vector<Departure> lives;
    // Heartbeats only: members the sender knows (with their incarnations), so
    // that every node, and so every next leader, knows every member.
    std::vector<Departure> members;
    // Heartbeats only: what the sender knows of members' restarts.
    std::vector<RestartNote> restarts;
    // Heartbeats only: the sender's count of heartbeats sent (0 = none). Every
    // heartbeat also comes back to its sender; the count tells it which one,
    // and so when its own path through the broker last worked.
    std::uint64_t seq = 0;
    // Heartbeats only: which of the sender's broker connections sent it
    // (1, 2, ... per life; 0 = not told). A broker's "that connection closed"
    // is about one link: a later link heard proves that life reconnected.
    std::uint64_t link = 0;
    // Heartbeats only: "are you there?" A leader that hears of a member's
    // closed connection asks it; a live member answers at once, to it alone,
    // from the link it is on now (SWIM's ping).
    bool probe = false;

    bool operator==(const Message&) const = default;
};

// Who needs to hear a message. Follower heartbeats go to the leader only, and
// replies to one node's election go to that node only, so that deliveries per
// interval, and per election, grow linearly with the cluster. The transport
// also delivers every heartbeat back to its sender: that echo is the node's
// proof that its own path through the broker works.
enum class Audience { Everyone, Leader, Direct };

struct Outgoing {
    Message message;
    Audience audience = Audience::Everyone;
    std::string to;  // Audience::Direct: the one node it is for
};

// Within bounds: its term and every incarnation in it, the lists' too.
bool in_range(const Message& message) noexcept;

const char* to_string(MessageType type) noexcept;
const char* to_string(Role role) noexcept;

// A node name is data: 1..128 printable ASCII bytes (no spaces or control
// characters). Restart back-ends apply their own stricter rules on top.
bool is_valid_node_name(const std::string& name) noexcept;

}  // namespace vigil
