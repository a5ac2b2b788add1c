// Fast crash signals: the broker's "that connection closed" and Docker's
// "that container exited", as Node weighs them (late, duplicated, stale,
// about an earlier life or link), and the pieces they travel through.
#include <catch2/catch.hpp>

#include <functional>
#include <string>
#include <vector>

#include "control_queue.hpp"
#include "vigil/codec.hpp"
#include "vigil/crash_reports.hpp"
#include "vigil/node.hpp"

using vigil::Event;
using vigil::Message;
using vigil::MessageType;
using vigil::Millis;
using vigil::Node;
using vigil::NodeConfig;
using vigil::Observation;
using vigil::Output;
using vigil::Role;

namespace {

constexpr std::uint64_t kLife = 7;

Message beat(const std::string& from, std::uint64_t link, Role role = Role::Follower, const std::string& leader = "z",
             std::uint64_t inc = kLife, std::uint64_t term = 1) {
    Message m{MessageType::Heartbeat, from, term, role, leader, inc};
    m.link = link;
    return m;
}

Observation closed(const std::string& name, std::uint64_t link, std::uint64_t inc = kLife) {
    return Observation{Observation::Kind::LinkClosed, name, inc, link, Millis{0}};
}

Observation exited(const std::string& name, long at) {
    return Observation{Observation::Kind::ContainerExited, name, 0, 0, Millis{at}};
}

Observation started(const std::string& name, long at) {
    return Observation{Observation::Kind::ContainerStarted, name, 0, 0, Millis{at}};
}

// One node; its own heartbeats come back at once (the echo), every 100 ms a
// tick, and what it output is kept with the time.
struct Core {
    explicit Core(NodeConfig config) : node(std::move(config)) {}

    void take(long at, Output out) {
        std::vector<Message> echoes;
        for (const auto& s : out.send) {
            if (s.message.type == MessageType::Heartbeat && s.message.from == node.self() && s.message.seq != 0) {
                echoes.push_back(s.message);
            }
        }
        for (auto& name : out.restart) restarts.emplace_back(at, name);
        for (auto& e : out.events) events.push_back(e);
        for (auto& s : out.send) sent.emplace_back(at, s);
        if (!out.restart.empty()) take(at, node.restarts_handled(Millis{at}));
        for (const auto& m : echoes) take(at, node.receive(m, Millis{at}));
    }
    void receive(const Message& m, long at) { take(at, node.receive(m, Millis{at})); }
    void observe(const Observation& o, long at) { take(at, node.observe(o, Millis{at})); }
    void run(long from, long to, const std::function<void(long)>& each = {}) {
        for (long t = from; t <= to; t += 100) {
            if (each) each(t);
            take(t, node.tick(Millis{t}));
        }
    }
    std::vector<std::string> dead() const {
        std::vector<std::string> names;
        for (const auto& e : events)
            if (e.kind == Event::Kind::MemberDead) names.push_back(e.name);
        return names;
    }
    std::size_t count(MessageType type) const {
        std::size_t n = 0;
        for (const auto& [at, s] : sent) n += s.message.type == type;
        return n;
    }

    Node node;
    std::vector<std::pair<long, std::string>> restarts;
    std::vector<Event> events;
    std::vector<std::pair<long, vigil::Outgoing>> sent;
};

NodeConfig config_for(std::string self, std::vector<std::string> members) {
    NodeConfig c;
    c.self = std::move(self);
    c.incarnation = 1;
    c.expected_members = std::move(members);
    return c;
}

// z leads from 3 s on; w (and v, if given) heartbeat on link 1 every 2 s until `until`.
void z_leads(Core& z, long until, std::vector<std::string> members = {"w"}) {
    z.take(0, z.node.connected(Millis{0}));
    z.run(0, until, [&](long t) {
        if (t % 2000 == 0)
            for (const auto& m : members) z.receive(beat(m, 1), t);
    });
    REQUIRE(z.node.is_leader());
}

}  // namespace

