// Election (Bully with terms), driven by hand: single instances fed message
// tables, and a tiny synchronous cluster for whole scenarios. Timeouts:
// election 3 s, leader 6 s, listen 3 s.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "vigil/election.hpp"

using vigil::Election;
using vigil::ElectionTimeouts;
using vigil::Message;
using vigil::MessageType;
using vigil::Millis;
using vigil::Role;

namespace {

const ElectionTimeouts kTimeouts{Millis{3000}, Millis{6000}, Millis{3000}};

Message msg(MessageType type, std::string from, std::uint64_t term, Role role, std::string leader = "") {
    return Message{type, std::move(from), term, role, std::move(leader), 1};
}
Message coordinator(std::string from, std::uint64_t term) {
    return msg(MessageType::Coordinator, from, term, Role::Leader, from);
}
Message leader_heartbeat(std::string from, std::uint64_t term) {
    return msg(MessageType::Heartbeat, from, term, Role::Leader, from);
}
Message election_from(std::string from, std::uint64_t term) {
    return msg(MessageType::Election, std::move(from), term, Role::Candidate);
}
Message answer_from(std::string from, std::uint64_t term) {
    return msg(MessageType::Answer, std::move(from), term, Role::Follower);
}

std::multiset<MessageType> types(const Election::Effects& effects) {
    std::multiset<MessageType> out;
    for (const auto& m : effects.send) out.insert(m.message.type);
    return out;
}

// Drives one instance from reconnect to leader, alone: listen, elect, win.
void make_leader(Election& e, Millis& now) {
    e.reconnected(now);
    now += Millis{3000};
    e.on_tick(now);  // listen window over: ELECTION
    now += Millis{3000};
    e.on_tick(now);  // no ANSWER: leader
    REQUIRE(e.is_leader());
}

// Drives one instance to follow `leader` at `term`.
void make_follower(Election& e, const std::string& leader, std::uint64_t term, Millis now) {
    e.reconnected(now);
    e.on_message(coordinator(leader, term), now);
    REQUIRE(e.leader() == leader);
    REQUIRE(e.role() == Role::Follower);
}

}  // namespace

TEST_CASE("election: a lone node listens, elects, then leads", "[election]") {
    struct Row {
        const char* name;
        long now_ms;
        Role role;
        const char* leader;
        std::multiset<MessageType> sent;  // by the tick at now_ms
    };
    // Ticks at every row's time, in order, after reconnected(0).
    const std::vector<Row> rows = {
        {"listening", 1000, Role::Follower, "", {}},
        {"end of listen window - 1 ms", 2999, Role::Follower, "", {}},
        {"listen window over: ELECTION", 3000, Role::Candidate, "", {MessageType::Election}},
        {"waiting for an ANSWER", 5999, Role::Candidate, "", {}},
        {"no ANSWER: COORDINATOR", 6000, Role::Leader, "solo", {MessageType::Coordinator}},
        {"leading quietly", 60000, Role::Leader, "solo", {}},
    };
    Election e{"solo", 1, kTimeouts};
    CHECK_FALSE(e.active());
    e.reconnected(Millis{0});
    CHECK(e.active());
    for (const auto& row : rows) {
        INFO(row.name);
        const auto fx = e.on_tick(Millis{row.now_ms});
        CHECK(e.role() == row.role);
        CHECK(e.leader() == row.leader);
        CHECK(types(fx) == row.sent);
    }
    CHECK(e.term() >= 1);  // a leader's term is newer than "no term"
    CHECK(e.is_leader());
}

