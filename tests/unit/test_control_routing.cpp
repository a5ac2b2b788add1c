// The control exchange's routing (src/control_routing.hpp): who receives what.
#include <catch2/catch.hpp>

#include <string>

#include "control_routing.hpp"

namespace {

using vigil::Audience;
namespace routing = vigil::routing;

// Does `to`'s queue, leading or not, take what `from` publishes to `audience`?
bool receives(const std::string& to, bool leading, const std::string& from, Audience audience) {
    for (const auto& binding : routing::bindings(leading, to)) {
        if (routing::matches(binding, routing::key_for(audience, from))) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("routing: topic patterns as the control exchange uses them", "[routing]") {
    CHECK(routing::matches("vigil.all", "vigil.all"));
    CHECK_FALSE(routing::matches("vigil.all", "vigil.all.x"));
    CHECK(routing::matches("vigil.#", "vigil.all"));
    CHECK(routing::matches("vigil.#", "vigil.leader.amq.gen-1"));
    CHECK(routing::matches("vigil.#", "vigil"));
    CHECK_FALSE(routing::matches("vigil.#", "vigilant.all"));
    CHECK_FALSE(routing::matches("vigil.#", "other.all"));
}

TEST_CASE("routing: followers hear broadcasts and their own echo; the leader hears all, its own echo only "
          "through the binding it hears followers by", "[routing]") {
    // Follower f, another follower g, leader l.
    CHECK(receives("f", false, "l", Audience::Everyone));   // the leader's heartbeat
    CHECK(receives("f", false, "f", Audience::Leader));     // its own echo
    CHECK_FALSE(receives("f", false, "g", Audience::Leader));  // not other followers' heartbeats
    CHECK(receives("l", true, "f", Audience::Leader));      // the leader hears followers
    CHECK(receives("l", true, "g", Audience::Everyone));    // and broadcasts (elections)
    CHECK(receives("l", true, "l", Audience::Everyone));    // and its own echo ...
    // ... but only by "vigil.#": without it, nothing (so it steps down, deaf,
    // instead of hearing itself while every follower seems silent).
    for (const auto& binding : routing::bindings(true, "l")) {
        if (binding == routing::kEverything) continue;
        CHECK_FALSE(routing::matches(binding, routing::key_for(Audience::Everyone, "l")));
        CHECK_FALSE(routing::matches(binding, routing::key_for(Audience::Leader, "f")));
    }
}
