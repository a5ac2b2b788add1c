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

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

// A "broker" that completes the TCP handshake (the kernel does, from the
// listen backlog) and then never says a word: the sidecar sits in its AMQP
// handshake until BROKER_CONNECT_TIMEOUT, again and again. The watchdog must
// not care: apoptosis comes PULSE_TIMEOUT after the last pulse, give or take
// its own step (a watchdog folded into the sidecar loop would be seconds late).
TEST_CASE("apoptosis fires on time while the sidecar is stuck on a broker that never answers", "[monitor]") {
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(listen(listener, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);

    auto config = test_config("stuck", unique_exchange());
    config.broker.host = "127.0.0.1";
    config.broker.port = ntohs(address.sin_port);
    config.broker.connect_timeout = 3s;  // longer than PULSE_TIMEOUT (500 ms)
    std::atomic<long long> terminated_at_ms{0};
    const auto since_epoch_ms = [] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    };
    vigil::Monitor monitor(config, [&](const std::string&) { terminated_at_ms.store(since_epoch_ms()); });
    monitor.start();
    std::this_thread::sleep_for(300ms);  // the sidecar is inside its first connect by now
    monitor.pulse();
    const long long pulsed_at = since_epoch_ms();
    REQUIRE(eventually([&] { return terminated_at_ms.load() != 0; }, 5s));
    const long long late = terminated_at_ms.load() - pulsed_at;
    INFO("apoptosis " << late << " ms after the last pulse (PULSE_TIMEOUT 500 ms, watchdog step 50 ms)");
    CHECK(late >= 500);
    CHECK(late <= 500 + 2 * 50 + 250);  // two steps (stamp, check) and scheduling slack
    CHECK_FALSE(monitor.status().connected);
    monitor.stop();
    close(listener);
}