TEST_CASE("election: one message to one instance", "[election]") {
    // Each row sets an instance up, feeds it one message and checks the result.
    enum class Setup { Listening, FollowingC5, LeaderB3, Candidate };
    struct Row {
        const char* name;
        const char* self;
        Setup setup;
        Message input;
        std::multiset<MessageType> sent;
        Role role;
        const char* leader;
        bool stale;
    };
    const std::vector<Row> rows = {
        // a leader claim while listening
        {"listening hears a higher leader's heartbeat: follows, no election", "b", Setup::Listening,
         leader_heartbeat("c", 5), {}, Role::Follower, "c", false},
        {"listening hears a higher COORDINATOR: follows", "b", Setup::Listening, coordinator("c", 5), {},
         Role::Follower, "c", false},
        {"listening hears a lower COORDINATOR: elects at its next tick (after its hold-back)", "c",
         Setup::Listening, coordinator("a", 5), {}, Role::Follower, "", false},
        {"listening hears a higher ELECTION: stands down as if answered", "b", Setup::Listening,
         election_from("c", 0), {}, Role::Candidate, "", false},
        {"listening hears a higher candidate's heartbeat: stands down as if answered", "b", Setup::Listening,
         msg(MessageType::Heartbeat, "c", 0, Role::Candidate, ""), {}, Role::Candidate, "", false},
        {"listening: a lower candidate's heartbeat changes nothing", "b", Setup::Listening,
         msg(MessageType::Heartbeat, "a", 0, Role::Candidate, ""), {}, Role::Follower, "", false},
        {"a follower's heartbeat is no leader claim", "b", Setup::Listening,
         msg(MessageType::Heartbeat, "c", 5, Role::Follower, "d"), {}, Role::Follower, "", false},
        // following c at term 5
        // c outranks a and hears the claim too: c corrects a, b need not elect.
        {"follower of a live higher leader: COORDINATOR from a lower node is left to the leader", "b",
         Setup::FollowingC5, coordinator("a", 6), {}, Role::Follower, "c", false},
        {"follower: stale COORDINATOR from a higher node is ignored and flagged", "b", Setup::FollowingC5,
         coordinator("d", 3), {}, Role::Follower, "c", true},
        {"follower: stale leader heartbeat is ignored and flagged", "b", Setup::FollowingC5,
         leader_heartbeat("d", 4), {}, Role::Follower, "c", true},
        {"follower: its leader's old-term COORDINATOR is stale", "b", Setup::FollowingC5, coordinator("c", 4),
         {}, Role::Follower, "c", true},
        {"follower: newer COORDINATOR from a higher node is followed", "b", Setup::FollowingC5,
         coordinator("d", 6), {}, Role::Follower, "d", false},
        {"follower: same-term claim from a lower node than its leader does not stick", "a",
         Setup::FollowingC5, coordinator("b", 5), {}, Role::Follower, "c", false},
        {"follower: ELECTION from a lower node is answered, leader alive so no election", "b",
         Setup::FollowingC5, election_from("a", 5), {MessageType::Answer}, Role::Follower, "c", false},
        {"follower: ELECTION from a higher node is not answered", "b", Setup::FollowingC5,
         election_from("d", 5), {}, Role::Follower, "c", false},
        // leading at term 3 (b was alone)
        {"leader: ELECTION from a lower node gets a COORDINATOR, to it alone", "b", Setup::LeaderB3,
         election_from("a", 0), {MessageType::Coordinator}, Role::Leader, "b", false},
        {"leader: ELECTION from a higher node: leads until it claims", "b", Setup::LeaderB3,
         election_from("c", 0), {}, Role::Leader, "b", false},
        {"leader: higher leader heartbeat, same term: steps down", "b", Setup::LeaderB3,
         leader_heartbeat("c", 3), {}, Role::Follower, "c", false},
        {"leader: higher leader heartbeat, newer term: steps down", "b", Setup::LeaderB3,
         leader_heartbeat("c", 9), {}, Role::Follower, "c", false},
        {"leader: higher COORDINATOR, newer term: steps down", "b", Setup::LeaderB3, coordinator("c", 4), {},
         Role::Follower, "c", false},
        {"leader: higher leader heartbeat, older term: stale, keeps leading", "b", Setup::LeaderB3,
         leader_heartbeat("c", 0), {}, Role::Leader, "b", true},
        {"leader: lower leader claim is overruled by a new COORDINATOR", "b", Setup::LeaderB3,
         leader_heartbeat("a", 7), {MessageType::Coordinator}, Role::Leader, "b", false},
        // candidate (ELECTION sent, waiting for ANSWER)
        {"candidate: ANSWER from a higher node: waits, sends nothing", "b", Setup::Candidate, answer_from("c", 0),
         {}, Role::Candidate, "", false},
        {"candidate: ANSWER from a lower node is no reason to wait", "b", Setup::Candidate, answer_from("a", 0),
         {}, Role::Candidate, "", false},
        {"candidate: COORDINATOR from a higher node: follows", "b", Setup::Candidate, coordinator("c", 1), {},
         Role::Follower, "c", false},
        {"candidate: ELECTION from a lower node: answers only", "b", Setup::Candidate, election_from("a", 0),
         {MessageType::Answer}, Role::Candidate, "", false},
        {"candidate: ELECTION from a higher node: stands down as if answered", "b", Setup::Candidate,
         election_from("c", 0), {}, Role::Candidate, "", false},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            Election e{row.self, 1, kTimeouts};
            Millis now{0};
            switch (row.setup) {
                case Setup::Listening: e.reconnected(now); break;
                case Setup::FollowingC5: make_follower(e, "c", 5, now); break;
                case Setup::LeaderB3:
                    make_leader(e, now);
                    // bring its term to 3 by hearing of term 2 from a lower node
                    e.on_message(leader_heartbeat("a", 2), now);
                    REQUIRE(e.is_leader());
                    REQUIRE(e.term() == 3);
                    break;
                case Setup::Candidate:
                    e.reconnected(now);
                    now = Millis{3000};
                    e.on_tick(now);
                    REQUIRE(e.role() == Role::Candidate);
                    break;
            }
            const std::uint64_t term_before = e.term();
            const std::string leader_before = e.leader();
            now += Millis{100};
            const auto fx = e.on_message(row.input, now);
            CHECK(types(fx) == row.sent);
            CHECK(e.role() == row.role);
            CHECK(e.leader() == row.leader);
            CHECK(fx.stale == row.stale);
            CHECK(fx.leader_changed == (e.leader() != leader_before));
            // Terms never go backwards.
            CHECK(e.term() >= term_before);
            // Everything it sends carries its name and current term.
            // Replies to one candidate go to it alone; the rest to everyone.
            for (const auto& out : fx.send) {
                CHECK(out.message.from == row.self);
                CHECK(out.message.term == e.term());
                const bool reply = row.input.type == MessageType::Election &&
                                   out.message.type != MessageType::Election;
                CHECK(out.audience == (reply ? vigil::Audience::Direct : vigil::Audience::Everyone));
                CHECK(out.to == (reply ? row.input.from : ""));
            }
        }
    }
}

