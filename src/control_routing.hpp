#pragma once
// The control exchange's routing, as pure functions: the key a node publishes
// to and the bindings its queue holds, leading or not. The transport applies
// them, and the simulation routes by them, so the two cannot disagree.
//
// Follower heartbeats go to "vigil.leader.<sender's queue>": every queue binds
// its own such key, so a follower's heartbeat comes back to it (its echo).
// Broadcasts go to "vigil.all", which followers bind. The leader binds
// "vigil.#" (everything) instead of "vigil.all": its own broadcast comes back
// only through the binding it hears its followers by. A leader whose binding
// is lost then hears nothing, not even itself, and steps down, rather than
// hearing itself and finding every follower silent.
//
// A reply to one node's election goes to "vigil.to.<its name>", which only
// that node's queue binds (and the leader's "vigil.#"). A name holding a topic
// wildcard ('*' or '#') is hashed instead: "vigil.to-hash.<FNV-1a 64, hex>".
// A hash collision only delivers a reply to one more node, which is harmless:
// an Answer or Coordinator says nothing false to whoever hears it.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "vigil/node.hpp"

namespace vigil::routing {

inline const std::string kBroadcastKey = "vigil.all";
inline const std::string kEverything = "vigil.#";

inline std::string own_key(const std::string& queue) { return "vigil.leader." + queue; }

// FNV-1a 64, as 16 hex digits.
inline std::string fnv1a_hex(const std::string& text) {
    std::uint64_t hash = 14695981039346656037ull;
    for (const unsigned char byte : text) hash = (hash ^ byte) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return hex;
}

inline std::string direct_key(const std::string& name) {
    if (name.find_first_of("*#") == std::string::npos) return "vigil.to." + name;
    return "vigil.to-hash." + fnv1a_hex(name);
}

// `queue` is the sender's queue; `to` the recipient of a Direct message.
inline std::string key_for(Audience audience, const std::string& queue, const std::string& to) {
    switch (audience) {
        case Audience::Everyone: return kBroadcastKey;
        case Audience::Leader: return own_key(queue);
        case Audience::Direct: return direct_key(to);
    }
    return kBroadcastKey;
}

// The bindings of the queue of node `self`.
inline std::vector<std::string> bindings(bool leading, const std::string& queue, const std::string& self) {
    return {own_key(queue), direct_key(self), leading ? kEverything : kBroadcastKey};
}

// Topic matching as far as these patterns need it: exact words, or a prefix
// followed by "#" (zero or more words).
inline bool matches(const std::string& pattern, const std::string& key) {
    if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ".#") == 0) {
        const std::string stem = pattern.substr(0, pattern.size() - 2);
        return key == stem || key.compare(0, stem.size() + 1, stem + ".") == 0;
    }
    return pattern == key;
}

}  // namespace vigil::routing
