// Gossip: every heartbeat fits the receivers' bound, and rotating slices tell
// every entry within a few heartbeats, whatever the table's size.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "vigil/codec.hpp"
#include "vigil/gossip.hpp"

using vigil::Departure;
using vigil::GossipCursors;
using vigil::GossipSources;
using vigil::Message;
using vigil::MessageType;
using vigil::RestartNote;
using vigil::Role;

namespace {

std::vector<Departure> entries(std::size_t count, std::size_t name_length, char fill = 'd') {
    std::vector<Departure> out;
    for (std::size_t i = 0; i < count; ++i) {
        std::string name = std::to_string(1000 + i);  // sorted, as the sources are
        name += std::string(name_length > name.size() ? name_length - name.size() : 0, fill);
        out.push_back(Departure{name, vigil::kMaxIncarnation});
    }
    return out;
}

// A heartbeat at its largest: two 128-character names that all need escaping.
Message widest_heartbeat() {
    return Message{MessageType::Coordinator, std::string(128, '"'), vigil::kMaxTerm, Role::Candidate,
                   std::string(128, '\\'), vigil::kMaxIncarnation, {}, {}, {}, {}, ~std::uint64_t{0}};
}

}  // namespace

TEST_CASE("gossip: the smallest accepted MAX_MESSAGE_BYTES admits every legal plain heartbeat", "[gossip]") {
    CHECK(vigil::encode(widest_heartbeat()).size() <= 1024);
}

TEST_CASE("gossip: a heartbeat never outgrows the bound, and every entry is told in turn", "[gossip]") {
    struct Row {
        const char* name;
        std::size_t max_bytes;
        std::size_t departures;
        std::size_t name_length;
    };
    const std::vector<Row> rows = {
        {"40 departures of 100-character names, 4096 bytes (was 4279 bytes, dropped)", 4096, 40, 100},
        {"200 departures, the smallest bound", 1024, 200, 128},
        {"5 short names: all in one heartbeat", 4096, 5, 3},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            GossipSources sources;
            sources.departed = entries(row.departures, row.name_length, '"');
            sources.members = entries(row.departures, row.name_length, 'm');
            GossipCursors cursors;
            std::set<std::string> told;
            for (int beat = 0; beat < 400 && told.size() < row.departures; ++beat) {
                Message heartbeat = widest_heartbeat();
                heartbeat.type = MessageType::Heartbeat;
                vigil::fill_gossip(heartbeat, sources, cursors, row.max_bytes);
                const std::string body = vigil::encode(heartbeat);
                INFO("heartbeat " << beat << ": " << body.size() << " bytes");
                REQUIRE(body.size() <= row.max_bytes);
                REQUIRE(vigil::decode(body, row.max_bytes).message.has_value());
                REQUIRE_FALSE(heartbeat.departed.empty());  // progress every time
                for (const auto& d : heartbeat.departed) told.insert(d.name);
            }
            CHECK(told.size() == row.departures);
        }
    }
}

TEST_CASE("gossip: restart notes first, then departures, lives, members", "[gossip]") {
    GossipSources sources;
    sources.restarts = {RestartNote{"r", 3, 1000, true}};
    sources.departed = entries(1, 4);
    sources.lives = entries(1, 5);
    sources.members = entries(500, 20);
    GossipCursors cursors;
    Message heartbeat{MessageType::Heartbeat, "a", 1, Role::Leader, "a", 1};
    vigil::fill_gossip(heartbeat, sources, cursors, 1024);
    CHECK(heartbeat.restarts == sources.restarts);
    CHECK(heartbeat.departed == sources.departed);
    CHECK(heartbeat.lives == sources.lives);
    CHECK_FALSE(heartbeat.members.empty());
    CHECK(heartbeat.members.size() < 500);  // the rest next time
    CHECK(vigil::encode(heartbeat).size() <= 1024);
}