TEST_CASE("signals: a closed connection that does not come back is a death after the reconnect window",
          "[signals]") {
    Core z{config_for("z", {"w"})};
    z_leads(z, 20000);
    z.observe(closed("w", 1), 20050);
    z.run(20100, 21000);
    CHECK(z.restarts.empty());  // 950 ms: still within the window
    z.run(21100, 21100);
    REQUIRE(z.restarts.size() == 1);
    CHECK(z.restarts[0] == std::pair<long, std::string>{21100, "w"});
    REQUIRE(z.dead() == std::vector<std::string>{"w"});
    for (const auto& e : z.events)
        if (e.kind == Event::Kind::MemberDead) CHECK(e.detail.find("did not reconnect") != std::string::npos);
    CHECK(z.node.signals().confirmed == 1);
    CHECK(z.node.signals().link_closed == 1);
}

TEST_CASE("signals: what proves the life alive within the window, and what does not", "[signals]") {
    struct Row {
        const char* what;
        std::function<void(Core&)> within_window;
        bool restarted;
    };
    const std::vector<Row> rows{
        {"a heartbeat of its next link (it reconnected)", [](Core& z) { z.receive(beat("w", 2), 20500); }, false},
        {"a heartbeat of a later life", [](Core& z) { z.receive(beat("w", 1, Role::Follower, "z", kLife + 1), 20500); },
         false},
        {"a heartbeat of another life, lower: the host's clock stepped back",
         [](Core& z) { z.receive(beat("w", 1, Role::Follower, "z", kLife - 3), 20500); }, false},
        {"its goodbye (it meant to stop)",
         [](Core& z) { z.receive(Message{MessageType::Goodbye, "w", 1, Role::Follower, "z", kLife}, 20500); }, false},
        {"a late heartbeat of the closed link itself", [](Core& z) { z.receive(beat("w", 1), 20500); }, true},
        {"a heartbeat that tells no link", [](Core& z) { z.receive(beat("w", 0), 20500); }, true},
        {"the same signal again (duplicated)", [](Core& z) { z.observe(closed("w", 1), 20500); }, true},
        {"nothing", [](Core&) {}, true},
    };
    for (const Row& row : rows) {
        SECTION(row.what) {
            Core z{config_for("z", {"w"})};
            z_leads(z, 20000);
            z.observe(closed("w", 1), 20050);
            row.within_window(z);
            z.run(20100, 23000);
            CHECK(z.restarts.size() == (row.restarted ? 1u : 0u));
        }
    }
}

TEST_CASE("signals: stale, moot and duplicate signals never restart anyone", "[signals]") {
    struct Row {
        const char* what;
        std::function<void(Core&)> act;
        std::uint64_t vigil::SignalCounters::*counter;
    };
    const std::vector<Row> rows{
        {"an earlier link of the life heard",
         [](Core& z) {
             z.receive(beat("w", 2), 20010);
             z.observe(closed("w", 1), 20050);
         },
         &vigil::SignalCounters::stale},
        {"an earlier life", [](Core& z) { z.observe(closed("w", 1, kLife - 1), 20050); }, &vigil::SignalCounters::stale},
        {"a life never heard (later, or from before a clock step)",
         [](Core& z) { z.observe(closed("w", 1, kLife + 1), 20050); }, &vigil::SignalCounters::stale},
        {"an exit from before the life heard began", [](Core& z) { z.observe(exited("w", -5), 20050); },
         &vigil::SignalCounters::stale},
        {"about itself", [](Core& z) { z.observe(closed("z", 1, 1), 20050); }, &vigil::SignalCounters::moot},
        {"about a stranger", [](Core& z) { z.observe(closed("q", 1), 20050); }, &vigil::SignalCounters::moot},
        {"about a member that said goodbye",
         [](Core& z) {
             z.receive(Message{MessageType::Goodbye, "w", 1, Role::Follower, "z", kLife}, 20010);
             z.observe(closed("w", 1), 20050);
         },
         &vigil::SignalCounters::moot},
        {"while cut off from the broker",
         [](Core& z) {
             z.take(20010, z.node.disconnected(Millis{20010}));
             z.observe(closed("w", 1), 20050);
             z.take(20100, z.node.connected(Millis{20100}));
         },
         &vigil::SignalCounters::moot},
    };
    for (const Row& row : rows) {
        SECTION(row.what) {
            Core z{config_for("z", {"w"})};
            z_leads(z, 20000);
            row.act(z);
            z.run(20100, 21500, [&](long t) {
                if (t % 2000 == 0) z.receive(beat("w", 2), t);  // w lives on
            });
            CHECK(z.restarts.empty());
            CHECK(z.node.signals().*row.counter == 1);
        }
    }
}

