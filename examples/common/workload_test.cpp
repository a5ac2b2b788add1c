// The workload and the data-plane message formats: exact, and decoders that
// drop anything odd without throwing.
#include <catch2/catch.hpp>

#include "common/workload.hpp"

using example::Result;
using example::Task;

TEST_CASE("compute is the Collatz stopping time, bounded to its input range", "[workload][unit]") {
    CHECK(example::compute(1) == std::optional<std::uint64_t>{0});
    CHECK(example::compute(6) == std::optional<std::uint64_t>{8});
    CHECK(example::compute(27) == std::optional<std::uint64_t>{111});
    CHECK(example::compute(837799) == std::optional<std::uint64_t>{524});
    CHECK_FALSE(example::compute(0));
    CHECK_FALSE(example::compute(example::kMaxTaskInput + 1));
    CHECK_FALSE(example::compute(UINT64_MAX));
}

TEST_CASE("task inputs are deterministic and in range", "[workload][unit]") {
    for (std::uint64_t id = 0; id < 10000; ++id) {
        const auto input = example::task_input(id);
        REQUIRE(input >= 1);
        REQUIRE(input <= example::kMaxTaskInput);
        REQUIRE(example::compute(input));
    }
    CHECK(example::task_input(12345) == example::task_input(12345));
}

TEST_CASE("tasks and results round-trip", "[workload][unit]") {
    const Task task{17, 434213};
    CHECK(example::decode_task(example::encode_task(task)) == task);
    const Result result{UINT64_MAX, 0};
    CHECK(example::decode_result(example::encode_result(result)) == result);
}

TEST_CASE("malformed bodies are dropped, never thrown", "[workload][unit]") {
    const std::vector<std::string> bad{
        "",
        "{",
        "null",
        "[1,2]",
        "{\"id\":1}",
        "{\"id\":1,\"value\":2,\"extra\":3}",
        "{\"id\":-1,\"value\":2}",
        "{\"id\":1.5,\"value\":2}",
        "{\"id\":\"1\",\"value\":2}",
        "{\"id\":1,\"value\":true}",
        "{\"id\":1,\"vaule\":2}",
        "{\"id\":184467440737095516160,\"value\":2}",  // above 2^64
        std::string("{\"id\":1,\"value\":2}\0trailing", 27),
        "{\"id\":1,\"value\":" + std::string(2000, '1') + "}",  // huge body
    };
    for (const auto& body : bad) {
        INFO(body);
        CHECK_FALSE(example::decode_result(body));
    }
    CHECK_FALSE(example::decode_task("{\"id\":1,\"value\":2}"));  // a result is not a task
    CHECK_FALSE(example::decode_task("{\"id\":1,\"input\":{}}"));
}
