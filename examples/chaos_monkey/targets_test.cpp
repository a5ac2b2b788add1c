// The chaos monkey's victim selection: only this deployment's app containers,
// never itself, never infrastructure, exact names only, reproducible by seed.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "chaos_monkey/docker_cli.hpp"
#include "chaos_monkey/targets.hpp"

using example::ContainerRow;

namespace {

const std::vector<ContainerRow> kDeployment{
    {"rabbitmq", "infrastructure"}, {"server", "server"},        {"worker_1", "worker"},
    {"worker_2", "worker"},         {"chaos_monkey", "chaos_monkey"},
};

std::set<std::string> names(const std::vector<ContainerRow>& rows) {
    std::set<std::string> out;
    for (const auto& row : rows) {
        out.insert(row.name);
    }
    return out;
}

}  // namespace

TEST_CASE("parse_ps_output reads name<TAB>role lines and skips the rest", "[chaos][unit]") {
    const auto rows = example::parse_ps_output("server\tserver\nworker_1\tworker\r\nrabbitmq\tinfrastructure\n"
                                               "no-tab-here\n\nstray\t\nthree\tfields\there\n");
    REQUIRE(rows == std::vector<ContainerRow>{{"server", "server"},
                                              {"worker_1", "worker"},
                                              {"rabbitmq", "infrastructure"},
                                              {"stray", ""}});
}

TEST_CASE("parse_ps_output is bounded", "[chaos][unit]") {
    std::string text;
    for (int i = 0; i < 50; ++i) {
        text += "w" + std::to_string(i) + "\tworker\n";
    }
    CHECK(example::parse_ps_output(text, 10).size() == 10);
}

TEST_CASE("eligible targets exclude self, infrastructure and unlabeled containers", "[chaos][unit]") {
    const auto targets = example::eligible_targets(kDeployment, "chaos_monkey");
    CHECK(names(targets) == std::set<std::string>{"server", "worker_1", "worker_2"});

    std::vector<ContainerRow> rows = kDeployment;
    rows.push_back({"debug_shell", ""});          // no vigil.role label: not ours to judge
    rows.push_back({"some_cache", "database"});   // unknown role
    CHECK(names(example::eligible_targets(rows, "chaos_monkey")) ==
          std::set<std::string>{"server", "worker_1", "worker_2"});
}

TEST_CASE("self exclusion is by exact name, never by substring", "[chaos][unit]") {
    const std::vector<ContainerRow> rows{{"chaos_monkey", "chaos_monkey"},
                                         {"chaos_monkey_2", "chaos_monkey"},
                                         {"chaos", "worker"},
                                         {"worker_1", "worker"}};
    CHECK(names(example::eligible_targets(rows, "chaos_monkey")) ==
          std::set<std::string>{"chaos_monkey_2", "chaos", "worker_1"});
}

TEST_CASE("infrastructure exclusion is by exact label, never by substring", "[chaos][unit]") {
    const std::vector<ContainerRow> rows{{"rabbitmq", "infrastructure"},
                                         {"rabbitmq_worker", "worker"},       // its name says rabbitmq: still a worker
                                         {"mq2", "infrastructure-ish"},       // not a known role
                                         {"db", "Infrastructure"}};           // labels are case-sensitive
    CHECK(names(example::eligible_targets(rows, "me")) == std::set<std::string>{"rabbitmq_worker"});
}

TEST_CASE("names that docker could read as options, or odd bytes, are never targets", "[chaos][unit]") {
    const std::vector<ContainerRow> rows{{"-f", "worker"},          {"--all", "worker"},    {"", "worker"},
                                         {"a b", "worker"},         {"a;b", "worker"},      {"_x", "worker"},
                                         {".x", "worker"},          {"w\n", "worker"},      {std::string(129, 'a'), "worker"},
                                         {"ok-name_1.2", "worker"}};
    CHECK(names(example::eligible_targets(rows, "me")) == std::set<std::string>{"ok-name_1.2"});
}

TEST_CASE("duplicates are listed once and order does not matter", "[chaos][unit]") {
    const std::vector<ContainerRow> a{{"worker_2", "worker"}, {"server", "server"}, {"worker_2", "worker"}};
    const std::vector<ContainerRow> b{{"server", "server"}, {"worker_2", "worker"}};
    CHECK(example::eligible_targets(a, "me") == example::eligible_targets(b, "me"));
}

TEST_CASE("choose_target: nothing eligible gives nullopt", "[chaos][unit]") {
    std::mt19937_64 rng{1};
    CHECK_FALSE(example::choose_target({}, "me", rng));
    CHECK_FALSE(example::choose_target({{"rabbitmq", "infrastructure"}, {"me", "chaos_monkey"}}, "me", rng));
}

TEST_CASE("choose_target: the same seed picks the same victims, whatever the listing order", "[chaos][unit]") {
    std::vector<ContainerRow> reversed(kDeployment.rbegin(), kDeployment.rend());
    std::mt19937_64 first{42};
    std::mt19937_64 second{42};
    for (int round = 0; round < 50; ++round) {
        const auto a = example::choose_target(kDeployment, "chaos_monkey", first);
        const auto b = example::choose_target(reversed, "chaos_monkey", second);
        REQUIRE(a);
        REQUIRE(b);
        CHECK(a->name == b->name);
    }
}

TEST_CASE("choose_target: every eligible container gets picked, nothing else ever", "[chaos][unit]") {
    std::mt19937_64 rng{7};
    std::map<std::string, int> hits;
    for (int round = 0; round < 3000; ++round) {
        const auto target = example::choose_target(kDeployment, "chaos_monkey", rng);
        REQUIRE(target);
        ++hits[target->name];
    }
    REQUIRE(hits.size() == 3);
    for (const auto& [name, count] : hits) {
        INFO(name);
        CHECK(count > 800);  // ~1000 each
    }
}

TEST_CASE("compose project names are checked before use in a filter", "[chaos][unit]") {
    CHECK(example::is_valid_project_name("vigil"));
    CHECK(example::is_valid_project_name("my-app_2"));
    CHECK_FALSE(example::is_valid_project_name(""));
    CHECK_FALSE(example::is_valid_project_name("-x"));
    CHECK_FALSE(example::is_valid_project_name("Vigil"));
    CHECK_FALSE(example::is_valid_project_name("a,label=b"));
}
