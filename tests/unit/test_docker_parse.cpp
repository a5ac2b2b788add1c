// The pure half of the Docker adapters: `docker events` and `docker inspect`
// output read into values (bad input is nothing, never a crash), RFC 3339
// times, and the argv of both commands.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "docker_watch.hpp"

using vigil::ContainerEvent;
using vigil::ContainerState;

namespace {

// A die event as Docker 20.10 printed it here (`docker events --format '{{json .}}'`).
const std::string kRealDie =
    R"({"status":"die","id":"904381994d4d53d18f783836ca2fda1c64a4eee4b51882b7466ec91c8b867ed5",)"
    R"("from":"sha256:1cfe6bccbd6eba59cb64fb346395bbe556534b9815809afb4f737a9b2bbc7a80","Type":"container",)"
    R"("Action":"die","Actor":{"ID":"904381994d4d53d18f783836ca2fda1c64a4eee4b51882b7466ec91c8b867ed5",)"
    R"("Attributes":{"exitCode":"0","image":"sha256:1cfe6bccbd6eba59cb64fb346395bbe556534b9815809afb4f737a9b2bbc7a80",)"
    R"("name":"dreamy_joliot"}},"scope":"local","time":1796427160,"timeNano":1796427160399920759})";

// A die event with the given parts spliced in, each a JSON fragment.
std::string die_event(const std::string& name = R"("name":"web")", const std::string& exit_code = R"("exitCode":"137")",
                      const std::string& times = R"("time":1796427160,"timeNano":1796427160399920759)") {
    std::string attributes = name;
    if (!exit_code.empty()) attributes += (attributes.empty() ? "" : ",") + exit_code;
    std::string event = R"({"Type":"container","Action":"die","Actor":{"ID":"abc123","Attributes":{)" + attributes +
                        "}}";
    if (!times.empty()) event += "," + times;
    return event + "}";
}

std::string deep_nesting(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST_CASE("docker events: a container's death is read, everything else is nothing", "[docker]") {
    struct Row {
        const char* what;
        std::string line;
        std::optional<ContainerEvent> expected;
    };
    const std::vector<Row> rows = {
        {"Docker 20.10's own die line", kRealDie,
         ContainerEvent{"dreamy_joliot", 1796427160399, 0, "904381994d4d53d18f783836ca2fda1c64a4eee4b51882b7466ec91c8b867ed5"}},
        {"exit code 137", die_event(), ContainerEvent{"web", 1796427160399, 137, "abc123"}},
        {"a leading '/' on the name", die_event(R"("name":"/web")"), ContainerEvent{"web", 1796427160399, 137, "abc123"}},
        {"exit code as a number", die_event(R"("name":"web")", R"("exitCode":3)"),
         ContainerEvent{"web", 1796427160399, 3, "abc123"}},
        {"no exit code", die_event(R"("name":"web")", ""), ContainerEvent{"web", 1796427160399, -1, "abc123"}},
        {"exit code not a number", die_event(R"("name":"web")", R"("exitCode":"abc")"),
         ContainerEvent{"web", 1796427160399, -1, "abc123"}},
        {"exit code with a space", die_event(R"("name":"web")", R"("exitCode":" 1")"),
         ContainerEvent{"web", 1796427160399, -1, "abc123"}},
        {"exit code too large for an int", die_event(R"("name":"web")", R"("exitCode":"99999999999")"),
         ContainerEvent{"web", 1796427160399, -1, "abc123"}},
        {"exit code an object", die_event(R"("name":"web")", R"("exitCode":{})"),
         ContainerEvent{"web", 1796427160399, -1, "abc123"}},
        {"no timeNano: time in seconds", die_event(R"("name":"web")", R"("exitCode":"1")", R"("time":1796427160)"),
         ContainerEvent{"web", 1796427160000, 1, "abc123"}},
        {"timeNano beyond 64 bits: time",
         die_event(R"("name":"web")", R"("exitCode":"1")", R"("time":5,"timeNano":99999999999999999999)"),
         ContainerEvent{"web", 5000, 1, "abc123"}},
        {"timeNano a float: time", die_event(R"("name":"web")", R"("exitCode":"1")", R"("time":5,"timeNano":1e30)"),
         ContainerEvent{"web", 5000, 1, "abc123"}},
        {"timeNano a string: time", die_event(R"("name":"web")", R"("exitCode":"1")", R"("time":5,"timeNano":"7")"),
         ContainerEvent{"web", 5000, 1, "abc123"}},
        {"time that would overflow in ms: no time",
         die_event(R"("name":"web")", R"("exitCode":"1")", R"("time":9223372036854775807)"),
         ContainerEvent{"web", 0, 1, "abc123"}},
        {"negative times: no time", die_event(R"("name":"web")", R"("exitCode":"1")", R"("time":-5,"timeNano":-5)"),
         ContainerEvent{"web", 0, 1, "abc123"}},
        {"no time at all", die_event(R"("name":"web")", R"("exitCode":"1")", ""), ContainerEvent{"web", 0, 1, "abc123"}},
        {"no ID", R"({"Type":"container","Action":"die","Actor":{"Attributes":{"name":"web"}},"time":1})",
         ContainerEvent{"web", 1000, -1, ""}},

        {"oom (its die follows)", R"({"Type":"container","Action":"oom","Actor":{"ID":"a","Attributes":{"name":"web"}}})",
         std::nullopt},
        {"start", R"({"Type":"container","Action":"start","Actor":{"ID":"a","Attributes":{"name":"web"}}})",
         ContainerEvent{"web", 0, -1, "a", true}},
        {"a network's disconnect",
         R"({"Type":"network","Action":"disconnect","Actor":{"ID":"n","Attributes":{"container":"abc","name":"bridge"}}})",
         std::nullopt},
        {"an image's die-like action", R"({"Type":"image","Action":"die","Actor":{"ID":"i","Attributes":{"name":"web"}}})",
         std::nullopt},
        {"pre-1.10 format (status only)", R"({"status":"die","id":"abc","from":"img","time":1})", std::nullopt},
        {"Type not a string", R"({"Type":1,"Action":"die","Actor":{"Attributes":{"name":"web"}}})", std::nullopt},
        {"no Actor", R"({"Type":"container","Action":"die"})", std::nullopt},
        {"Actor not an object", R"({"Type":"container","Action":"die","Actor":"web"})", std::nullopt},
        {"no Attributes", R"({"Type":"container","Action":"die","Actor":{"ID":"a"}})", std::nullopt},
        {"Attributes an array", R"({"Type":"container","Action":"die","Actor":{"ID":"a","Attributes":["web"]}})",
         std::nullopt},
        {"no name", die_event(""), std::nullopt},
        {"name a number", die_event(R"("name":7)"), std::nullopt},
        {"name empty", die_event(R"("name":"")"), std::nullopt},
        {"name only '/'", die_event(R"("name":"/")"), std::nullopt},
        {"name an option", die_event(R"("name":"-rf")"), std::nullopt},
        {"name with a space", die_event(R"("name":"a b")"), std::nullopt},
        {"name with a slash inside", die_event(R"("name":"a/b")"), std::nullopt},
        {"empty line", "", std::nullopt},
        {"not JSON", "container web died", std::nullopt},
        {"cut short", kRealDie.substr(0, kRealDie.size() / 2), std::nullopt},
        {"trailing garbage", kRealDie + " x", std::nullopt},
        {"null", "null", std::nullopt},
        {"an array", "[1,2]", std::nullopt},
        {"a number", "42", std::nullopt},
        {"a string", R"("die")", std::nullopt},
        {"invalid UTF-8", "{\"Type\":\"\xff\xfe\"}", std::nullopt},
        {"nested 20000 deep", deep_nesting(20000), std::nullopt},
    };
    for (const auto& row : rows) {
        SECTION(row.what) {
            const auto got = vigil::parse_docker_event(row.line);
            REQUIRE(got.has_value() == row.expected.has_value());
            if (got) {
                CHECK(got->name == row.expected->name);
                CHECK(got->wall_ms == row.expected->wall_ms);
                CHECK(got->exit_code == row.expected->exit_code);
                CHECK(got->id == row.expected->id);
            }
        }
    }
}

TEST_CASE("docker inspect: each readable line is a container's state", "[docker]") {
    // As Docker 20.10 printed it here for a container never started.
    const std::string created =
        R"("/eager_banzai" {"Status":"created","Running":false,"Paused":false,"Restarting":false,"OOMKilled":false,)"
        R"("Dead":false,"Pid":0,"ExitCode":0,"Error":"","StartedAt":"0001-01-01T00:00:00Z","FinishedAt":"0001-01-01T00:00:00Z"})";
    const std::string running =
        R"("/web" {"Status":"running","Running":true,"Pid":4242,"ExitCode":0,)"
        R"("StartedAt":"2026-12-04T23:31:05.123456789Z","FinishedAt":"2026-12-04T23:30:00Z"})";
    const std::string exited =
        R"("/db" {"Status":"exited","Running":false,"Pid":0,"ExitCode":137,)"
        R"("StartedAt":"2026-12-04T23:31:05Z","FinishedAt":"2026-12-04T23:31:06.5Z"})";

    std::size_t unreadable = 0;
    // Docker prints an empty line for a name it does not know.
    const auto states = vigil::parse_inspect_states(created + "\n\n" + running + "\r\n" + exited, &unreadable);
    CHECK(unreadable == 0);
    REQUIRE(states.size() == 3);
    CHECK(states[0].name == "eager_banzai");
    CHECK(states[0].status == "created");
    CHECK(states[0].started_wall_ms == 0);
    CHECK(states[0].finished_wall_ms == 0);
    CHECK(states[0].exit_code == 0);
    CHECK(states[1].name == "web");
    CHECK(states[1].status == "running");
    CHECK(states[1].started_wall_ms == 1796427065123);
    CHECK(states[1].finished_wall_ms == 1796427000000);
    CHECK(states[2].name == "db");
    CHECK(states[2].status == "exited");
    CHECK(states[2].started_wall_ms == 1796427065000);
    CHECK(states[2].finished_wall_ms == 1796427066500);
    CHECK(states[2].exit_code == 137);

    CHECK(vigil::parse_inspect_states("").empty());
    CHECK(vigil::parse_inspect_states("\n \n").empty());
}

TEST_CASE("docker inspect: an unreadable line is skipped and counted, the others kept", "[docker]") {
    const std::string good = R"("/web" {"Status":"running","StartedAt":"2026-12-04T23:31:05Z","FinishedAt":"0001-01-01T00:00:00Z"})";
    const std::string state = R"({"Status":"running","StartedAt":"2026-12-04T23:31:05Z","FinishedAt":"0001-01-01T00:00:00Z"})";
    struct Row {
        const char* what;
        std::string line;
    };
    const std::vector<Row> rows = {
        {"not JSON", "web is running"},
        {"name not a string", "42 " + state},
        {"name unquoted", "/web " + state},
        {"name never closed", R"("/web )" + state},
        {"name with an escaped quote", R"("/we\"b" )" + state},
        {"name invalid", R"("/-rf" )" + state},
        {"name empty", R"("" )" + state},
        {"no state", R"("/web")"},
        {"state null", R"("/web" null)"},
        {"state an array", R"("/web" [1])"},
        {"state cut short", R"("/web" )" + state.substr(0, 20)},
        {"no Status", R"("/web" {"StartedAt":"2026-12-04T23:31:05Z","FinishedAt":"0001-01-01T00:00:00Z"})"},
        {"Status a number", R"("/web" {"Status":1,"StartedAt":"2026-12-04T23:31:05Z","FinishedAt":"0001-01-01T00:00:00Z"})"},
        {"Status empty", R"("/web" {"Status":"","StartedAt":"2026-12-04T23:31:05Z","FinishedAt":"0001-01-01T00:00:00Z"})"},
        {"no StartedAt", R"("/web" {"Status":"running","FinishedAt":"0001-01-01T00:00:00Z"})"},
        {"StartedAt a number", R"("/web" {"Status":"running","StartedAt":17,"FinishedAt":"0001-01-01T00:00:00Z"})"},
        {"FinishedAt not a time", R"("/web" {"Status":"running","StartedAt":"2026-12-04T23:31:05Z","FinishedAt":"yesterday"})"},
        {"two states", R"("/web" )" + state + " " + state},
        {"nested 20000 deep", R"("/web" )" + deep_nesting(20000)},
    };
    for (const auto& row : rows) {
        SECTION(row.what) {
            std::size_t unreadable = 0;
            const auto states = vigil::parse_inspect_states(good + "\n" + row.line + "\n" + good + "\n", &unreadable);
            CHECK(states.size() == 2);
            CHECK(unreadable == 1);
        }
    }
    SECTION("an exit code beyond an int is unknown, the line kept") {
        const auto states = vigil::parse_inspect_states(
            R"("/web" {"Status":"exited","ExitCode":1e20,"StartedAt":"2026-12-04T23:31:05Z","FinishedAt":"2026-12-04T23:31:06Z"})");
        REQUIRE(states.size() == 1);
        CHECK(states[0].exit_code == -1);
    }
}

TEST_CASE("rfc3339: Docker's times as Unix milliseconds", "[docker]") {
    struct Row {
        const char* text;
        std::optional<std::int64_t> ms;
    };
    const std::vector<Row> rows = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-12-04T23:31:05Z", 1796427065000},
        {"2026-12-04T23:31:05.123456789Z", 1796427065123},
        {"2026-12-04T23:31:05.5Z", 1796427065500},
        {"2026-12-04T23:31:05.12Z", 1796427065120},
        {"2026-12-04T23:31:05.999999999999Z", 1796427065999},
        {"2026-12-05T01:31:05.123+02:00", 1796427065123},
        {"2026-12-04T18:31:05-05:00", 1796427065000},
        {"2026-12-04t23:31:05z", 1796427065000},
        {"2024-02-29T00:00:00Z", 1709164800000},
        {"2016-12-31T23:59:60Z", 1483228800000},  // a leap second folds into the next
        {"0001-01-01T00:00:00Z", -62135596800000},  // Go's zero time: "never" to the caller
        {"", std::nullopt},
        {"2026-12-04", std::nullopt},
        {"2026-12-04T23:31:05", std::nullopt},
        {"2026-12-04 23:31:05Z", std::nullopt},
        {"2026-12-04T23:31Z", std::nullopt},
        {"2026-12-04T23:31:05.Z", std::nullopt},
        {"2026-12-04T23:31:05Zjunk", std::nullopt},
        {"2026-12-04T23:31:05+0200", std::nullopt},
        {"2026-12-04T23:31:05+24:00", std::nullopt},
        {"2026-13-01T00:00:00Z", std::nullopt},
        {"2026-00-01T00:00:00Z", std::nullopt},
        {"2026-12-32T00:00:00Z", std::nullopt},
        {"2023-02-29T00:00:00Z", std::nullopt},
        {"2026-12-04T24:00:00Z", std::nullopt},
        {"2026-12-04T23:60:00Z", std::nullopt},
        {"2026-12-04T23:31:61Z", std::nullopt},
        {"20261204T233105Z", std::nullopt},
        {"+2026-12-04T23:31:05Z", std::nullopt},
        {"2026-1x-04T23:31:05Z", std::nullopt},
    };
    for (const auto& row : rows) {
        SECTION(row.text) { CHECK(vigil::parse_rfc3339_ms(row.text) == row.ms); }
    }
}

TEST_CASE("docker argv: events and inspect, invalid names skipped", "[docker]") {
    const std::vector<std::string> events_base = {"docker", "events", "--format", "{{json .}}", "--filter",
                                                  "type=container", "--filter", "event=die", "--filter", "event=start"};
    auto events = [&](std::vector<std::string> tail) {
        std::vector<std::string> argv = events_base;
        argv.insert(argv.end(), tail.begin(), tail.end());
        return argv;
    };
    CHECK(vigil::docker_events_argv({}, "") == events_base);
    CHECK(vigil::docker_events_argv({"web", "db"}, "") ==
          events({"--filter", "container=web", "--filter", "container=db"}));
    CHECK(vigil::docker_events_argv({}, "vigil.watch") == events({"--filter", "label=vigil.watch"}));
    CHECK(vigil::docker_events_argv({"web"}, "app=shop") ==
          events({"--filter", "container=web", "--filter", "label=app=shop"}));
    CHECK(vigil::docker_events_argv({"-rf", "web", "a b", "/db", ""}, "") == events({"--filter", "container=web"}));
    // Names were given, none valid: watching every container would be a surprise.
    CHECK(vigil::docker_events_argv({"-rf", "../etc"}, "").empty());
    CHECK(vigil::docker_events_argv({"-rf"}, "app=shop").empty());

    const std::vector<std::string> inspect_base = {"docker", "inspect", "--type", "container", "--format",
                                                   "{{json .Name}} {{json .State}}", "--"};
    auto inspect = [&](std::vector<std::string> tail) {
        std::vector<std::string> argv = inspect_base;
        argv.insert(argv.end(), tail.begin(), tail.end());
        return argv;
    };
    CHECK(vigil::docker_inspect_argv({"web", "db"}) == inspect({"web", "db"}));
    CHECK(vigil::docker_inspect_argv({"--help", "web", "x;y"}) == inspect({"web"}));
    CHECK(vigil::docker_inspect_argv({}).empty());
    CHECK(vigil::docker_inspect_argv({"-f"}).empty());
}
