// run_process: argv only, stdout captured, deadline enforced.
#include <catch2/catch.hpp>

#include "chaos_monkey/process.hpp"

using namespace std::chrono_literals;

TEST_CASE("run_process captures stdout and the exit code", "[process][unit]") {
    const auto result = example::run_process({"printf", "%s\\t%s\\n", "a b", "$(not a shell)"}, 5s, nullptr);
    CHECK(result.ok());
    CHECK(result.output == "a b\t$(not a shell)\n");

    const auto failed = example::run_process({"false"}, 5s, nullptr);
    CHECK(failed.started);
    CHECK(failed.exit_code == 1);
    CHECK_FALSE(failed.ok());
}

TEST_CASE("run_process reports a missing program", "[process][unit]") {
    const auto result = example::run_process({"/nonexistent/vigil-no-such-program"}, 5s, nullptr);
    CHECK_FALSE(result.started);
    CHECK_FALSE(result.ok());
}

TEST_CASE("run_process kills a child past its deadline and keeps calling back", "[process][unit]") {
    int callbacks = 0;
    const auto start = std::chrono::steady_clock::now();
    const auto result = example::run_process({"sleep", "30"}, 400ms, [&callbacks] { ++callbacks; });
    const auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(result.timed_out);
    CHECK_FALSE(result.ok());
    CHECK(elapsed < 5s);
    CHECK(callbacks >= 2);
}

TEST_CASE("run_process bounds the captured output", "[process][unit]") {
    const auto result = example::run_process({"head", "-c", "100000", "/dev/zero"}, 5s, nullptr, 1000);
    CHECK(result.ok());
    CHECK(result.output.size() == 1000);
}
