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
