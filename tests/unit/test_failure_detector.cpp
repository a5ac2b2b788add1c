// Failure detector: a table of scripts (heard / departed / expect / grace /
// check) and the liveness, deaths and Heard results each must produce.
// Timeout is 6000 ms everywhere; boundaries are probed one ms either side
// because the header does not say whether exactly-the-timeout is dead.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "vigil/failure_detector.hpp"

using vigil::FailureDetector;
using vigil::Liveness;
using vigil::Millis;
using Heard = vigil::FailureDetector::Heard;

namespace {

constexpr Millis kTimeout{6000};

struct Step {
    enum Kind { HeardFrom, Departed, Expect, Grace, Check };
    Kind kind;
    std::string name;
    std::uint64_t inc = 0;
    long at_ms = 0;
    // HeardFrom: the expected result. Check: the expected newly dead names.
    Heard heard = Heard::Known;
    std::vector<std::string> newly_dead = {};
};

Step hear(std::string name, std::uint64_t inc, long at, Heard expect) {
    return {Step::HeardFrom, std::move(name), inc, at, expect, {}};
}
Step depart(std::string name, std::uint64_t inc = 0) {
    return {Step::Departed, std::move(name), inc, 0, Heard::Known, {}};
}
Step expect_member(std::string name, long at) {
    return {Step::Expect, std::move(name), 0, at, Heard::Known, {}};
}
Step grace(long at) { return {Step::Grace, "", 0, at, Heard::Known, {}}; }
Step check(long at, std::vector<std::string> dead) {
    return {Step::Check, "", 0, at, Heard::Known, std::move(dead)};
}

const char* heard_name(Heard h) {
    switch (h) {
        case Heard::Known: return "Known";
        case Heard::New: return "New";
        case Heard::Rejoined: return "Rejoined";
        case Heard::Restarted: return "Restarted";
        case Heard::Departed: return "Departed";
        case Heard::TableFull: return "TableFull";
    }
    return "?";
}

void run(FailureDetector& fd, const std::vector<Step>& steps) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        INFO("step " << i << " (" << s.name << " @" << s.at_ms << ")");
        switch (s.kind) {
            case Step::HeardFrom: {
                const Heard got = fd.heard(s.name, s.inc, Millis{s.at_ms});
                INFO("heard() returned " << heard_name(got) << ", expected " << heard_name(s.heard));
                CHECK(got == s.heard);
                break;
            }
            case Step::Departed: fd.departed(s.name, s.inc); break;
            case Step::Expect: fd.expect(s.name, Millis{s.at_ms}); break;
            case Step::Grace: fd.grace_all(Millis{s.at_ms}); break;
            case Step::Check: {
                auto got = fd.newly_dead(Millis{s.at_ms}, Millis{s.at_ms});
                std::sort(got.begin(), got.end());
                auto want = s.newly_dead;
                std::sort(want.begin(), want.end());
                CHECK(got == want);
                break;
            }
        }
    }
}

}  // namespace

