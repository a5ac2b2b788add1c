// The supervised line-reading child with real processes (sh): whole lines
// only, over-long ones dropped and counted, restarts with back-off (on a
// clock the test drives where the schedule is the point), news once per
// outage, a program that cannot start, and stop() ending the whole process
// group. Every wait is a bounded loop.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "line_child.hpp"

using vigil::LineChild;
using vigil::Millis;

namespace {

Millis now_ms() {
    return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now().time_since_epoch());
}

std::vector<std::string> sh(const std::string& script) { return {"sh", "-c", script}; }

// Polls `child` at `clock()` until done() or 10 s of real time; the lines read.
std::vector<std::string> poll_until(LineChild& child, const std::function<bool()>& done,
                                    const std::function<Millis()>& clock = now_ms) {
    std::vector<std::string> lines;
    const Millis give_up = now_ms() + Millis{10000};
    while (!done() && now_ms() < give_up) {
        for (auto& line : child.poll(clock())) lines.push_back(std::move(line));
        if (!done()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return lines;
}

// Polls at a fixed `at` until the run started there has ended.
void run_to_end(LineChild& child, Millis at) {
    const auto starts = child.starts();
    child.poll(at);
    REQUIRE(child.starts() == starts + 1);
    poll_until(child, [&] { return !child.running(); }, [at] { return at; });
    REQUIRE_FALSE(child.running());
}

// The child's first line (started by the first poll), or "" after 10 s.
std::string first_line(LineChild& child) {
    std::vector<std::string> lines;
    poll_until(child, [&] {
        for (auto& line : child.poll(now_ms())) lines.push_back(std::move(line));
        return !lines.empty();
    });
    return lines.empty() ? "" : lines.front();
}

std::vector<std::string> all_news(LineChild& child) {
    std::vector<std::string> news;
    while (auto one = child.take_news()) news.push_back(std::move(*one));
    return news;
}

bool gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

bool becomes_gone(pid_t pid) {
    for (int i = 0; i < 500; ++i) {  // killed with the group; init reaps it
        if (gone(pid)) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

}  // namespace

TEST_CASE("line_child: lines come whole, a partial line waits for the rest", "[line_child]") {
    LineChild child{sh("printf 'one\\ntw'; sleep 0.2; printf 'o\\n\\nthree'"), Millis{100}, Millis{100}, 1024};
    const auto lines = poll_until(child, [&] { return child.starts() == 1 && !child.running(); });
    // The last line needs no newline: the end of the output ends it.
    CHECK(lines == std::vector<std::string>{"one", "two", "", "three"});
    CHECK(child.dropped_lines() == 0);
}

TEST_CASE("line_child: works in a daemon that closed its stdin and stdout", "[line_child]") {
    // The pipe then lands on fds 0 and 1, where the child's own stdin and stdout go:
    // its write end must still become the child's stdout.
    const int saved_stdin = dup(STDIN_FILENO);
    const int saved_stdout = dup(STDOUT_FILENO);
    close(STDIN_FILENO);
    close(STDOUT_FILENO);
    std::vector<std::string> lines;
    {
        LineChild child{sh("echo ok"), Millis{100}, Millis{100}, 1024};
        lines = poll_until(child, [&] { return child.starts() == 1 && !child.running(); });
    }
    dup2(saved_stdin, STDIN_FILENO);
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdin);
    close(saved_stdout);
    CHECK(lines == std::vector<std::string>{"ok"});
}

TEST_CASE("line_child: an over-long line is dropped and counted, its neighbours kept", "[line_child]") {
    SECTION("followed by a newline") {
        LineChild child{sh("echo a; head -c 5000 /dev/zero | tr '\\0' x; echo; echo b; printf '%1024s\\n' | tr ' ' y"),
                        Millis{100}, Millis{100}, 1024};
        const auto lines = poll_until(child, [&] { return child.starts() == 1 && !child.running(); });
        REQUIRE(lines.size() == 3);
        CHECK(lines[0] == "a");
        CHECK(lines[1] == "b");
        CHECK(lines[2] == std::string(1024, 'y'));  // exactly the limit is not over it
        CHECK(child.dropped_lines() == 1);
    }
    SECTION("cut off by the end of the output") {
        LineChild child{sh("echo a; head -c 5000 /dev/zero | tr '\\0' x"), Millis{100}, Millis{100}, 1024};
        const auto lines = poll_until(child, [&] { return child.starts() == 1 && !child.running(); });
        CHECK(lines == std::vector<std::string>{"a"});
        CHECK(child.dropped_lines() == 1);
    }
}

TEST_CASE("line_child: a child that exits is restarted after back-off, the outage news once", "[line_child]") {
    LineChild child{sh("echo hi; exit 1"), Millis{50}, Millis{200}, 1024};
    const auto lines = poll_until(child, [&] { return child.starts() >= 3 && !child.running(); });
    REQUIRE(child.starts() >= 3);
    CHECK(lines.size() == child.starts());
    CHECK(lines.front() == "hi");
    CHECK(all_news(child) == std::vector<std::string>{"sh exited (exit 1); retrying in 50 ms"});
}

TEST_CASE("line_child: the back-off doubles to its cap, and a healthy run resets it", "[line_child]") {
    LineChild child{sh("exit 1"), Millis{100}, Millis{400}, 1024};
    CHECK(child.next_due(Millis{0}) == Millis{0});  // due at once: never started
    run_to_end(child, Millis{0});
    CHECK(child.next_due(Millis{0}) == Millis{100});
    child.poll(Millis{99});
    CHECK(child.starts() == 1);  // not before it is due
    run_to_end(child, Millis{100});
    CHECK(child.next_due(Millis{100}) == Millis{300});
    run_to_end(child, Millis{300});
    CHECK(child.next_due(Millis{300}) == Millis{700});
    run_to_end(child, Millis{700});
    CHECK(child.next_due(Millis{700}) == Millis{1100});  // capped at 400
    CHECK(all_news(child) == std::vector<std::string>{"sh exited (exit 1); retrying in 100 ms"});
}

TEST_CASE("line_child: a healthy run resets the back-off, a restarted child that stays up is news once",
          "[line_child]") {
    // The first run fails, the later ones stay up until they are stopped (or 0.3 s pass).
    const std::string marker = "/tmp/vigil-line-child-test-" + std::to_string(getpid());
    std::remove(marker.c_str());
    LineChild child{sh("if [ -e " + marker + " ]; then sleep 0.3; exit 2; fi; touch " + marker + "; exit 1"),
                    Millis{100}, Millis{400}, 1024};
    run_to_end(child, Millis{0});
    CHECK(child.next_due(Millis{0}) == Millis{100});

    child.poll(Millis{100});
    REQUIRE(child.running());
    CHECK(child.fd() >= 0);
    CHECK(child.next_due(Millis{100}) == Millis{100} + LineChild::kReapCheckInterval);
    // Up for kHealthyAfter (the test's clock): recovered, and the back-off starts over.
    const Millis later = Millis{100} + LineChild::kHealthyAfter;
    child.poll(later);
    CHECK(child.running());
    poll_until(child, [&] { return !child.running(); }, [later] { return later; });
    std::remove(marker.c_str());
    REQUIRE_FALSE(child.running());
    CHECK(child.fd() == -1);
    CHECK(child.next_due(later) == later + Millis{100});
    CHECK(all_news(child) == std::vector<std::string>{"sh exited (exit 1); retrying in 100 ms", "sh running again",
                                                      "sh exited (exit 2); retrying in 100 ms"});
}

TEST_CASE("line_child: a program that cannot start is an outage with back-off, not a crash", "[line_child]") {
    LineChild child{{"/nonexistent/vigil-line-child", "--flag"}, Millis{100}, Millis{400}, 1024};
    CHECK(child.poll(Millis{0}).empty());
    CHECK_FALSE(child.running());
    CHECK(child.fd() == -1);
    CHECK(child.starts() == 0);
    CHECK(child.next_due(Millis{0}) == Millis{100});
    CHECK(child.poll(Millis{100}).empty());
    CHECK(child.next_due(Millis{100}) == Millis{300});
    CHECK(all_news(child) ==
          std::vector<std::string>{"vigil-line-child cannot start (No such file or directory); retrying in 100 ms"});
}

TEST_CASE("line_child: a child that ends while its own child holds the pipe is reaped, the group killed",
          "[line_child]") {
    LineChild child{sh("sleep 30 & echo $!; exit 3"), Millis{100}, Millis{100}, 1024};
    const auto lines = poll_until(child, [&] { return child.starts() == 1 && !child.running(); });
    REQUIRE(lines.size() == 1);
    CHECK(becomes_gone(std::stoi(lines[0])));
    CHECK(all_news(child) == std::vector<std::string>{"sh exited (exit 3); retrying in 100 ms"});
}

TEST_CASE("line_child: stop() ends the whole process group promptly, for good", "[line_child]") {
    SECTION("a child that leaves on SIGTERM, with its own child") {
        LineChild child{sh("sleep 30 & echo $!; sleep 30"), Millis{100}, Millis{100}, 1024};
        const pid_t grandchild = std::stoi(first_line(child));
        const Millis stopping = now_ms();
        child.stop();
        CHECK(now_ms() - stopping < Millis{1000});
        CHECK_FALSE(child.running());
        CHECK(child.fd() == -1);
        CHECK(becomes_gone(grandchild));
        CHECK(child.poll(now_ms() + Millis{100000}).empty());
        CHECK(child.starts() == 1);  // not started again
        CHECK(child.next_due(now_ms()) == Millis::max());
        CHECK(all_news(child).empty());
    }
    SECTION("a child that ignores SIGTERM: killed after the grace period") {
        LineChild child{sh("trap '' TERM; echo $$; while :; do sleep 0.05; done"), Millis{100}, Millis{100}, 1024};
        const pid_t leader = std::stoi(first_line(child));
        const Millis stopping = now_ms();
        child.stop();
        CHECK(now_ms() - stopping < Millis{3000});
        CHECK(gone(leader));  // reaped by stop()
    }
    SECTION("by the destructor") {
        pid_t leader = 0;
        {
            LineChild child{sh("echo $$; sleep 30"), Millis{100}, Millis{100}, 1024};
            leader = std::stoi(first_line(child));
        }
        CHECK(gone(leader));
    }
}
