// Restart back-end argv building (pure): a name from the network is one argv
// word, never a shell fragment and never an option to the docker CLI.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "restarter.hpp"

using vigil::RestartBackend;
using vigil::RestartConfig;
using Argv = std::vector<std::string>;

namespace {

RestartConfig backend(RestartBackend b, Argv command = {}) {
    RestartConfig c;
    c.backend = b;
    c.command = std::move(command);
    return c;
}

}  // namespace

TEST_CASE("restart argv: docker back-end", "[restart]") {
    struct Row {
        const char* name;
        std::string node;
        std::optional<Argv> argv;  // nullopt = refused
    };
    const std::vector<Row> rows = {
        {"plain name", "worker-1", Argv{"docker", "restart", "--", "worker-1"}},
        {"compose-style name", "vigil_worker_1", Argv{"docker", "restart", "--", "vigil_worker_1"}},
        {"dots", "svc.a", Argv{"docker", "restart", "--", "svc.a"}},
        {"one character", "a", Argv{"docker", "restart", "--", "a"}},
        {"leading dash", "-rf", std::nullopt},
        {"an option", "--help", std::nullopt},
        {"leading underscore", "_x", std::nullopt},
        {"leading dot", ".x", std::nullopt},
        {"empty", "", std::nullopt},
        {"space", "a b", std::nullopt},
        {"command substitution", "$(reboot)", std::nullopt},
        {"semicolon", "a;reboot", std::nullopt},
        {"backticks", "`id`", std::nullopt},
        {"slash", "a/b", std::nullopt},
        {"colon", "a:b", std::nullopt},
        {"newline", "a\nb", std::nullopt},
        {"129 characters", std::string(129, 'a'), std::nullopt},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            std::string why;
            const auto argv = vigil::restart_argv(backend(RestartBackend::Docker), row.node, why);
            CHECK(argv == row.argv);
            if (!row.argv) CHECK_FALSE(why.empty());  // the log says why it refused
            CHECK(vigil::is_docker_container_name(row.node) == row.argv.has_value());
        }
    }
}

TEST_CASE("restart argv: command back-end substitutes {name} literally", "[restart]") {
    struct Row {
        const char* name;
        Argv command;
        std::string node;
        Argv argv;
    };
    const std::vector<Row> rows = {
        {"name as its own word", {"relaunch", "{name}"}, "w1", {"relaunch", "w1"}},
        {"name inside a word", {"systemctl", "restart", "vigil@{name}.service"}, "w1",
         {"systemctl", "restart", "vigil@w1.service"}},
        {"twice in one word", {"x", "{name}-{name}"}, "n", {"x", "n-n"}},
        {"in several words", {"{name}", "--id={name}"}, "n", {"n", "--id=n"}},
        {"no placeholder", {"restart-all"}, "n", {"restart-all"}},
        {"shell metacharacters stay one word", {"relaunch", "{name}"}, "$(rm -rf ~);`id`|x&",
         {"relaunch", "$(rm -rf ~);`id`|x&"}},
        {"leading dash is passed as data", {"relaunch", "--", "{name}"}, "-rf", {"relaunch", "--", "-rf"}},
        {"a name that looks like the placeholder is not expanded again", {"r", "{name}"}, "{name}",
         {"r", "{name}"}},
        {"spaces in the name do not split the word", {"r", "{name}"}, "a b", {"r", "a b"}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            std::string why;
            const auto argv = vigil::restart_argv(backend(RestartBackend::Command, row.command), row.node, why);
            REQUIRE(argv.has_value());
            CHECK(*argv == row.argv);
        }
    }
}

TEST_CASE("restart argv: back-ends that refuse", "[restart]") {
    struct Row {
        const char* name;
        RestartConfig config;
    };
    const std::vector<Row> rows = {
        {"none", backend(RestartBackend::None)},
        {"command without a command", backend(RestartBackend::Command)},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            std::string why;
            CHECK_FALSE(vigil::restart_argv(row.config, "w1", why).has_value());
            CHECK_FALSE(why.empty());
        }
    }
}