TEST_CASE("failure detector: scripted liveness table", "[failure_detector]") {
    using L = Liveness;
    struct Row {
        const char* name;
        std::vector<Step> steps;
        std::map<std::string, Liveness> liveness;  // after the steps
        std::vector<std::string> dead;             // dead() after the steps
    };
    const std::vector<Row> rows = {
        {"a late message from the incarnation that said goodbye is ignored",
         {hear("a", 1, 0, Heard::New), depart("a", 1), hear("a", 1, 100, Heard::Departed), check(99999, {})},
         {{"a", L::Departed}},
         {}},
        {"a new incarnation after a goodbye is alive again, and can die",
         {hear("a", 1, 0, Heard::New), depart("a", 1), hear("a", 2, 100, Heard::Restarted), check(6101, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"first message is New, then Known",
         {hear("a", 1, 0, Heard::New), hear("a", 1, 100, Heard::Known)},
         {{"a", L::Alive}},
         {}},
        {"silent one ms short of the timeout is alive",
         {hear("a", 1, 0, Heard::New), check(5999, {})},
         {{"a", L::Alive}},
         {}},
        {"silent one ms past the timeout is dead",
         {hear("a", 1, 0, Heard::New), check(6001, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"each death is reported once",
         {hear("a", 1, 0, Heard::New), check(6001, {"a"}), check(7000, {}), check(60000, {})},
         {{"a", L::Dead}},
         {"a"}},
        {"hearing resets the clock",
         {hear("a", 1, 0, Heard::New), hear("a", 1, 5000, Heard::Known), check(10999, {}),
          check(11001, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"only the silent member dies",
         {hear("a", 1, 0, Heard::New), hear("b", 1, 0, Heard::New), hear("b", 1, 4000, Heard::Known),
          check(6001, {"a"}), check(10001, {"b"})},
         {{"a", L::Dead}, {"b", L::Dead}},
         {"a", "b"}},
        {"two deaths in one check",
         {hear("a", 1, 0, Heard::New), hear("b", 1, 0, Heard::New), check(7000, {"a", "b"})},
         {{"a", L::Dead}, {"b", L::Dead}},
         {"a", "b"}},
        {"heard after dead, same incarnation, is Rejoined",
         {hear("a", 1, 0, Heard::New), check(6001, {"a"}), hear("a", 1, 7000, Heard::Rejoined)},
         {{"a", L::Alive}},
         {}},
        {"a new incarnation of a live member is Restarted",
         {hear("a", 1, 0, Heard::New), hear("a", 2, 1000, Heard::Restarted),
          hear("a", 2, 2000, Heard::Known)},
         {{"a", L::Alive}},
         {}},
        {"a rejoined member can die again, reported again",
         {hear("a", 1, 0, Heard::New), check(6001, {"a"}), hear("a", 1, 7000, Heard::Rejoined),
          check(13001, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"departed is never declared dead",
         {hear("a", 1, 0, Heard::New), depart("a"), check(6001, {}), check(1'000'000, {})},
         {{"a", L::Departed}},
         {}},
        {"departed then heard again is Rejoined and watched again",
         {hear("a", 1, 0, Heard::New), depart("a"), check(10000, {}),
          hear("a", 1, 20000, Heard::Rejoined), check(26001, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"departing a dead member takes it off the dead list",
         {hear("a", 1, 0, Heard::New), check(6001, {"a"}), depart("a"), check(20000, {})},
         {{"a", L::Departed}},
         {}},
        {"expected but never heard dies a timeout after expect()",
         {expect_member("w", 1000), check(7000, {}), check(7001, {"w"})},
         {{"w", L::Dead}},
         {"w"}},
        {"expected, then heard, is New and alive",
         {expect_member("w", 0), hear("w", 1, 3000, Heard::New), check(8000, {})},
         {{"w", L::Alive}},
         {}},
        {"expect() does not postpone an already heard member",
         {hear("a", 1, 0, Heard::New), expect_member("a", 3000), check(6001, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"grace_all postpones every deadline",
         {hear("a", 1, 0, Heard::New), expect_member("w", 0), grace(5000), check(10999, {}),
          check(11001, {"a", "w"})},
         {{"a", L::Dead}, {"w", L::Dead}},
         {"a", "w"}},
        {"grace_all does not shorten a later deadline",
         {hear("a", 1, 5000, Heard::New), grace(1000), check(10999, {}), check(11001, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"grace_all gives a dead member a fresh timeout, then reports it again",
         {hear("a", 1, 0, Heard::New), check(6001, {"a"}), grace(10000), check(16000, {}),
          check(16001, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"grace_all in the future (others still reconnecting) holds until then plus the timeout",
         {hear("a", 1, 0, Heard::New), grace(5000), check(10999, {}), check(11001, {"a"})},
         {{"a", L::Dead}},
         {"a"}},
        {"grace_all does not resurrect the departed",
         {hear("a", 1, 0, Heard::New), depart("a"), grace(1000), check(100000, {})},
         {{"a", L::Departed}},
         {}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            FailureDetector fd{kTimeout, 16};
            run(fd, row.steps);
            for (const auto& [name, want] : row.liveness) {
                INFO("member " << name << " is " << vigil::to_string(fd.liveness(name)));
                CHECK(fd.knows(name));
                CHECK(fd.liveness(name) == want);
            }
            auto dead = fd.dead();
            std::sort(dead.begin(), dead.end());
            CHECK(dead == row.dead);
        }
    }
}

TEST_CASE("failure detector: the member table is bounded", "[failure_detector]") {
    struct Row {
        const char* name;
        std::vector<Step> steps;
        std::set<std::string> known;
    };
    // max_members = 2 in every row. Members that answer (heard twice or
    // more) and expected ones are kept; a sender heard once is the first to go.
    const std::vector<Row> rows = {
        {"members that answer keep their places: a third stranger is refused",
         {hear("a", 1, 0, Heard::New), hear("b", 1, 0, Heard::New), hear("a", 1, 10, Heard::Known),
          hear("b", 1, 10, Heard::Known), hear("c", 1, 20, Heard::TableFull)},
         {"a", "b"}},
        {"members already in the table are still heard",
         {hear("a", 1, 0, Heard::New), hear("b", 1, 0, Heard::New), hear("a", 1, 5, Heard::Known),
          hear("b", 1, 5, Heard::Known), hear("c", 1, 6, Heard::TableFull), hear("a", 1, 10, Heard::Known),
          hear("b", 2, 10, Heard::Restarted)},
         {"a", "b"}},
        {"expected members count against the bound and are never pushed out",
         {expect_member("a", 0), expect_member("b", 0), hear("c", 1, 0, Heard::TableFull)},
         {"a", "b"}},
        {"a refused stranger never dies",
         {hear("a", 1, 0, Heard::New), hear("b", 1, 0, Heard::New), hear("a", 1, 1, Heard::Known),
          hear("b", 1, 1, Heard::Known), hear("c", 1, 2, Heard::TableFull), hear("a", 1, 5000, Heard::Known),
          hear("b", 1, 5000, Heard::Known), check(6001, {})},
         {"a", "b"}},
        {"junk heard once is pushed out, the longest silent first",
         {hear("a", 1, 0, Heard::New), hear("junk", 1, 5, Heard::New), hear("a", 1, 10, Heard::Known),
          hear("b", 1, 20, Heard::New)},
         {"a", "b"}},
        {"an expected member pushes out a sender heard once",
         {hear("junk", 1, 0, Heard::New), hear("a", 1, 1, Heard::New), hear("a", 1, 2, Heard::Known),
          expect_member("b", 3)},
         {"a", "b"}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            FailureDetector fd{kTimeout, 2};
            run(fd, row.steps);
            std::set<std::string> known;
            for (const auto& m : fd.view(Millis{0})) known.insert(m.name);
            CHECK(known == row.known);
        }
    }
}

TEST_CASE("failure detector: view reports silence, incarnation and ever_heard", "[failure_detector]") {
    FailureDetector fd{kTimeout, 16};
    fd.heard("a", 11, Millis{1000});
    fd.heard("b", 22, Millis{3000});
    fd.expect("w", Millis{2000});
    fd.newly_dead(Millis{7500}, Millis{7500});  // a dies (6500 silent); b and w do not

    struct Row {
        const char* name;
        Liveness liveness;
        bool ever_heard;
        long silent_ms;
        std::uint64_t inc;
    };
    const std::vector<Row> rows = {
        {"a", Liveness::Dead, true, 6500, 11},
        {"b", Liveness::Alive, true, 4500, 22},
        {"w", Liveness::Alive, false, 5500, 0},
    };
    const auto view = fd.view(Millis{7500});
    REQUIRE(view.size() == rows.size());
    for (const auto& row : rows) {
        SECTION(row.name) {
            const auto it = std::find_if(view.begin(), view.end(),
                                         [&](const vigil::MemberView& m) { return m.name == row.name; });
            REQUIRE(it != view.end());
            CHECK(it->liveness == row.liveness);
            CHECK(it->ever_heard == row.ever_heard);
            CHECK(it->silent_for == Millis{row.silent_ms});
            CHECK(it->incarnation == row.inc);
        }
    }
}

TEST_CASE("failure detector: Liveness names are distinct", "[failure_detector]") {
    const std::set<std::string> names = {vigil::to_string(Liveness::Alive),
                                         vigil::to_string(Liveness::Dead),
                                         vigil::to_string(Liveness::Departed)};
    CHECK(names.size() == 3);
    CHECK(names.count("") == 0);
}

TEST_CASE("failure detector: gossip of goodbyes and of later lives", "[failure_detector]") {
    FailureDetector fd(kTimeout, 16);
    SECTION("a goodbye we did not hear is taken, once") {
        CHECK(fd.learn_departed("x", 5));
        CHECK_FALSE(fd.learn_departed("x", 5));
        CHECK(fd.liveness("x") == Liveness::Departed);
        REQUIRE(fd.departures().size() == 1);
        CHECK(fd.departures()[0].incarnation == 5);
        CHECK(fd.newly_dead(Millis{100000}, Millis{100000}).empty());
    }
    SECTION("a goodbye of a life older than the one we heard is refused, and we report ours") {
        fd.heard("x", 9, Millis{0});
        CHECK_FALSE(fd.learn_departed("x", 5));
        CHECK(fd.liveness("x") == Liveness::Alive);
        REQUIRE(fd.lives().size() == 1);
        CHECK(fd.lives()[0].incarnation == 9);
        fd.settle({{"x", 5}});  // the leader still says so: keep correcting
        CHECK(fd.lives().size() == 1);
        fd.settle({});  // the leader no longer does: done
        CHECK(fd.lives().empty());
    }
    SECTION("a goodbye of the life we heard, or a later one, is taken") {
        fd.heard("x", 5, Millis{0});
        CHECK(fd.learn_departed("x", 7));
        CHECK(fd.liveness("x") == Liveness::Departed);
    }
    SECTION("a later life revives a departed member, which can then die") {
        fd.heard("x", 5, Millis{0});
        fd.departed("x", 5);
        CHECK_FALSE(fd.learn_life("x", 5, Millis{1000}));  // the same life: still gone
        CHECK_FALSE(fd.learn_life("x", 4, Millis{1000}));  // an older one: still gone
        CHECK(fd.learn_life("x", 6, Millis{1000}));
        CHECK(fd.liveness("x") == Liveness::Alive);
        CHECK(fd.newly_dead(Millis{1000} + kTimeout + Millis{1}, Millis{1000} + kTimeout + Millis{1}) == std::vector<std::string>{"x"});
    }
    SECTION("a late message from an older life after a goodbye is ignored") {
        fd.heard("x", 5, Millis{0});
        fd.departed("x", 6);
        CHECK(fd.heard("x", 5, Millis{10}) == Heard::Departed);
        CHECK(fd.liveness("x") == Liveness::Departed);
    }
}

TEST_CASE("failure detector: a goodbye from a sender not heard before is kept", "[failure_detector]") {
    // A node that just started hears a goodbye first; others' member lists,
    // which still name the sender, must not bring it back as alive.
    FailureDetector detector{Millis{6000}, 8};
    CHECK(detector.departed("x", 5));
    CHECK(detector.liveness("x") == Liveness::Departed);
    CHECK_FALSE(detector.learn_member("x", 5, Millis{100}));
    CHECK(detector.newly_dead(Millis{60'000}, Millis{60'000}).empty());
    CHECK(detector.dead().empty());
    CHECK(detector.heard("x", 5, Millis{200}) == FailureDetector::Heard::Departed);  // a late message of that life
    CHECK(detector.heard("x", 6, Millis{300}) != FailureDetector::Heard::Departed);  // a new life is a member again
}