TEST_CASE("signals: the signals of a disconnection are forgotten with it (a broker restart is no mass death)",
          "[signals]") {
    // A window long enough for z to lead again before it ends; w lives on,
    // on the same link, all along: only forgetting the report spares it.
    NodeConfig config = config_for("z", {"w"});
    config.reconnect_window = Millis{5000};
    Core z{config};
    z_leads(z, 20000);
    z.observe(closed("w", 1), 20050);
    z.take(20060, z.node.disconnected(Millis{20060}));
    z.take(20200, z.node.connected(Millis{20200}));
    z.run(20200, 30000, [&](long t) {
        if (t % 2000 == 0) z.receive(beat("w", 1, Role::Follower, z.node.leader()), t);
    });
    REQUIRE(z.node.is_leader());
    CHECK(z.restarts.empty());
}

TEST_CASE("signals: an exited container is a death once no goodbye came within the exit window", "[signals]") {
    SECTION("no goodbye: restarted 100 ms later") {
        Core z{config_for("z", {"w"})};
        z_leads(z, 20000);
        z.observe(exited("w", 20040), 20050);
        z.run(20100, 20200);
        REQUIRE(z.restarts.size() == 1);
        CHECK(z.restarts[0].first == 20200);
        CHECK(z.node.signals().container_exited == 1);
    }
    SECTION("its goodbye arrives just after the event: left, not dead") {
        Core z{config_for("z", {"w"})};
        z_leads(z, 20000);
        z.observe(exited("w", 20040), 20050);
        z.receive(Message{MessageType::Goodbye, "w", 1, Role::Follower, "z", kLife}, 20080);
        z.run(20100, 23000);
        CHECK(z.restarts.empty());
    }
    SECTION("the container started again after that exit: a later life is on its way") {
        Core z{config_for("z", {"w"})};
        z_leads(z, 20000);
        z.observe(exited("w", 20040), 20050);
        z.observe(started("w", 20045), 20060);
        z.run(20100, 21000, [&](long t) {
            if (t == 20500) z.receive(beat("w", 1, Role::Follower, "", kLife + 1), t);
        });
        CHECK(z.restarts.empty());
        CHECK(z.node.signals().disproved == 1);
    }
    SECTION("while its restart runs: the restart's own stop, not a crash") {
        Core z{config_for("z", {"w"})};
        z_leads(z, 30000);  // w silent after 30 s: restarted on silence at about 36.4 s
        z.run(30100, 37000);
        REQUIRE(z.restarts.size() == 1);
        z.observe(exited("w", 37000), 37010);
        z.run(37100, 40000);
        CHECK(z.restarts.size() == 1);
        CHECK(z.node.signals().moot == 1);
    }
}

