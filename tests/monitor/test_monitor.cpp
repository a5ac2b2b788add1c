// Monitors in one process, each with its own broker connection, as separate
// nodes would be. Needs the broker that `make test` starts.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vigil/monitor.hpp"

namespace {

using namespace std::chrono_literals;

std::string unique_exchange() {
    std::random_device device;
    return "vigil_test_" + std::to_string(device()) + std::to_string(device());
}

vigil::Config test_config(const std::string& name, const std::string& exchange) {
    std::map<std::string, std::string> env{
        {"CONTAINER_NAME", name},
        {"CONTROL_EXCHANGE", exchange},
        {"HEARTBEAT_INTERVAL", "100ms"},
        {"HEARTBEAT_TIMEOUT", "600ms"},
        {"ELECTION_TIMEOUT", "500ms"},
        {"PULSE_TIMEOUT", "500ms"},
        {"RESTART_BACKEND", "none"},
    };
    if (const char* host = std::getenv("VIGIL_BROKER_HOST")) env["RABBITMQ_HOST"] = host;
    return vigil::Config::load(env, "");
}

// Polls `condition` until it holds or the deadline passes.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds deadline = 10s) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

struct Cluster {
    explicit Cluster(const std::vector<std::string>& names) : exchange(unique_exchange()) {
        for (const auto& name : names) {
            monitors.push_back(std::make_unique<vigil::Monitor>(test_config(name, exchange), [](const std::string&) {}));
        }
        for (auto& monitor : monitors) monitor->start();
    }
    bool all_agree_on(const std::string& leader) const {
        for (const auto& monitor : monitors) {
            const auto status = monitor->status();
            if (!status.connected || status.leader != leader) return false;
        }
        return true;
    }
    std::string exchange;
    std::vector<std::unique_ptr<vigil::Monitor>> monitors;
};

}  // namespace

TEST_CASE("the highest name leads and everybody agrees", "[monitor]") {
    Cluster cluster({"node_1", "node_3", "node_2"});
    REQUIRE(eventually([&] { return cluster.all_agree_on("node_3"); }));
    CHECK(cluster.monitors[1]->is_leader());
    CHECK_FALSE(cluster.monitors[0]->is_leader());
    CHECK_FALSE(cluster.monitors[2]->is_leader());
}

TEST_CASE("the leader sees every member; a graceful stop hands leadership over", "[monitor]") {
    Cluster cluster({"node_1", "node_3", "node_2"});
    REQUIRE(eventually([&] { return cluster.all_agree_on("node_3"); }));
    REQUIRE(eventually([&] { return cluster.monitors[1]->status().members.size() == 2; }));

    cluster.monitors[1]->stop();
    REQUIRE(eventually([&] {
        return cluster.monitors[0]->leader() == "node_2" && cluster.monitors[2]->is_leader();
    }));
    // The departed leader is known as departed, not dead: no restart for it.
    REQUIRE(eventually([&] {
        for (const auto& member : cluster.monitors[2]->status().members) {
            if (member.name == "node_3") return member.liveness == vigil::Liveness::Departed;
        }
        return false;
    }));
    CHECK(cluster.monitors[2]->status().restarts_issued == 0);
}

TEST_CASE("callbacks report leadership from the monitor thread", "[monitor]") {
    const std::string exchange = unique_exchange();
    std::mutex mutex;
    std::vector<std::string> leaders;
    vigil::Monitor monitor(test_config("solo", exchange), [](const std::string&) {});
    monitor.on_change([&](const vigil::Event& event) {
        if (event.kind != vigil::Event::Kind::LeaderChanged) return;
        const std::lock_guard lock(mutex);
        leaders.push_back(event.name);
    });
    monitor.start();
    REQUIRE(eventually([&] {
        const std::lock_guard lock(mutex);
        return !leaders.empty() && leaders.back() == "solo";
    }));
    CHECK_THROWS_AS(monitor.on_change([](const vigil::Event&) {}), std::logic_error);
}

TEST_CASE("apoptosis: a main loop that stops pulsing is terminated, one that pulses is not", "[monitor]") {
    std::atomic<int> terminations{0};
    vigil::Monitor monitor(test_config("hung", unique_exchange()),
                           [&](const std::string&) { terminations.fetch_add(1); });
    monitor.start();
    // Unarmed before the first pulse: a long start-up is not a hang.
    std::this_thread::sleep_for(800ms);
    CHECK(terminations.load() == 0);

    // Pulses from several threads keep it alive.
    std::atomic<bool> pulsing{true};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
        threads.emplace_back([&] {
            while (pulsing.load()) {
                monitor.pulse();
                std::this_thread::sleep_for(5ms);
            }
        });
    }
    std::this_thread::sleep_for(1200ms);
    CHECK(terminations.load() == 0);
    pulsing.store(false);
    for (auto& thread : threads) thread.join();

    REQUIRE(eventually([&] { return terminations.load() == 1; }, 3s));
}

TEST_CASE("apoptosis fires on time while the broker is unreachable", "[monitor]") {
    std::atomic<int> terminations{0};
    auto config = test_config("cut_off", unique_exchange());
    config.broker.port = 1;  // nothing listens there
    vigil::Monitor monitor(config, [&](const std::string&) { terminations.fetch_add(1); });
    monitor.start();
    monitor.pulse();
    REQUIRE(eventually([&] { return terminations.load() == 1; }, 3s));
    CHECK_FALSE(monitor.status().connected);
    CHECK_FALSE(monitor.is_leader());
}
