#pragma once
// What a heartbeat carries besides "I am alive": slices of the sender's
// knowledge (restarts, departures, later lives, members), rotating through
// each list so that every message fits the receivers' MAX_MESSAGE_BYTES and,
// over a few heartbeats, every entry is told. Pure.
#include <cstddef>
#include <string>
#include <vector>

#include "vigil/message.hpp"

namespace vigil {

struct GossipSources {
    std::vector<RestartNote> restarts;
    std::vector<Departure> departed;
    std::vector<Departure> lives;
    std::vector<Departure> members;
};

// Where each list's rotation stands: the last name told (lists are in name
// order, so the place survives entries coming and going).
struct GossipCursors {
    std::string restarts, departed, lives, members;
};

// Fills `heartbeat`'s lists from `sources`, in that order of priority, so that
// encode(heartbeat).size() <= max_bytes. The message itself must fit already.
void fill_gossip(Message& heartbeat, const GossipSources& sources, GossipCursors& cursors, std::size_t max_bytes);

}  // namespace vigil
