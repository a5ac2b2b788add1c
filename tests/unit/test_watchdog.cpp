// Watchdog (apoptosis check): unarmed until the first pulse so a long start-up
// never trips it; expired only strictly after the timeout; pulse() is safe
// from another thread.
#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "vigil/watchdog.hpp"

using vigil::Millis;
using vigil::Watchdog;

TEST_CASE("watchdog: table of pulses and checks", "[watchdog]") {
    struct Row {
        const char* name;
        std::vector<long> pulses_ms;  // pulse times, in call order
        long now_ms;
        bool armed;
        bool expired;
        std::optional<long> silent_ms;
    };
    // timeout = 1000 ms in every row
    const std::vector<Row> rows = {
        {"never pulsed, early", {}, 0, false, false, std::nullopt},
        {"never pulsed, long start-up", {}, 1'000'000, false, false, std::nullopt},
        {"just pulsed", {500}, 500, true, false, 0},
        {"half the timeout", {0}, 500, true, false, 500},
        {"exactly the timeout is not expired", {0}, 1000, true, false, 1000},
        {"one ms past the timeout", {0}, 1001, true, true, 1001},
        {"long silence", {0}, 60'000, true, true, 60'000},
        {"the latest pulse counts", {0, 900, 1800}, 2500, true, false, 700},
        {"latest pulse, then past the timeout", {0, 900, 1800}, 2801, true, true, 1001},
        {"pulse at time zero arms it", {0}, 0, true, false, 0},
        {"clock behind the pulse reads as zero silence", {5000}, 4000, true, false, 0},
        {"negative epoch times work", {-3000}, -2500, true, false, 500},
        {"negative epoch, expired", {-3000}, -1999, true, true, 1001},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            Watchdog dog{Millis{1000}};
            for (const long t : row.pulses_ms) dog.pulse(Millis{t});
            const Millis now{row.now_ms};
            CHECK(dog.armed() == row.armed);
            CHECK(dog.expired(now) == row.expired);
            const auto silent = dog.silent_for(now);
            REQUIRE(silent.has_value() == row.silent_ms.has_value());
            if (silent) CHECK(silent->count() == *row.silent_ms);
            CHECK(dog.timeout() == Millis{1000});
        }
    }
}

TEST_CASE("watchdog: zero timeout expires one ms after the pulse", "[watchdog]") {
    Watchdog dog{Millis{0}};
    dog.pulse(Millis{10});
    CHECK_FALSE(dog.expired(Millis{10}));
    CHECK(dog.expired(Millis{11}));
}

TEST_CASE("watchdog: pulse from another thread while this one checks", "[watchdog]") {
    // A smoke test for the TSan build: one writer, one reader, no data race,
    // and the reader always sees a pulse time the writer actually stored.
    Watchdog dog{Millis{50}};
    constexpr long kPulses = 20000;
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (long t = 1; t <= kPulses; ++t) dog.pulse(Millis{t});
        done.store(true, std::memory_order_release);
    });
    bool bad = false;
    while (!done.load(std::memory_order_acquire)) {
        // At now = kPulses, silence is kPulses - last pulse, in [0, kPulses - 1]
        // once armed.
        const auto silent = dog.silent_for(Millis{kPulses});
        if (silent && (silent->count() < 0 || silent->count() >= kPulses)) bad = true;
    }
    writer.join();
    CHECK_FALSE(bad);
    REQUIRE(dog.armed());
    CHECK(dog.silent_for(Millis{kPulses}) == std::optional<Millis>{Millis{0}});
    CHECK_FALSE(dog.expired(Millis{kPulses + 50}));
    CHECK(dog.expired(Millis{kPulses + 51}));
}

TEST_CASE("watchdog: a stopped process's time is not its main loop's silence", "[watchdog]") {
    // timeout 1000 ms: checks every 100 ms, a gap past 1000 ms means stopped.
    Watchdog dog{Millis{1000}};
    REQUIRE(Watchdog::max_gap_for(Millis{1000}) == Millis{1000});
    dog.pulse(Millis{0});
    for (long t = 100; t <= 600; t += 100) REQUIRE_FALSE(dog.check(Millis{t}));

    SECTION("stopped for 10 s: on resuming, only the 600 ms before the stop count") {
        CHECK_FALSE(dog.check(Millis{10'600}));
        CHECK(dog.silent_for(Millis{10'600}) == Millis{600});
        CHECK_FALSE(dog.check(Millis{10'900}));  // 900 ms of silence counted
        CHECK(dog.check(Millis{11'100}));        // then a hung main loop is still caught
    }
    SECTION("a pulse on resuming counts as usual") {
        dog.pulse(Millis{10'600});
        CHECK_FALSE(dog.check(Millis{10'600}));
        CHECK(dog.silent_for(Millis{10'700}) == Millis{100});
    }
    SECTION("checks a little late (a loaded machine) forgive nothing") {
        CHECK_FALSE(dog.check(Millis{1000}));
        CHECK(dog.check(Millis{1900}));  // 900 ms after the last check: no gap
        CHECK(dog.silent_for(Millis{1900}) == Millis{1900});
    }
    SECTION("never forgives past now") {
        dog.pulse(Millis{5000});  // a pulse stamped late, then a gap
        CHECK_FALSE(dog.check(Millis{8000}));
        CHECK(dog.silent_for(Millis{8000}) <= Millis{3000});
        CHECK(dog.silent_for(Millis{8000}) >= Millis{0});
    }
}