TEST_CASE("election: a leader that hears of a newer term re-announces above it", "[election]") {
    // Otherwise nodes at that newer term would take its COORDINATOR as stale.
    struct Row {
        const char* name;
        Message input;
    };
    const std::vector<Row> rows = {
        {"ELECTION from a lower node at term 9", election_from("a", 9)},
        {"follower heartbeat at term 9", msg(MessageType::Heartbeat, "a", 9, Role::Follower, "b")},
        {"ANSWER at term 9", answer_from("a", 9)},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            Election e{"b", 1, kTimeouts};
            Millis now{0};
            make_leader(e, now);
            REQUIRE(e.term() < 9);
            const auto fx = e.on_message(row.input, now + Millis{100});
            CHECK(e.is_leader());
            CHECK(e.term() > 9);
            REQUIRE_FALSE(fx.send.empty());
            CHECK(fx.send.back().message.type == MessageType::Coordinator);
            CHECK(fx.send.back().message.term == e.term());
            CHECK(fx.send.back().audience == vigil::Audience::Everyone);
        }
    }
}

TEST_CASE("election: timers", "[election]") {
    SECTION("ANSWER then no COORDINATOR: re-elect after the election timeout, then lead") {
        Election e{"a", 1, kTimeouts};
        e.reconnected(Millis{0});
        REQUIRE(types(e.on_tick(Millis{3000})) == std::multiset<MessageType>{MessageType::Election});
        e.on_message(answer_from("c", 0), Millis{3100});
        CHECK(types(e.on_tick(Millis{6000})).empty());  // the ANSWER reset the wait
        CHECK(types(e.on_tick(Millis{6099})).empty());
        CHECK(types(e.on_tick(Millis{6100})) == std::multiset<MessageType>{MessageType::Election});
        CHECK_FALSE(e.is_leader());
        CHECK(types(e.on_tick(Millis{9100})) == std::multiset<MessageType>{MessageType::Coordinator});
        CHECK(e.is_leader());
    }
    SECTION("a silent leader is replaced after the leader timeout") {
        Election e{"b", 1, kTimeouts};
        make_follower(e, "c", 5, Millis{1000});
        e.on_message(leader_heartbeat("c", 5), Millis{2000});
        CHECK(types(e.on_tick(Millis{8000})).empty());  // 6 s exactly: not yet
        const auto fx = e.on_tick(Millis{8001});
        CHECK(types(fx) == std::multiset<MessageType>{MessageType::Election});
        CHECK(e.role() == Role::Candidate);
    }
    SECTION("leader heartbeats keep a follower following") {
        Election e{"b", 1, kTimeouts};
        make_follower(e, "c", 5, Millis{0});
        for (long t = 2000; t <= 60000; t += 2000) {
            e.on_message(leader_heartbeat("c", 5), Millis{t});
            CHECK(types(e.on_tick(Millis{t + 1000})).empty());
        }
        CHECK(e.leader() == "c");
    }
    SECTION("the new leader's term is above every term seen") {
        Election e{"b", 1, kTimeouts};
        e.reconnected(Millis{0});
        e.on_message(answer_from("a", 41), Millis{10});  // a lower node, but a term seen
        e.on_tick(Millis{3000});
        e.on_tick(Millis{6000});
        REQUIRE(e.is_leader());
        CHECK(e.term() == 42);
    }
}

