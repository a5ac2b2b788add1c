// The server's idempotent bookkeeping and its progress file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "common/workload.hpp"
#include "server/result_book.hpp"

using example::RecordOutcome;
using example::ResultBook;

TEST_CASE("record: new, duplicate, conflict, unknown", "[server][unit]") {
    ResultBook book{3};
    CHECK(book.record(0, 10) == RecordOutcome::New);
    CHECK(book.record(0, 10) == RecordOutcome::Duplicate);
    CHECK(book.record(0, 11) == RecordOutcome::Conflict);
    CHECK(book.record(3, 1) == RecordOutcome::Unknown);
    CHECK(book.record(UINT64_MAX, 1) == RecordOutcome::Unknown);
    CHECK(book.done_count() == 1);
    CHECK(book.duplicates() == 1);
    CHECK(book.conflicts() == 1);
    CHECK(book.unknown() == 2);
    CHECK(book.pending() == std::vector<std::uint64_t>{1, 2});
    CHECK_FALSE(book.done());
    CHECK(book.record(2, 0) == RecordOutcome::New);
    CHECK(book.record(1, 5) == RecordOutcome::New);
    CHECK(book.done());
    CHECK(book.pending().empty());
    CHECK(book.sum() == 15);
}

TEST_CASE("a conflicting repeat never replaces the first value", "[server][unit]") {
    ResultBook a{2};
    ResultBook b{2};
    a.record(0, 1);
    a.record(1, 2);
    b.record(0, 1);
    b.record(1, 2);
    b.record(1, 99);
    CHECK(a.checksum() == b.checksum());
}

TEST_CASE("the checksum ignores arrival order and duplicates but not content", "[server][unit]") {
    const std::uint64_t size = 500;
    const ResultBook expected = example::expected_results(size);
    REQUIRE(expected.done());

    // Shuffled arrival with many duplicates, as after redeliveries.
    std::vector<std::uint64_t> arrivals;
    for (std::uint64_t id = 0; id < size; ++id) {
        arrivals.push_back(id);
        if (id % 3 == 0) {
            arrivals.push_back(id);
        }
    }
    std::mt19937_64 rng{3};
    std::shuffle(arrivals.begin(), arrivals.end(), rng);
    ResultBook book{size};
    for (const auto id : arrivals) {
        book.record(id, example::compute(example::task_input(id)).value());
    }
    CHECK(book.done());
    CHECK(book.checksum() == expected.checksum());
    CHECK(book.summary() == expected.summary());
    CHECK(book.duplicates() == (size + 2) / 3);

    // A wrong value, or a missing one, shows.
    ResultBook wrong{size};
    for (std::uint64_t id = 0; id < size; ++id) {
        wrong.record(id, id == 7 ? 0 : example::compute(example::task_input(id)).value());
    }
    CHECK(wrong.checksum() != expected.checksum());
    ResultBook missing{size};
    for (std::uint64_t id = 1; id < size; ++id) {
        missing.record(id, example::compute(example::task_input(id)).value());
    }
    CHECK(missing.checksum() != expected.checksum());
}

TEST_CASE("progress round-trips through serialize and parse", "[server][unit]") {
    ResultBook book{6};
    book.record(5, 50);
    book.record(1, 10);
    book.record(3, 0);
    std::string error;
    const auto parsed = ResultBook::parse(book.serialize(), &error);
    REQUIRE(parsed);
    CHECK(error.empty());
    CHECK(parsed->size() == 6);
    CHECK(parsed->done_count() == 3);
    CHECK(parsed->pending() == std::vector<std::uint64_t>{0, 2, 4});
    CHECK(parsed->checksum() == book.checksum());

    const auto empty = ResultBook::parse(ResultBook{4}.serialize(), &error);
    REQUIRE(empty);
    CHECK(empty->done_count() == 0);
}

TEST_CASE("parse refuses damaged progress files", "[server][unit]") {
    ResultBook book{4};
    book.record(0, 1);
    book.record(2, 3);
    const std::string good = book.serialize();
    const std::vector<std::string> bad{
        "",
        "garbage\n",
        "vigil-example-progress 1\n",                                       // no size
        "vigil-example-progress 1\nsize x\nend 0\n",                        // bad size
        "vigil-example-progress 1\nsize 99999999999\nend 0\n",              // above the maximum
        good.substr(0, good.size() - 7),                                    // truncated: no end line
        "vigil-example-progress 1\nsize 4\n0 1\n0 1\nend 2\n",              // repeated id
        "vigil-example-progress 1\nsize 4\n9 1\nend 1\n",                   // id out of range
        "vigil-example-progress 1\nsize 4\n0 1\nend 2\n",                   // count mismatch
        "vigil-example-progress 1\nsize 4\n0 -1\nend 1\n",                  // negative value
        "vigil-example-progress 1\nsize 4\n0  1\nend 1\n",                  // sloppy spacing
        "vigil-example-progress 1\nsize 4\n0 1\nend 1\n1 1\n",              // data after the end
    };
    for (const auto& text : bad) {
        INFO(text);
        std::string error;
        CHECK_FALSE(ResultBook::parse(text, &error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("the summary names the count and the checksum", "[server][unit]") {
    const auto summary = example::expected_results(10).summary();
    CHECK(summary.find("tasks 10\n") != std::string::npos);
    CHECK(summary.find("results 10\n") != std::string::npos);
    CHECK(summary.find("checksum " + example::expected_results(10).checksum_hex() + "\n") != std::string::npos);
}
