// Recovery planner: tables of (dead lists, finished, healthy, now) steps and
// the restarts each plan() must return: immediate first restart, nothing
// while in flight or booting, CrashLoopBackOff, reset after a healthy streak.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "vigil/recovery_planner.hpp"

using vigil::Millis;
using vigil::RecoveryPlanner;
using vigil::RecoveryPolicy;

namespace {

struct Step {
    enum Kind { Plan, Finished, Healthy, Unhealthy, InARow };
    Kind kind;
    long at_ms = 0;
    std::vector<std::string> names;     // Plan: the dead list; else names[0]
    std::vector<std::string> expected;  // Plan: the restarts it must return
    bool ok = true;                     // Finished
    std::uint32_t in_a_row = 0;         // InARow: expected restarts_in_a_row
};

Step plan(long at, std::vector<std::string> dead, std::vector<std::string> expected) {
    return {Step::Plan, at, std::move(dead), std::move(expected), true};
}
Step finished(long at, std::string name, bool ok) { return {Step::Finished, at, {std::move(name)}, {}, ok}; }
Step healthy(long at, std::string name) { return {Step::Healthy, at, {std::move(name)}, {}, true}; }
Step unhealthy(std::string name) { return {Step::Unhealthy, 0, {std::move(name)}, {}, true}; }
Step in_a_row(std::string name, std::uint32_t n) { return {Step::InARow, 0, {std::move(name)}, {}, true, n}; }

void run(RecoveryPlanner& planner, const std::vector<Step>& steps) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& s = steps[i];
        INFO("step " << i << " @" << s.at_ms);
        const Millis now{s.at_ms};
        switch (s.kind) {
            case Step::Plan: {
                auto got = planner.plan(s.names, now);
                std::sort(got.begin(), got.end());
                auto want = s.expected;
                std::sort(want.begin(), want.end());
                CHECK(got == want);
                break;
            }
            case Step::Finished: planner.finished(s.names[0], s.ok, now); break;
            case Step::Healthy: planner.healthy(s.names[0], now); break;
            case Step::Unhealthy: planner.unhealthy(s.names[0]); break;
            case Step::InARow: CHECK(planner.restarts_in_a_row(s.names[0]) == s.in_a_row); break;
        }
    }
}

// Polls plan() every `step_ms` while `name` stays dead, finishing each restart
// at once (ok); returns the times of the first `count` restarts.
std::vector<long> restart_times(RecoveryPlanner& planner, const std::string& name, int count,
                                long step_ms, long start_ms = 0) {
    std::vector<long> times;
    for (long t = start_ms; static_cast<int>(times.size()) < count && t < 100'000'000; t += step_ms) {
        const auto got = planner.plan({name}, Millis{t});
        if (!got.empty()) {
            times.push_back(t);
            planner.finished(name, true, Millis{t});
        }
    }
    return times;
}

}  // namespace