TEST_CASE("election: leader_left and cut_off", "[election]") {
    SECTION("leader_left: an election at the next tick, after the hold-back") {
        Election e{"b", 1, kTimeouts};
        make_follower(e, "c", 5, Millis{0});
        const auto fx = e.leader_left(Millis{100});
        CHECK(types(fx).empty());
        CHECK(fx.leader_changed);
        CHECK(e.leader().empty());
        CHECK(types(e.on_tick(Millis{149}, Millis{50})).empty());
        CHECK(types(e.on_tick(Millis{150}, Millis{50})) == std::multiset<MessageType>{MessageType::Election});
        CHECK(e.on_tick(Millis{3150}).send.size() == 1);  // no ANSWER: COORDINATOR
        CHECK(e.is_leader());
    }
    SECTION("cut_off: no role, no leader, deaf and mute until reconnected") {
        Election e{"b", 1, kTimeouts};
        Millis now{0};
        make_leader(e, now);
        e.cut_off();
        CHECK_FALSE(e.is_leader());
        CHECK_FALSE(e.active());
        CHECK(e.leader().empty());
        CHECK(e.on_tick(Millis{100000}).send.empty());
        CHECK(e.on_message(election_from("a", 1), Millis{100001}).send.empty());
        CHECK(e.on_message(coordinator("c", 9), Millis{100002}).send.empty());
        CHECK(e.leader().empty());
        // Reconnecting starts over with a listen window.
        e.reconnected(Millis{200000});
        CHECK(e.active());
        CHECK(e.on_tick(Millis{202999}).send.empty());
        CHECK(types(e.on_tick(Millis{203000})) == std::multiset<MessageType>{MessageType::Election});
    }
    SECTION("before the first reconnect nothing happens") {
        Election e{"b", 1, kTimeouts};
        CHECK(e.on_tick(Millis{100000}).send.empty());
        CHECK(e.on_message(coordinator("c", 1), Millis{100000}).send.empty());
        CHECK(e.leader().empty());
    }
}

