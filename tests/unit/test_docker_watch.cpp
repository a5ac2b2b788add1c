// The Docker adapters against fake `docker` programs: shell scripts in a
// temporary directory put first in PATH. The event stream's deaths, its
// restart and news, an absent Docker CLI, an over-long line; inspect's
// states despite exit 1, its timeout (the whole group killed), and its
// failures. Every wait is a bounded loop.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "docker_signals.hpp"
#include "docker_watch.hpp"

using vigil::ContainerEvent;
using vigil::DockerEvents;
using vigil::DockerInspect;
using vigil::Millis;

namespace {

Millis now_ms() {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
}

// A temporary directory first in PATH, holding a fake `docker` (or, with no
// script, no docker at all: PATH is that empty directory alone). The fake
// finds its directory as $(dirname "$0"), to leave files for the test there.
class FakeDocker {
public:
    explicit FakeDocker(const std::string& script = "") {
        std::string pattern = (std::filesystem::temp_directory_path() / "vigil-fake-docker-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        dir_ = pattern;
        const char* path = std::getenv("PATH");
        old_path_ = path != nullptr ? path : "";
        if (script.empty()) {
            setenv("PATH", dir_.c_str(), 1);
            return;
        }
        std::ofstream(dir_ + "/docker") << "#!/bin/sh\nhere=$(dirname \"$0\")\n" << script << "\n";
        chmod((dir_ + "/docker").c_str(), 0755);
        setenv("PATH", (dir_ + ":" + old_path_).c_str(), 1);
    }
    ~FakeDocker() {
        setenv("PATH", old_path_.c_str(), 1);
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    FakeDocker(const FakeDocker&) = delete;
    FakeDocker& operator=(const FakeDocker&) = delete;

    // A file the fake left, "" if none.
    std::string read(const std::string& name) const {
        std::ifstream in(dir_ + "/" + name);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    std::string dir_;
    std::string old_path_;
};

// Polls until done() or 10 s.
void poll_until(const std::function<void()>& poll, const std::function<bool()>& done) {
    const Millis give_up = now_ms() + Millis{10000};
    while (!done() && now_ms() < give_up) {
        poll();
        if (!done()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::vector<std::string> all_news(DockerEvents& events) {
    std::vector<std::string> news;
    while (auto one = events.take_news()) news.push_back(std::move(*one));
    return news;
}

std::optional<DockerInspect::Result> inspect(DockerInspect& inspector, const std::vector<std::string>& names) {
    REQUIRE(inspector.start(names, now_ms()));
    std::optional<DockerInspect::Result> result;
    poll_until([&] { result = inspector.poll(now_ms()); }, [&] { return result.has_value(); });
    return result;
}

bool becomes_gone(pid_t pid) {
    for (int i = 0; i < 500; ++i) {  // killed with the group; init reaps it
        if (kill(pid, 0) != 0 && errno == ESRCH) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

std::string die(const std::string& name, int exit_code, long long seconds) {
    return R"({"Type":"container","Action":"die","Actor":{"ID":"id-)" + name + R"(","Attributes":{"exitCode":")" +
           std::to_string(exit_code) + R"(","name":")" + name + R"("}},"time":)" + std::to_string(seconds) +
           R"(,"timeNano":)" + std::to_string(seconds) + "250000000}";
}

}  // namespace

TEST_CASE("docker events: deaths delivered, the stream restarted after back-off, the outage news once",
          "[docker_watch]") {
    // Two deaths of watched containers, one of another, a line of garbage; then docker exits 1.
    const FakeDocker docker{"echo \"$@\" > \"$here/argv\"\n"
                            "echo '" + die("web", 137, 1796427160) + "'\n"
                            "echo '" + die("other", 1, 1796427161) + "'\n"
                            "echo 'not json'\n"
                            "echo '" + die("db", 1, 1796427162) + "'\n"
                            "exit 1"};
    DockerEvents events{{"web", "db"}, "", Millis{50}, Millis{200}};
    std::vector<ContainerEvent> exits;
    poll_until([&] { for (auto& exit : events.poll(now_ms())) exits.push_back(std::move(exit)); },
               [&] { return exits.size() >= 6; });  // three runs
    REQUIRE(exits.size() >= 6);
    CHECK(exits[0].name == "web");
    CHECK(exits[0].exit_code == 137);
    CHECK(exits[0].wall_ms == 1796427160250);
    CHECK(exits[0].id == "id-web");
    CHECK(exits[1].name == "db");
    CHECK(exits[1].exit_code == 1);
    CHECK(exits[2].name == "web");
    CHECK(events.unreadable_lines() >= 3);  // one 'not json' a run; "other" is not unreadable, only not ours
    CHECK(all_news(events) == std::vector<std::string>{"docker events exited (exit 1); retrying in 50 ms"});
    CHECK(docker.read("argv") ==
          "events --format {{json .}} --filter type=container --filter event=die --filter event=start "
          "--filter container=web --filter container=db\n");
}

TEST_CASE("docker events: no Docker CLI is an outage with back-off, not a crash", "[docker_watch]") {
    const FakeDocker no_docker;
    DockerEvents events{{"web"}, ""};
    CHECK(events.poll(Millis{0}).empty());
    CHECK_FALSE(events.running());
    CHECK(events.fd() == -1);
    CHECK(events.next_due(Millis{0}) == Millis{1000});
    CHECK(events.poll(Millis{1000}).empty());
    CHECK(events.next_due(Millis{1000}) == Millis{3000});
    CHECK(all_news(events) ==
          std::vector<std::string>{"docker events cannot start (No such file or directory); retrying in 1 s"});
}

TEST_CASE("docker events: names given but none valid: nothing runs, and that is said once", "[docker_watch]") {
    const FakeDocker docker{"touch \"$here/ran\"; exit 1"};
    DockerEvents events{{"-rf", "a b"}, "app=shop"};
    CHECK(events.poll(Millis{0}).empty());
    CHECK_FALSE(events.running());
    CHECK(events.next_due(Millis{0}) == Millis::max());
    CHECK(all_news(events) ==
          std::vector<std::string>{"docker events: none of the container names is valid; not watching"});
    CHECK(events.poll(Millis{100000}).empty());
    CHECK(all_news(events).empty());
    CHECK(docker.read("ran").empty());
}

TEST_CASE("docker events: an over-long line is dropped and counted, the next death still read", "[docker_watch]") {
    const FakeDocker docker{"head -c 70000 /dev/zero | tr '\\0' x; echo\n"
                            "echo '" + die("web", 2, 1796427160) + "'\n"
                            "exec sleep 30"};
    DockerEvents events{{}, ""};
    std::vector<ContainerEvent> exits;
    poll_until([&] { for (auto& exit : events.poll(now_ms())) exits.push_back(std::move(exit)); },
               [&] { return !exits.empty(); });
    REQUIRE(exits.size() == 1);
    CHECK(exits[0].name == "web");
    CHECK(events.unreadable_lines() == 1);
    CHECK(events.running());
    CHECK(events.fd() >= 0);
    events.stop();
    CHECK_FALSE(events.running());
    CHECK(all_news(events).empty());
}

TEST_CASE("docker inspect: printed states are valid even when docker exits 1 for a missing name", "[docker_watch]") {
    const FakeDocker docker{
        "echo \"$@\" > \"$here/argv\"\n"
        "echo '\"/web\" {\"Status\":\"running\",\"Running\":true,\"Pid\":42,\"ExitCode\":0,"
        "\"StartedAt\":\"2026-12-04T23:31:05.123456789Z\",\"FinishedAt\":\"0001-01-01T00:00:00Z\"}'\n"
        "echo '\"/db\" {\"Status\":\"exited\",\"Running\":false,\"Pid\":0,\"ExitCode\":137,"
        "\"StartedAt\":\"2026-12-04T23:31:05Z\",\"FinishedAt\":\"2026-12-04T23:31:06Z\"}'\n"
        "echo\n"
        "echo 'Error: No such object: gone' >&2\n"
        "exit 1"};
    DockerInspect inspector;
    const auto result = inspect(inspector, {"web", "db", "gone", "-rf"});
    REQUIRE(result);
    CHECK(result->ok);
    CHECK(result->error == "exit 1");
    CHECK(result->unreadable_lines == 0);
    REQUIRE(result->states.size() == 2);
    CHECK(result->states[0].name == "web");
    CHECK(result->states[0].status == "running");
    CHECK(result->states[0].started_wall_ms == 1796427065123);
    CHECK(result->states[0].finished_wall_ms == 0);
    CHECK(result->states[1].name == "db");
    CHECK(result->states[1].exit_code == 137);
    CHECK(docker.read("argv") == "inspect --type container --format {{json .Name}} {{json .State}} -- web db gone\n");
    CHECK_FALSE(inspector.busy());
    CHECK(inspector.fd() == -1);
}

TEST_CASE("docker inspect: a hanging docker is killed with its whole process group at the timeout",
          "[docker_watch]") {
    const FakeDocker docker{"sleep 30 & echo $! > \"$here/pid\"; sleep 30"};
    DockerInspect inspector{Millis{300}};
    const Millis started = now_ms();
    const auto result = inspect(inspector, {"web"});
    REQUIRE(result);
    CHECK_FALSE(result->ok);
    CHECK(result->error == "timed out after 300 ms");
    CHECK(now_ms() - started < Millis{5000});
    const std::string pid = docker.read("pid");
    REQUIRE_FALSE(pid.empty());
    CHECK(becomes_gone(std::stoi(pid)));
}

TEST_CASE("docker inspect: runs that fail, and runs with nothing to ask", "[docker_watch]") {
    SECTION("no Docker CLI") {
        const FakeDocker no_docker;
        DockerInspect inspector;
        const auto result = inspect(inspector, {"web"});
        REQUIRE(result);
        CHECK_FALSE(result->ok);
        CHECK(result->error == "cannot run docker: No such file or directory");
    }
    SECTION("exit 1 with nothing readable (the daemon is down)") {
        const FakeDocker docker{"echo; echo 'Cannot connect to the Docker daemon'; exit 1"};
        DockerInspect inspector;
        const auto result = inspect(inspector, {"web"});
        REQUIRE(result);
        CHECK_FALSE(result->ok);
        CHECK(result->error == "exit 1");
        CHECK(result->unreadable_lines == 1);
        CHECK(result->states.empty());
    }
    SECTION("killed by a signal") {
        const FakeDocker docker{"kill -9 $$"};
        DockerInspect inspector;
        const auto result = inspect(inspector, {"web"});
        REQUIRE(result);
        CHECK_FALSE(result->ok);
        CHECK(result->error == "signal 9");
    }
    SECTION("more output than any real answer: killed") {
        const FakeDocker docker{"head -c 5000000 /dev/zero | tr '\\0' x; sleep 30"};
        DockerInspect inspector;
        const auto result = inspect(inspector, {"web"});
        REQUIRE(result);
        CHECK_FALSE(result->ok);
        CHECK(result->error == "printed over 4194304 bytes");
    }
    SECTION("no valid name: ok and empty, docker not run") {
        const FakeDocker docker{"touch \"$here/ran\""};
        DockerInspect inspector;
        const auto result = inspect(inspector, {"-rf", ""});
        REQUIRE(result);
        CHECK(result->ok);
        CHECK(result->states.empty());
        CHECK(docker.read("ran").empty());
    }
    SECTION("one run at a time") {
        const FakeDocker docker{"sleep 0.2"};
        DockerInspect inspector;
        REQUIRE(inspector.start({"web"}, now_ms()));
        CHECK(inspector.busy());
        CHECK_FALSE(inspector.start({"db"}, now_ms()));
        std::optional<DockerInspect::Result> result;
        poll_until([&] { result = inspector.poll(now_ms()); }, [&] { return result.has_value(); });
        REQUIRE(result);
        CHECK(result->ok);  // exit 0, nothing printed
        CHECK(inspector.start({"db"}, now_ms()));
    }
}

TEST_CASE("docker signals: states and events as the core takes them", "[docker_watch]") {
    const Millis steady{500000};
    const std::int64_t wall = 1796427160000;
    struct Row {
        const char* status;
        std::int64_t finished;
        bool exited;
    };
    for (const Row& row : {Row{"exited", wall - 2000, true}, Row{"dead", wall - 2000, true},
                           Row{"exited", 0, false}, Row{"running", wall - 2000, false},
                           Row{"restarting", wall - 2000, false}, Row{"paused", 0, false},
                           Row{"created", 0, false}}) {
        INFO(row.status << " finished " << row.finished);
        const auto observed = vigil::observation_of(vigil::ContainerState{"db", row.status, 1, row.finished, 0},
                                                    steady, wall);
        REQUIRE(observed.has_value() == row.exited);
        if (observed) {
            CHECK(observed->kind == vigil::Observation::Kind::ContainerExited);
            CHECK(observed->at == steady - Millis{2000});  // on the steady clock
        }
    }
    const auto died = vigil::observation_of(ContainerEvent{"web", wall - 30, 137, "id"}, steady, wall);
    CHECK(died.kind == vigil::Observation::Kind::ContainerExited);
    CHECK(died.at == steady - Millis{30});
    const auto started = vigil::observation_of(ContainerEvent{"web", 0, -1, "id", true}, steady, wall);
    CHECK(started.kind == vigil::Observation::Kind::ContainerStarted);
    CHECK(started.at == steady);  // no time given: now
}

TEST_CASE("docker signals: the leader follows the events and reconciles every member once the stream runs",
          "[docker_watch]") {
    const FakeDocker docker{"case \"$1\" in\n"
                            "events) echo \"{\\\"Type\\\":\\\"container\\\",\\\"Action\\\":\\\"die\\\",\\\"Actor\\\":{\\\"ID\\\":\\\"x\\\","
                            "\\\"Attributes\\\":{\\\"exitCode\\\":\\\"137\\\",\\\"name\\\":\\\"web\\\"}},\\\"time\\\":$(date +%s)}\"\n"
                            "  exec sleep 30 ;;\n"
                            "inspect) echo \"\\\"/db\\\" {\\\"Status\\\":\\\"exited\\\",\\\"StartedAt\\\":\\\"2026-01-01T00:00:00Z\\\","
                            "\\\"FinishedAt\\\":\\\"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)\\\",\\\"ExitCode\\\":137}\"\n"
                            "  echo '\"/web\" {\"Status\":\"running\",\"StartedAt\":\"2026-01-01T00:00:00Z\","
                            "\"FinishedAt\":\"0001-01-01T00:00:00Z\",\"ExitCode\":0}' ;;\n"
                            "esac\n"};
    vigil::DockerSignals signals({"web", "db"}, "");
    const auto members = [] { return std::vector<std::string>{"web", "db"}; };
    CHECK(signals.poll(false, members, now_ms()).empty());  // a follower follows nothing
    CHECK_FALSE(signals.following());
    std::vector<vigil::Observation> seen;
    poll_until(
        [&] {
            for (auto& o : signals.poll(true, members, now_ms())) seen.push_back(std::move(o));
        },
        [&] { return seen.size() >= 2; });
    REQUIRE(seen.size() == 2);
    CHECK(signals.following());
    for (const auto& o : seen) {
        INFO(o.name);
        CHECK(o.kind == vigil::Observation::Kind::ContainerExited);
        CHECK((o.name == "web" || o.name == "db"));
        CHECK(o.at <= now_ms() + Millis{50});
        CHECK(o.at > now_ms() - Millis{5000});  // Docker's "now", on our clock
    }
    CHECK(signals.poll(false, members, now_ms()).empty());  // stepped down: the stream stops
    CHECK_FALSE(signals.following());
    bool said = false;
    while (const auto news = signals.take_news()) said = said || news->find("not leading") != std::string::npos;
    CHECK(said);
}
