// The restart adapter with real child processes: success and failure, a
// command that cannot start, the timeout that kills the command's whole
// process group, and the bound on restarts in flight (a postponement, never
// a failure of the node). Every wait is bounded.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "restarter.hpp"

using vigil::Millis;
using vigil::RestartBackend;
using vigil::RestartConfig;
using vigil::Restarter;

namespace {

RestartConfig command(std::vector<std::string> argv, Millis timeout = Millis{10000}) {
    RestartConfig c;
    c.backend = RestartBackend::Command;
    c.command = std::move(argv);
    c.timeout = timeout;
    return c;
}

Millis now_ms() {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
}

// Polls the restarter until `count` commands have finished, for at most 10 s.
std::vector<Restarter::Finished> finish(Restarter& restarter, std::size_t count) {
    std::vector<Restarter::Finished> done;
    for (int i = 0; i < 1000 && done.size() < count; ++i) {
        for (auto& f : restarter.poll(now_ms())) done.push_back(std::move(f));
        if (done.size() < count) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done;
}

bool gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

TEST_CASE("restarter: the command's exit status is the restart's outcome", "[restarter]") {
    struct Row {
        const char* name;
        std::vector<std::string> argv;
        bool ok;
        const char* detail;
    };
    const std::vector<Row> rows = {
        {"exit 0", {"sh", "-c", "exit 0", "{name}"}, true, "exit 0"},
        {"exit 3", {"sh", "-c", "exit 3", "{name}"}, false, "exit 3"},
        {"killed by a signal", {"sh", "-c", "kill -9 $$", "{name}"}, false, "signal 9"},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            Restarter restarter{command(row.argv)};
            std::string why;
            REQUIRE(restarter.start("w", now_ms(), why) == Restarter::Start::Started);
            const auto done = finish(restarter, 1);
            REQUIRE(done.size() == 1);
            CHECK(done[0].name == "w");
            CHECK(done[0].ok == row.ok);
            CHECK(done[0].detail == row.detail);
        }
    }
}

TEST_CASE("restarter: a command that cannot start is a failure, with the reason", "[restarter]") {
    Restarter restarter{command({"/nonexistent/vigil-restart", "{name}"})};
    std::string why;
    CHECK(restarter.start("w", now_ms(), why) == Restarter::Start::Failed);
    CHECK(why.find("/nonexistent/vigil-restart") != std::string::npos);
}

TEST_CASE("restarter: a hanging command is killed with its whole process group at RESTART_TIMEOUT", "[restarter]") {
    const std::string pid_file = "/tmp/vigil-restarter-test-" + std::to_string(getpid());
    // The child forks a grandchild (as `docker restart` may) and both hang.
    Restarter restarter{command({"sh", "-c", "sleep 30 & echo $! > " + pid_file + "; sleep 30", "{name}"},
                               Millis{300})};
    std::string why;
    const Millis started = now_ms();
    REQUIRE(restarter.start("w", started, why) == Restarter::Start::Started);
    const auto done = finish(restarter, 1);
    REQUIRE(done.size() == 1);
    CHECK_FALSE(done[0].ok);
    CHECK(done[0].detail == "timed out");
    CHECK(now_ms() - started < Millis{5000});
    pid_t grandchild = 0;
    std::ifstream(pid_file) >> grandchild;
    std::remove(pid_file.c_str());
    REQUIRE(grandchild > 0);
    bool reaped = false;
    for (int i = 0; i < 200 && !reaped; ++i) {  // killed by the group kill; init reaps it
        reaped = gone(grandchild);
        if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(reaped);
}

TEST_CASE("restarter: no room, or one of that name running: postponed, not failed", "[restarter]") {
    Restarter restarter{command({"sh", "-c", "sleep 0.5", "{name}"})};
    std::string why;
    for (std::size_t i = 0; i < Restarter::kMaxInFlight; ++i) {
        REQUIRE(restarter.start("n" + std::to_string(i), now_ms(), why) == Restarter::Start::Started);
    }
    CHECK(restarter.start("n99", now_ms(), why) == Restarter::Start::Postponed);
    CHECK(why.find("in flight") != std::string::npos);
    CHECK(restarter.start("n0", now_ms(), why) == Restarter::Start::Postponed);
    CHECK(why.find("still running") != std::string::npos);
    const auto done = finish(restarter, Restarter::kMaxInFlight);
    CHECK(done.size() == Restarter::kMaxInFlight);
    CHECK(restarter.start("n99", now_ms(), why) == Restarter::Start::Started);
    CHECK(finish(restarter, 1).size() == 1);
}