namespace {

// A synchronous broadcast network of Election instances. Leaders emit a
// heartbeat every 2 s (the Node's job in production).
class Cluster {
public:
    void start(const std::string& name, Millis now) {
        nodes_[name] = std::make_unique<Election>(name, ++incarnation_, kTimeouts);
        nodes_[name]->reconnected(now);
    }
    void kill(const std::string& name) { nodes_.erase(name); }
    void cut(const std::string& name) {
        nodes_.at(name)->cut_off();
        cut_.insert(name);
    }
    void heal(const std::string& name, Millis now) {
        cut_.erase(name);
        nodes_.at(name)->reconnected(now);
    }
    // Both sides stay connected but stop hearing each other (lossy network).
    void split(std::set<std::string> side) { side_ = std::move(side); }
    void join() { side_.clear(); }

    void run_until(Millis end) {
        for (; now_ <= end; now_ += Millis{100}) {
            for (auto& [name, e] : nodes_) {
                if (cut_.count(name)) continue;
                queue(e->on_tick(now_));
                if (e->is_leader() && now_.count() % 2000 == 0) queue_one(leader_heartbeat(name, e->term()));
            }
            deliver();
        }
    }

    std::set<std::string> leaders() const {
        std::set<std::string> out;
        for (const auto& [name, e] : nodes_)
            if (e->is_leader()) out.insert(name);
        return out;
    }
    // The leader every connected node names, or "<disagree>".
    std::string agreed_leader() const {
        std::set<std::string> named;
        for (const auto& [name, e] : nodes_)
            if (!cut_.count(name)) named.insert(e->leader());
        return named.size() == 1 ? *named.begin() : "<disagree>";
    }
    const Election& at(const std::string& name) const { return *nodes_.at(name); }
    Millis now() const { return now_; }

private:
    void queue(const Election::Effects& fx) {
        for (const auto& out : fx.send) in_flight_.push_back(out);
    }
    void queue_one(const Message& m) { in_flight_.push_back(vigil::Outgoing{m, vigil::Audience::Everyone, {}}); }
    void deliver() {
        // Bounded: a message storm is a failure, not a hang.
        for (int budget = 10000; !in_flight_.empty(); --budget) {
            REQUIRE(budget > 0);
            const vigil::Outgoing out = in_flight_.front();
            const Message& m = out.message;
            in_flight_.pop_front();
            if (cut_.count(m.from)) continue;
            for (auto& [name, e] : nodes_) {
                if (name == m.from || cut_.count(name)) continue;
                if (out.audience == vigil::Audience::Direct && name != out.to) continue;
                if (!side_.empty() && side_.count(name) != side_.count(m.from)) continue;
                queue(e->on_message(m, now_));
            }
        }
    }

    std::map<std::string, std::unique_ptr<Election>> nodes_;
    std::set<std::string> cut_;
    std::set<std::string> side_;
    std::deque<vigil::Outgoing> in_flight_;
    std::uint64_t incarnation_ = 0;
    Millis now_{0};
};

}  // namespace

