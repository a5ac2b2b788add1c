// The control exchange's routing (src/control_routing.hpp): who receives what.
#include <catch2/catch.hpp>

#include <string>

#include "control_routing.hpp"

namespace {

using vigil::Audience;
namespace routing = vigil::routing;

std::string queue_of(const std::string& name) { return "amq.gen-" + name; }

// Does `to`'s queue, leading or not, take what `from` publishes to `audience`
// (addressed to `addressee` when Direct)?
bool receives(const std::string& to, bool leading, const std::string& from, Audience audience,
              const std::string& addressee = "") {
    for (const auto& binding : routing::bindings(leading, queue_of(to), to)) {
        if (routing::matches(binding, routing::key_for(audience, queue_of(from), addressee))) return true;
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

TEST_CASE("routing: followers hear broadcasts and their own echo, and the leader hears all, its own echo only "
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
    for (const auto& binding : routing::bindings(true, queue_of("l"), "l")) {
        if (binding == routing::kEverything) continue;
        CHECK_FALSE(routing::matches(binding, routing::key_for(Audience::Everyone, queue_of("l"), "")));
        CHECK_FALSE(routing::matches(binding, routing::key_for(Audience::Leader, queue_of("f"), "")));
    }
}

TEST_CASE("routing: a reply to one node reaches that node (and the leader, who hears all), nobody else",
          "[routing]") {
    CHECK(receives("f", false, "g", Audience::Direct, "f"));
    CHECK_FALSE(receives("h", false, "g", Audience::Direct, "f"));
    CHECK_FALSE(receives("g", false, "g", Audience::Direct, "f"));  // no echo of a reply
    CHECK(receives("l", true, "g", Audience::Direct, "f"));
    CHECK(receives("f.x", false, "g", Audience::Direct, "f.x"));  // dots are just more words
    CHECK_FALSE(receives("f", false, "g", Audience::Direct, "f.x"));
}

TEST_CASE("routing: a name holding a topic wildcard is hashed, so that it binds only itself", "[routing]") {
    for (const std::string wild : {"#", "*", "a.#", "w*", "*.b"}) {
        INFO(wild);
        CHECK(routing::direct_key(wild).rfind("vigil.to-hash.", 0) == 0);
        CHECK(routing::direct_key(wild).find_first_of("*#") == std::string::npos);
        CHECK(receives(wild, false, "g", Audience::Direct, wild));
        CHECK_FALSE(receives(wild, false, "g", Audience::Direct, "f"));
        CHECK_FALSE(receives("f", false, "g", Audience::Direct, wild));
    }
    CHECK(routing::direct_key("#") != routing::direct_key("*"));
    CHECK(routing::direct_key("worker_1") == "vigil.to.worker_1");
}