TEST_CASE("signals: the end of the leader starts the hand-over at once", "[signals]") {
    SECTION("the highest survivor leads at its next tick: nobody above it is left to answer") {
        Core w{config_for("w", {"a", "z"})};
        w.take(0, w.node.connected(Millis{0}));
        w.run(0, 20000, [&](long t) {
            if (t % 2000 == 0) w.receive(beat("z", 1, Role::Leader, "z"), t);
        });
        REQUIRE(w.node.leader() == "z");
        const auto elections = w.count(MessageType::Election);
        w.observe(closed("z", 1), 20050);
        w.run(20100, 20100);
        CHECK(w.node.is_leader());
        CHECK(w.count(MessageType::Election) == elections);  // no ANSWER to wait for
        // ... and, as leader, restarts z once the window has passed.
        w.run(20200, 21200);
        REQUIRE(w.restarts.size() == 1);
        CHECK(w.restarts[0].second == "z");
    }
    SECTION("a lower survivor elects after its hold-back (one path slack per live member above it)") {
        Core a{config_for("a", {"w", "z"})};
        a.take(0, a.node.connected(Millis{0}));
        a.run(0, 20000, [&](long t) {
            if (t % 2000 == 0) a.receive(beat("z", 1, Role::Leader, "z"), t);
        });
        const auto elections = a.count(MessageType::Election);
        a.observe(closed("z", 1), 20050);
        a.run(20100, 20200);
        CHECK(a.count(MessageType::Election) == elections);
        a.run(20300, 20300);
        CHECK(a.count(MessageType::Election) == elections + 1);
        CHECK_FALSE(a.node.is_leader());
    }
    SECTION("a stale report of the leader's earlier link changes nothing") {
        Core w{config_for("w", {"a", "z"})};
        w.take(0, w.node.connected(Millis{0}));
        w.run(0, 20000, [&](long t) {
            if (t % 2000 == 0) w.receive(beat("z", 2, Role::Leader, "z"), t);
        });
        w.observe(closed("z", 1), 20050);
        w.run(20100, 22000, [&](long t) {
            if (t % 2000 == 0) w.receive(beat("z", 2, Role::Leader, "z"), t);
        });
        CHECK(w.node.leader() == "z");
        CHECK(w.node.signals().stale == 1);
    }
}

TEST_CASE("signals: many ends at once are paced like mass silence (the observer is the likelier fault)",
          "[signals]") {
    Core z{config_for("z", {"a", "b", "c", "d"})};
    z_leads(z, 20000, {"a", "b", "c", "d"});
    for (const char* name : {"a", "b", "c"}) z.observe(closed(name, 1), 20050);
    z.run(20100, 21500);
    CHECK(z.restarts.size() == 1);
    CHECK(z.dead().size() == 3);
}

TEST_CASE("signals: reports keep the later end of a member, and the stronger word of one life", "[signals]") {
    using Report = vigil::CrashReports::Report;
    vigil::CrashReports reports;
    const Report link1{Observation::Kind::LinkClosed, 7, 1, Millis{0}, Millis{1000}};
    const Report link2{Observation::Kind::LinkClosed, 7, 2, Millis{0}, Millis{1500}};
    const Report exit7{Observation::Kind::ContainerExited, 7, 0, Millis{400}, Millis{500}};
    CHECK(reports.add("w", link1));
    CHECK_FALSE(reports.add("w", link1));  // duplicate
    CHECK(reports.add("w", link2));        // a later link ended too: its own window
    CHECK(reports.next_due() == Millis{1500});
    CHECK(reports.add("w", exit7));        // the container's exit outranks a closed link of one life
    CHECK(reports.next_due() == Millis{500});
    CHECK_FALSE(reports.heard("w", 7, 3));  // no link follows an exit
    CHECK(reports.started("w", Millis{450}));
    CHECK_FALSE(reports.pending("w"));
    CHECK(reports.take_due(Millis{10000}).empty());
}