TEST_CASE("election: whole clusters settle on the highest live name", "[election]") {
    struct Action {
        long at_ms;
        enum { Start, Kill, Cut, Heal } what;
        std::string name;
    };
    struct Row {
        const char* name;
        std::vector<Action> script;
        long end_ms;
        std::string leader;  // agreed by every connected node at the end
    };
    using A = Action;
    const std::vector<Row> rows = {
        {"three start together", {{0, A::Start, "a"}, {0, A::Start, "b"}, {0, A::Start, "c"}}, 20000, "c"},
        {"byte-wise order: node-2 beats node-10",
         {{0, A::Start, "node-1"}, {0, A::Start, "node-10"}, {0, A::Start, "node-2"}}, 20000, "node-2"},
        {"byte-wise order: lower case beats upper case", {{0, A::Start, "Zed"}, {0, A::Start, "alpha"}}, 20000,
         "alpha"},
        {"staggered starts, highest last",
         {{0, A::Start, "a"}, {1000, A::Start, "b"}, {15000, A::Start, "c"}}, 40000, "c"},
        {"a lower node joining an existing leader follows it",
         {{0, A::Start, "b"}, {0, A::Start, "c"}, {20000, A::Start, "a"}}, 40000, "c"},
        {"leader killed: the next highest takes over",
         {{0, A::Start, "a"}, {0, A::Start, "b"}, {0, A::Start, "c"}, {20000, A::Kill, "c"}}, 40000, "b"},
        {"leader killed and relaunched: it takes over again (Bully)",
         {{0, A::Start, "a"}, {0, A::Start, "b"}, {0, A::Start, "c"}, {20000, A::Kill, "c"},
          {40000, A::Start, "c"}},
         60000, "c"},
        {"leader cut off: the rest elect; healed, it leads again",
         {{0, A::Start, "a"}, {0, A::Start, "b"}, {0, A::Start, "c"}, {20000, A::Cut, "c"},
          {40000, A::Heal, "c"}},
         60000, "c"},
        {"follower killed: leadership unchanged",
         {{0, A::Start, "a"}, {0, A::Start, "b"}, {0, A::Start, "c"}, {20000, A::Kill, "a"}}, 40000, "c"},
        {"five nodes, two highest killed in turn",
         {{0, A::Start, "n1"}, {0, A::Start, "n2"}, {0, A::Start, "n3"}, {0, A::Start, "n4"},
          {0, A::Start, "n5"}, {20000, A::Kill, "n5"}, {40000, A::Kill, "n4"}},
         60000, "n3"},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            Cluster cluster;
            for (const auto& action : row.script) {
                cluster.run_until(Millis{action.at_ms} - Millis{100});
                switch (action.what) {
                    case A::Start: cluster.start(action.name, Millis{action.at_ms}); break;
                    case A::Kill: cluster.kill(action.name); break;
                    case A::Cut: cluster.cut(action.name); break;
                    case A::Heal: cluster.heal(action.name, Millis{action.at_ms}); break;
                }
            }
            cluster.run_until(Millis{row.end_ms});
            CHECK(cluster.agreed_leader() == row.leader);
            CHECK(cluster.leaders() == std::set<std::string>{row.leader});
        }
    }
}

TEST_CASE("election: a cut-off leader does not lead, and the others move on", "[election]") {
    Cluster cluster;
    cluster.start("a", Millis{0});
    cluster.start("b", Millis{0});
    cluster.start("c", Millis{0});
    cluster.run_until(Millis{20000});
    REQUIRE(cluster.leaders() == std::set<std::string>{"c"});
    const std::uint64_t term_before = cluster.at("b").term();
    cluster.cut("c");
    CHECK_FALSE(cluster.at("c").is_leader());
    CHECK(cluster.at("c").leader().empty());
    cluster.run_until(Millis{40000});
    CHECK(cluster.leaders() == std::set<std::string>{"b"});
    CHECK(cluster.agreed_leader() == "b");
    CHECK(cluster.at("b").term() > term_before);
}

TEST_CASE("election: two leaders that hear each other settle within a heartbeat interval", "[election]") {
    struct Row {
        const char* name;
        std::set<std::string> side;  // one side of the split; the rest is the other
        std::string leader;
    };
    const std::vector<Row> rows = {
        {"the highest node alone on one side", {"c"}, "c"},
        {"the highest node with a follower", {"a", "c"}, "c"},
        {"the lowest node alone (it elects itself, then yields)", {"a"}, "c"},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            Cluster cluster;
            for (const auto& name : {"a", "b", "c"}) cluster.start(name, Millis{0});
            cluster.run_until(Millis{20000});
            REQUIRE(cluster.leaders() == std::set<std::string>{"c"});
            cluster.split(row.side);
            cluster.run_until(Millis{40000});
            REQUIRE(cluster.leaders().size() == 2);  // one per side
            cluster.join();
            cluster.run_until(Millis{40000 + 2000});  // one leader heartbeat each
            CHECK(cluster.leaders() == std::set<std::string>{row.leader});
            CHECK(cluster.agreed_leader() == row.leader);
        }
    }
}