TEST_CASE("recovery planner: scripted restarts, default policy", "[recovery]") {
    struct Row {
        const char* name;
        std::vector<Step> steps;
    };
    // Default policy: boot grace 10 s, back-off 10 s doubling to 5 min, reset
    // after 10 min healthy.
    const std::vector<Row> rows = {
        {"first restart is immediate", {plan(0, {"a"}, {"a"})}},
        {"nothing dead, nothing to do", {plan(0, {}, {})}},
        {"several dead at once, all restarted", {plan(0, {"a", "b", "c"}, {"a", "b", "c"})}},
        {"no second restart while in flight",
         {plan(0, {"a"}, {"a"}), plan(1, {"a"}, {}), plan(60'000, {"a"}, {}), plan(3'600'000, {"a"}, {})}},
        {"in flight is per node",
         {plan(0, {"a"}, {"a"}), plan(100, {"a", "b"}, {"b"})}},
        {"no restart during boot grace after finished()",
         {plan(0, {"a"}, {"a"}), finished(1000, "a", true), plan(1001, {"a"}, {}),
          plan(10'999, {"a"}, {})}},
        {"after boot grace and back-off, restart again",
         {plan(0, {"a"}, {"a"}), finished(0, "a", true), plan(9'999, {"a"}, {}),
          plan(20'000, {"a"}, {"a"})}},
        {"second back-off is 20 s",
         {plan(0, {"a"}, {"a"}), finished(0, "a", true), plan(10'000, {"a"}, {"a"}),
          finished(10'000, "a", true), plan(29'999, {"a"}, {}), plan(30'000, {"a"}, {"a"})}},
        {"failed restart is retried, but not at once",
         {plan(0, {"a"}, {"a"}), finished(500, "a", false), plan(501, {"a"}, {}),
          plan(600'000, {"a"}, {"a"})}},
        {"a failed restart has no boot grace: retried as soon as the back-off allows",
         {plan(0, {"a"}, {"a"}), finished(500, "a", false), plan(9'999, {"a"}, {}),
          plan(10'000, {"a"}, {"a"})}},
        {"failed restarts count toward the back-off",
         {plan(0, {"a"}, {"a"}), finished(0, "a", false), plan(10'000, {"a"}, {"a"}),
          finished(10'000, "a", false), in_a_row("a", 2), plan(29'999, {"a"}, {}),
          plan(30'000, {"a"}, {"a"})}},
        {"a node no longer dead is not restarted",
         {plan(0, {"a"}, {"a"}), finished(0, "a", true), plan(50'000, {"b"}, {"b"})}},
        {"short healthy streak keeps the back-off",
         {plan(0, {"a"}, {"a"}), finished(0, "a", true), plan(10'000, {"a"}, {"a"}),
          finished(10'000, "a", true), healthy(15'000, "a"), healthy(300'000, "a"), unhealthy("a"),
          in_a_row("a", 2), plan(300'001, {"a"}, {"a"}), finished(300'001, "a", true),
          in_a_row("a", 3),
          // third in a row: 40 s back-off
          plan(340'000, {"a"}, {}), plan(340'001, {"a"}, {"a"})}},
        {"ten minutes healthy resets the back-off",
         {plan(0, {"a"}, {"a"}), finished(0, "a", true), plan(10'000, {"a"}, {"a"}),
          finished(10'000, "a", true), plan(30'000, {"a"}, {"a"}), finished(30'000, "a", true),
          in_a_row("a", 3), healthy(40'000, "a"), healthy(640'001, "a"), in_a_row("a", 0),
          unhealthy("a"),
          // a first death again: immediate, then 10 s (not 80 s) before the next
          plan(640'002, {"a"}, {"a"}), finished(640'002, "a", true), in_a_row("a", 1),
          plan(650'001, {"a"}, {}), plan(650'002, {"a"}, {"a"})}},
        {"unhealthy() ends the streak: two short streaks do not add up",
         {plan(0, {"a"}, {"a"}), finished(0, "a", true), healthy(20'000, "a"), healthy(400'000, "a"),
          unhealthy("a"), plan(400'001, {"a"}, {"a"}), finished(400'001, "a", true),
          healthy(420'000, "a"), healthy(800'000, "a"), unhealthy("a"),
          // 380 s + 380 s healthy, never 600 s in one streak: no reset
          in_a_row("a", 2), healthy(800'100, "a"), healthy(1'400'101, "a"), in_a_row("a", 0)}},
        {"unhealthy() alone ends the streak, without a plan() in between",
         {plan(0, {"a"}, {"a"}), finished(0, "a", true), healthy(20'000, "a"), healthy(300'000, "a"),
          unhealthy("a"), healthy(300'001, "a"), healthy(620'000, "a"), in_a_row("a", 1),
          healthy(900'001, "a"), in_a_row("a", 0)}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            RecoveryPlanner planner{RecoveryPolicy{}};
            run(planner, row.steps);
        }
    }
}

TEST_CASE("recovery planner: back-off sequence for a node that keeps dying", "[recovery]") {
    struct Row {
        const char* name;
        RecoveryPolicy policy;
        std::vector<long> gaps_ms;  // between consecutive restarts
    };
    const std::vector<Row> rows = {
        {"default: 10 s doubling, capped at 5 min",
         RecoveryPolicy{},
         {10'000, 20'000, 40'000, 80'000, 160'000, 300'000, 300'000, 300'000}},
        {"custom: 1 s doubling to 4 s, short boot grace",
         RecoveryPolicy{Millis{500}, Millis{1000}, Millis{4000}, Millis{60'000}},
         {1000, 2000, 4000, 4000, 4000}},
        {"boot grace longer than the back-off wins",
         RecoveryPolicy{Millis{30'000}, Millis{1000}, Millis{8000}, Millis{60'000}},
         {30'000, 30'000, 30'000}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            RecoveryPlanner planner{row.policy};
            const auto times =
                restart_times(planner, "a", static_cast<int>(row.gaps_ms.size()) + 1, 100);
            REQUIRE(times.size() == row.gaps_ms.size() + 1);
            CHECK(times[0] == 0);
            for (std::size_t i = 0; i < row.gaps_ms.size(); ++i) {
                INFO("gap " << i);
                // polled every 100 ms: the gap is the back-off, rounded up
                CHECK(times[i + 1] - times[i] >= row.gaps_ms[i]);
                CHECK(times[i + 1] - times[i] <= row.gaps_ms[i] + 100);
            }
        }
    }
}

TEST_CASE("recovery planner: queries agree with plan()", "[recovery]") {
    RecoveryPlanner planner{RecoveryPolicy{}};
    CHECK_FALSE(planner.in_flight("a"));
    CHECK(planner.restarts_in_a_row("a") == 0);
    CHECK(planner.next_allowed("a", Millis{123}) == Millis{123});  // never restarted: now

    REQUIRE(planner.plan({"a"}, Millis{0}) == std::vector<std::string>{"a"});
    CHECK(planner.in_flight("a"));
    CHECK(planner.restarts_in_a_row("a") == 1);
    CHECK_FALSE(planner.in_flight("b"));

    planner.finished("a", true, Millis{2000});
    CHECK_FALSE(planner.in_flight("a"));
    const Millis next = planner.next_allowed("a", Millis{2000});
    // boot grace ends at 12 s; the 10 s back-off at 10 s (or 12 s if measured
    // from the end of the restart)
    CHECK(next >= Millis{12'000});
    CHECK(next <= Millis{22'000});
    CHECK(planner.plan({"a"}, next - Millis{1}).empty());
    CHECK(planner.plan({"a"}, next) == std::vector<std::string>{"a"});
    CHECK(planner.restarts_in_a_row("a") == 2);
}

TEST_CASE("recovery planner: forget drops all history", "[recovery]") {
    RecoveryPlanner planner{RecoveryPolicy{}};
    planner.plan({"a"}, Millis{0});
    planner.finished("a", true, Millis{0});
    planner.plan({"a"}, Millis{10'000});
    REQUIRE(planner.in_flight("a"));
    planner.forget("a");
    CHECK_FALSE(planner.in_flight("a"));
    CHECK(planner.restarts_in_a_row("a") == 0);
    CHECK(planner.plan({"a"}, Millis{10'001}) == std::vector<std::string>{"a"});
}

// ---- the planner's state is the cluster's ----------------------------------

TEST_CASE("recovery planner: notes carry the back-off and the restarts in flight to the next leader", "[recovery]") {
    RecoveryPolicy policy;  // back-off 10 s doubling, restart timeout 30 s
    RecoveryPlanner leader{policy}, follower{policy};
    leader.plan({"z"}, Millis{0});
    leader.finished("z", true, Millis{1000});
    leader.plan({"z"}, Millis{20'000});  // in flight, 2 in a row
    for (const auto& note : leader.notes(Millis{20'500})) follower.learn(note, Millis{20'500});

    SECTION("the follower, leading next, counts on from there") {
        CHECK(follower.restarts_in_a_row("z") == 2);
        CHECK(follower.restarting("z", Millis{21'000}));
        CHECK(follower.plan({"z"}, Millis{25'000}).empty());           // still in flight elsewhere
        CHECK(follower.next_allowed("z", Millis{25'000}) >= Millis{40'000});  // the 20 s back-off, from 20 s
        // Past RESTART_TIMEOUT and the boot grace after it (30 s + 10 s from 20 s).
        CHECK(follower.plan({"z"}, Millis{59'999}).empty());
        CHECK(follower.plan({"z"}, Millis{60'001}) == std::vector<std::string>{"z"});
        CHECK(follower.restarts_in_a_row("z") == 3);
    }
    SECTION("a new life heard ends the other leader's restart") {
        follower.healthy("z", Millis{22'000}, true);
        CHECK_FALSE(follower.restarting("z", Millis{22'000}));
        // A late note of that same restart does not bring it back.
        for (const auto& note : leader.notes(Millis{21'000})) follower.learn(note, Millis{22'100});
        CHECK_FALSE(follower.restarting("z", Millis{22'100}));
    }
    SECTION("news that it finished: no more a restart's goodbye, but booting (no second restart yet)") {
        leader.finished("z", true, Millis{21'000});
        for (const auto& note : leader.notes(Millis{21'050})) follower.learn(note, Millis{21'050});
        CHECK_FALSE(follower.goodbye_is_restart("z", Millis{21'060}));  // the SIGTERM came before the end
        CHECK(follower.restarting("z", Millis{21'060}));                // it boots, as far as it knows
        CHECK(follower.plan({"z"}, Millis{45'000}).empty());             // back-off (20 s from 20 s) and boot
        follower.healthy("z", Millis{45'100}, true);                     // its new life, heard
        CHECK_FALSE(follower.restarting("z", Millis{45'100}));
    }
    SECTION("a follower's older news never lowers a leader's count") {
        RecoveryPlanner stale{policy};
        stale.learn(vigil::RestartNote{"z", 1, 30'000, false}, Millis{20'500});  // restarted at -9.5 s
        for (const auto& note : stale.notes(Millis{20'600})) leader.learn(note, Millis{20'600});
        CHECK(leader.restarts_in_a_row("z") == 2);
        CHECK(leader.in_flight("z"));
    }
}

TEST_CASE("recovery planner: a postponed restart is no crash", "[recovery]") {
    RecoveryPlanner planner{RecoveryPolicy{}};
    REQUIRE(planner.plan({"a"}, Millis{0}) == std::vector<std::string>{"a"});
    planner.postponed("a", Millis{0});
    CHECK_FALSE(planner.in_flight("a"));
    CHECK(planner.restarts_in_a_row("a") == 0);
    CHECK(planner.plan({"a"}, Millis{500}).empty());  // retried after postpone_retry (1 s)
    CHECK(planner.plan({"a"}, Millis{1000}) == std::vector<std::string>{"a"});
    CHECK(planner.restarts_in_a_row("a") == 1);  // the first restart, at once, as if never refused
}

TEST_CASE("recovery planner: a goodbye while its restart runs is part of the restart", "[recovery]") {
    RecoveryPlanner planner{RecoveryPolicy{}};
    CHECK_FALSE(planner.goodbye_is_restart("a", Millis{0}));  // never restarted: a real goodbye
    planner.plan({"a"}, Millis{0});
    CHECK(planner.goodbye_is_restart("a", Millis{100}));  // docker restart's SIGTERM
    planner.finished("a", false, Millis{200});             // ... and its start half failed
    CHECK_FALSE(planner.goodbye_is_restart("a", Millis{300}));
    CHECK(planner.plan({"a"}, Millis{10'200}) == std::vector<std::string>{"a"});  // tried again after back-off
}

TEST_CASE("recovery planner: a life heard while its restart runs does not end the boot grace", "[recovery]") {
    // The back-off alone would allow the next restart at 10 s; the boot grace
    // after the command finished (1 s) lasts until 11 s.
    RecoveryPlanner planner{RecoveryPolicy{}};
    REQUIRE(planner.plan({"a"}, Millis{0}) == std::vector<std::string>{"a"});
    planner.healthy("a", Millis{500}, true);  // perhaps a life the command then kills
    planner.finished("a", true, Millis{1000});
    SECTION("still booting at 10.5 s") { CHECK(planner.plan({"a"}, Millis{10'500}).empty()); }
    SECTION("a life heard after the command ended ends the grace") {
        planner.healthy("a", Millis{1200}, false);
        CHECK(planner.plan({"a"}, Millis{10'500}) == std::vector<std::string>{"a"});
    }
}