TEST_CASE("signals: a control queue's name says whose connection it was", "[signals]") {
    const std::string queue = vigil::routing::control_queue("control_exchange", "worker_1.x#", 123456789, 3);
    const auto parsed = vigil::routing::link_closed("control_exchange", queue);
    REQUIRE(parsed);
    CHECK(parsed->name == "worker_1.x#");
    CHECK(parsed->incarnation == 123456789);
    CHECK(parsed->link == 3);
    CHECK(queue.size() <= 255);
    CHECK(vigil::routing::control_queue("e", std::string(128, 'n'), vigil::kMaxIncarnation, vigil::kMaxLink).size() <=
          255);

    const std::string prefix = "vigil." + vigil::routing::fnv1a_hex("control_exchange") + ".";
    for (const std::string& other : {
             vigil::routing::control_queue("another_exchange", "w", 1, 1),  // another deployment
             std::string("tasks"), std::string("amq.gen-abc"), prefix, prefix + "1.1.", prefix + "1..w",
             prefix + "x.1.w", prefix + "1.x.w", prefix + "99999999999999999999.1.w",
             prefix + "1.9007199254740992.w",  // link past its bound
             prefix + "1.1.bad name",          // not a node name
         }) {
        INFO(other);
        CHECK_FALSE(vigil::routing::link_closed("control_exchange", other));
    }
}

TEST_CASE("signals: a heartbeat's link crosses the wire, and a bad one is a counted drop", "[signals][codec]") {
    Message m = beat("w", 42);
    const auto back = vigil::decode(vigil::encode(m), 4096);
    REQUIRE(back.message);
    CHECK(back.message->link == 42);
    m.probe = true;
    const auto probe = vigil::decode(vigil::encode(m), 4096);
    REQUIRE(probe.message);
    CHECK(probe.message->probe);
    CHECK(vigil::decode(R"({"v":1,"type":"heartbeat","from":"w","term":1,"role":"follower","leader":"","inc":1,"probe":2})",
                        4096)
              .error == vigil::DecodeError::BadField);
    CHECK(vigil::decode(R"({"v":1,"type":"heartbeat","from":"w","term":1,"role":"follower","leader":"","inc":1,"link":-1})",
                        4096)
              .error == vigil::DecodeError::BadField);
    CHECK(vigil::decode(
              R"({"v":1,"type":"heartbeat","from":"w","term":1,"role":"follower","leader":"","inc":1,"link":9007199254740992})",
              4096)
              .error == vigil::DecodeError::OutOfRange);
}

TEST_CASE("signals: the leader probes a member whose end is reported, and a live member answers from its link",
          "[signals]") {
    Core z{config_for("z", {"w"})};
    z_leads(z, 20000);
    z.observe(closed("w", 1), 20050);
    const auto probes = [&] {
        std::vector<vigil::Outgoing> out;
        for (const auto& [at, s] : z.sent)
            if (s.message.probe) out.push_back(s);
        return out;
    }();
    REQUIRE(probes.size() == 1);
    CHECK(probes[0].audience == vigil::Audience::Direct);
    CHECK(probes[0].to == "w");

    // w, which reconnected (link 2) without z hearing its hello, answers.
    Core w{config_for("w", {"z"})};
    w.take(0, w.node.connected(Millis{0}));
    w.take(1, w.node.disconnected(Millis{1}));
    w.take(2, w.node.connected(Millis{2}));
    REQUIRE(w.node.link() == 2);
    const auto sent_before = w.sent.size();
    Message probe = probes[0].message;
    w.receive(probe, 20060);
    REQUIRE(w.sent.size() == sent_before + 1);
    const vigil::Outgoing answer = w.sent.back().second;
    CHECK(answer.audience == vigil::Audience::Direct);
    CHECK(answer.to == "z");
    CHECK(answer.message.link == 2);
    CHECK_FALSE(answer.message.probe);

    Message from_w = answer.message;
    from_w.incarnation = kLife;  // as z knows it
    z.receive(from_w, 20070);
    z.run(20100, 22000);
    CHECK(z.restarts.empty());
    CHECK(z.node.signals().disproved == 1);
}
