// Example settings: environment first, then the INI file, strictly parsed.
#include <catch2/catch.hpp>

#include "common/settings.hpp"

using example::Settings;

TEST_CASE("environment wins over the INI file, which wins over the default", "[settings][unit]") {
    const Settings settings{{{"WORKLOAD_SIZE", "50"}, {"EMPTY", "  "}},
                            {{"WORKLOAD_SIZE", "70"}, {"CHAOS_ENABLED", "true"}, {"EMPTY", "x"}}};
    CHECK(settings.get_uint("WORKLOAD_SIZE", 1, 1, 100) == 50);
    CHECK(settings.get_bool("CHAOS_ENABLED", false));
    CHECK(settings.get_uint("MISSING", 9, 1, 100) == 9);
    CHECK(settings.get_string("EMPTY", "d") == "x");  // empty env counts as unset
}

TEST_CASE("bad values throw ConfigError naming the key", "[settings][unit]") {
    const Settings settings{{{"N", "12abc"}, {"BIG", "101"}, {"FLAG", "maybe"}, {"NEG", "-1"}}, {}};
    CHECK_THROWS_WITH(settings.get_uint("N", 1, 1, 100), Catch::Contains("N"));
    CHECK_THROWS_AS(settings.get_uint("BIG", 1, 1, 100), vigil::ConfigError);
    CHECK_THROWS_AS(settings.get_uint("NEG", 1, 0, 100), vigil::ConfigError);
    CHECK_THROWS_WITH(settings.get_bool("FLAG", false), Catch::Contains("FLAG"));
}

TEST_CASE("booleans accept the usual spellings", "[settings][unit]") {
    for (const char* yes : {"true", "TRUE", "1", "yes", "on"}) {
        CHECK(Settings({{"B", yes}}, {}).get_bool("B", false));
    }
    for (const char* no : {"false", "False", "0", "no", "off"}) {
        CHECK_FALSE(Settings({{"B", no}}, {}).get_bool("B", true));
    }
}

TEST_CASE("parse_uint takes whole unsigned numbers only", "[settings][unit]") {
    CHECK(example::parse_uint("0") == std::optional<std::uint64_t>{0});
    CHECK(example::parse_uint("18446744073709551615") == std::optional<std::uint64_t>{UINT64_MAX});
    CHECK_FALSE(example::parse_uint("18446744073709551616"));
    CHECK_FALSE(example::parse_uint(""));
    CHECK_FALSE(example::parse_uint(" 1"));
    CHECK_FALSE(example::parse_uint("+1"));
    CHECK_FALSE(example::parse_uint("1.0"));
}
