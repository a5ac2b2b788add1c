// Monitors in one process, each with its own broker connection, as separate
// nodes would be. Needs the broker that `make test` starts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <time.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vigil/monitor.hpp"

namespace {

using namespace std::chrono_literals;

std::string unique_exchange() {
    std::random_device device;
    return "vigil_test_" + std::to_string(device()) + std::to_string(device());
}

using Env = std::map<std::string, std::string>;

vigil::Config test_config(const std::string& name, const std::string& exchange, const Env& extra = {}) {
    Env env{
        {"CONTAINER_NAME", name},
        {"CONTROL_EXCHANGE", exchange},
        {"HEARTBEAT_INTERVAL", "100ms"},
        {"HEARTBEAT_TIMEOUT", "600ms"},
        {"ELECTION_TIMEOUT", "500ms"},
        {"PULSE_TIMEOUT", "500ms"},
        {"RESTART_BACKEND", "none"},
    };
    if (const char* host = std::getenv("VIGIL_BROKER_HOST")) env["RABBITMQ_HOST"] = host;
    for (const auto& [key, value] : extra) env[key] = value;
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
    // `extra` goes into every node's config; `before_start` runs on each
    // monitor before any starts (on_change must come before start()).
    explicit Cluster(const std::vector<std::string>& names, const Env& extra = {},
                     const std::function<void(vigil::Monitor&)>& before_start = {})
        : exchange(unique_exchange()) {
        for (const auto& name : names) {
            monitors.push_back(
                std::make_unique<vigil::Monitor>(test_config(name, exchange, extra), [](const std::string&) {}));
            if (before_start) before_start(*monitors.back());
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

// Every node's config for the restart tests: "ghost" is expected but never
// runs, so the leader judges it dead and runs `command ghost`.
Env restart_env(const std::string& command) {
    return {{"EXPECTED_MEMBERS", "node_a,node_b,ghost"},
            {"RESTART_BACKEND", "command"},
            {"RESTART_COMMAND", command + " {name}"},
            {"RESTART_TIMEOUT", "1500ms"}};
}

// The leaders one monitor named, in order, through on_change.
struct LeaderLog {
    explicit LeaderLog(std::string name) : watched(std::move(name)) {}
    void attach(vigil::Monitor& monitor) {  // for Cluster's before_start
        if (monitor.config().node_name != watched) return;
        monitor.on_change([this](const vigil::Event& event) {
            if (event.kind != vigil::Event::Kind::LeaderChanged) return;
            const std::lock_guard lock(mutex);
            leaders.push_back(event.name);
        });
    }
    std::size_t size() const {
        const std::lock_guard lock(mutex);
        return leaders.size();
    }
    // The leaders named from the `from`-th event on that are not `leader`.
    std::vector<std::string> other_than(const std::string& leader, std::size_t from) const {
        const std::lock_guard lock(mutex);
        std::vector<std::string> others;
        std::copy_if(leaders.begin() + static_cast<std::ptrdiff_t>(from), leaders.end(), std::back_inserter(others),
                     [&](const std::string& name) { return name != leader; });
        return others;
    }
    std::string watched;
    mutable std::mutex mutex;
    std::vector<std::string> leaders;
};

// One look from a follower at a leader whose restarts must not disturb it: it
// still leads, the follower names it and heard it within 300 ms (half the
// heartbeat timeout, three heartbeats). A leader's sidecar thread that stalls
// stops heartbeating, so its silence grows here, 200 ms per sample.
void check_leader_heard(const vigil::Monitor& follower, const vigil::Monitor& leader) {
    const std::string name = leader.config().node_name;
    const vigil::Status seen = follower.status();
    CHECK(leader.is_leader());
    CHECK(seen.leader == name);
    const auto member = std::find_if(seen.members.begin(), seen.members.end(),
                                     [&](const vigil::MemberView& view) { return view.name == name; });
    REQUIRE(member != seen.members.end());
    CHECK(member->liveness == vigil::Liveness::Alive);
    CHECK(member->silent_for.count() < 300);
}

// A process by pid and start time (field 22 of /proc/<pid>/stat), so that a
// recycled pid is neither taken for it nor killed in its place.
struct Process {
    pid_t pid;
    unsigned long long started;
};

// State letter and start time of a pid, if it exists.
std::optional<std::pair<char, unsigned long long>> proc_stat(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(in, line) || line.rfind(')') == std::string::npos) return std::nullopt;
    std::istringstream fields(line.substr(line.rfind(')') + 1));  // the command name may hold ") "
    char state = 0;
    std::string skipped;
    fields >> state;
    for (int field = 4; field < 22; ++field) fields >> skipped;
    unsigned long long started = 0;
    if (!(fields >> started)) return std::nullopt;
    return std::pair{state, started};
}

bool reaped(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

// Not running: reaped, its pid recycled, or a zombie (exited, not yet reaped).
bool ended(const Process& process) {
    if (reaped(process.pid)) return true;
    const auto stat = proc_stat(process.pid);
    return !stat || stat->second != process.started || stat->first == 'Z';
}

// A restart command that hangs, in a temporary directory: it starts a child
// of its own, writes "<its pid> <child's pid> <its argument>" to `pids`
// (renamed into place, so never read half-written), then sleeps. It execs the
// sleep, so that the pid it writes is the one that hangs and every process of
// the command is recorded. The destructor kills what is left of those.
//
// The test process is made a subreaper meanwhile: the child, orphaned when the
// command is killed, becomes ours rather than init's, and its wait status says
// how it died (a container's init may be slow to reap it, or never do).
struct HangingCommand {
    HangingCommand() {
        std::string pattern = (std::filesystem::temp_directory_path() / "vigil_restart_XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        dir = pattern;
        REQUIRE(pattern.find(' ') == std::string::npos);  // RESTART_COMMAND is split on spaces
        script = (dir / "restart.sh").string();
        std::ofstream(script) << "#!/bin/sh\n"
                              << "sleep 60 &\n"
                              << "echo \"$$ $! $1\" > " << pattern << "/pids.tmp && mv " << pattern << "/pids.tmp "
                              << pattern << "/pids\n"
                              << "exec sleep 60\n";
        std::filesystem::permissions(script, std::filesystem::perms::owner_all);
        REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    }
    ~HangingCommand() {
        kill_leftovers();
        prctl(PR_SET_CHILD_SUBREAPER, 0);
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    HangingCommand(const HangingCommand&) = delete;
    HangingCommand& operator=(const HangingCommand&) = delete;

    // The three words of `pids`, once written.
    bool read_pids(pid_t& command, pid_t& child, std::string& argument) const {
        std::ifstream in(dir / "pids");
        return static_cast<bool>(in >> command >> child >> argument);
    }
    // Only after a failure is anything left. Called before the monitors stop
    // too, so that a restarter stuck on the command cannot hold up stop().
    void kill_leftovers() {
        for (const Process& process : recorded) {
            const auto stat = proc_stat(process.pid);
            if (!stat || stat->second != process.started) continue;  // gone, or the pid is another's now
            if (stat->first != 'Z') kill(process.pid, SIGKILL);
            // Reaps the command, or the child once adopted; for a process
            // that is not ours, ECHILD at once.
            waitpid(process.pid, nullptr, 0);
        }
        recorded.clear();
    }
    Process record(pid_t pid) {
        const auto stat = proc_stat(pid);
        REQUIRE(stat.has_value());
        REQUIRE(stat->first != 'Z');
        return recorded.emplace_back(Process{pid, stat->second});
    }

    std::filesystem::path dir;
    std::string script;
    std::vector<Process> recorded;
};

}  // namespace

TEST_CASE("the highest name leads and everybody agrees", "[monitor]") {
    Cluster cluster({"node_1", "node_3", "node_2"});
    REQUIRE(eventually([&] { return cluster.all_agree_on("node_3"); }));
    CHECK(cluster.monitors[1]->is_leader());
    CHECK_FALSE(cluster.monitors[0]->is_leader());
    CHECK_FALSE(cluster.monitors[2]->is_leader());
}

TEST_CASE("the leader sees every member, and a graceful stop hands leadership over", "[monitor]") {
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
    // pulse() stamps the coarse monotonic clock, which lags the one measured
    // here by up to its resolution (a scheduler tick): early by at most that.
    timespec coarse{};
    clock_getres(CLOCK_MONOTONIC_COARSE, &coarse);
    const long long tick_ms = (coarse.tv_nsec + 999'999) / 1'000'000 + coarse.tv_sec * 1000;
    CHECK(late >= 500 - tick_ms);
    CHECK(late <= 500 + 2 * 50 + 250);  // two steps (stamp, check) and scheduling slack
    CHECK_FALSE(monitor.status().connected);
    monitor.stop();
    close(listener);
}


TEST_CASE("a restart command that hangs past RESTART_TIMEOUT is killed with its process group while heartbeats "
          "and elections go on",
          "[monitor]") {
    HangingCommand command;
    LeaderLog seen_by_a("node_a");
    Cluster cluster({"node_a", "node_b"}, restart_env(command.script),
                    [&](vigil::Monitor& monitor) { seen_by_a.attach(monitor); });
    const struct Leftovers {
        HangingCommand& command;
        ~Leftovers() { command.kill_leftovers(); }  // before ~Cluster
    } leftovers{command};
    const vigil::Monitor& node_a = *cluster.monitors[0];
    const vigil::Monitor& node_b = *cluster.monitors[1];
    REQUIRE(eventually([&] { return cluster.all_agree_on("node_b"); }));
    const std::size_t agreed = seen_by_a.size();

    // HEARTBEAT_TIMEOUT after node_b leads, ghost is dead and the command runs.
    pid_t command_pid = 0;
    pid_t child_pid = 0;
    std::string argument;
    REQUIRE(eventually([&] { return command.read_pids(command_pid, child_pid, argument); }));
    const auto hang_began = std::chrono::steady_clock::now();
    CHECK(argument == "ghost");
    const Process hanging = command.record(command_pid);
    const Process child = command.record(child_pid);

    // While it hangs, node_b's sidecar thread must go on heartbeating and leading.
    int samples = 0;
    while (!ended(hanging) && std::chrono::steady_clock::now() - hang_began < 1500ms + 2s) {
        check_leader_heard(node_a, node_b);
        ++samples;
        std::this_thread::sleep_for(200ms);
    }
    const auto hung_for =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - hang_began);
    INFO("the command hung for about " << hung_for.count() << " ms (RESTART_TIMEOUT 1500 ms), " << samples
                                       << " samples");
    CHECK(samples >= 3);
    // Ended by the timeout (counted from the spawn, a little before `pids`
    // was written), neither before it nor long after.
    CHECK(hung_for.count() >= 1000);
    CHECK(hung_for.count() < 2500);

    // The command is killed and reaped by the restarter; its child, killed
    // with the process group, is orphaned, adopted and reaped here.
    CHECK(eventually([&] { return reaped(hanging.pid); }, 3s));
    int child_status = 0;
    REQUIRE(eventually([&] { return waitpid(child.pid, &child_status, WNOHANG) == child.pid; }, 3s));
    CHECK(WIFSIGNALED(child_status));
    CHECK(WTERMSIG(child_status) == SIGKILL);
    CHECK(reaped(child.pid));
    CHECK(eventually([&] { return node_b.status().restarts_failed >= 1; }, 3s));
    check_leader_heard(node_a, node_b);
    CHECK(seen_by_a.other_than("node_b", agreed).empty());
    CHECK(node_a.status().restarts_issued == 0);  // the command was node_b's
}

TEST_CASE("a restart command that cannot be spawned is counted as failed and the sidecar goes on", "[monitor]") {
    LeaderLog seen_by_a("node_a");
    Cluster cluster({"node_a", "node_b"}, restart_env("/nonexistent/vigil-restart"),
                    [&](vigil::Monitor& monitor) { seen_by_a.attach(monitor); });
    const vigil::Monitor& node_a = *cluster.monitors[0];
    const vigil::Monitor& node_b = *cluster.monitors[1];
    REQUIRE(eventually([&] { return cluster.all_agree_on("node_b"); }));
    const std::size_t agreed = seen_by_a.size();

    // node_a hears node_b from agreement, through the failed spawn, until
    // longer than HEARTBEAT_TIMEOUT after it (a silent leader is replaced then).
    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> failed_at;
    for (const auto deadline = Clock::now() + 10s;
         Clock::now() < deadline && (!failed_at || Clock::now() - *failed_at < 1200ms);
         std::this_thread::sleep_for(200ms)) {
        check_leader_heard(node_a, node_b);
        if (!failed_at && node_b.status().restarts_failed >= 1) failed_at = Clock::now();
    }
    REQUIRE(failed_at.has_value());
    CHECK(seen_by_a.other_than("node_b", agreed).empty());
}

// Twenty members never run, so the leader restarts all twenty at once (no
// pacing: MASS_SILENCE_PERCENT 100) with a command that hangs until
// RESTART_TIMEOUT. The restarter runs at most 16 at a time and postpones the
// rest until room frees up; the leader goes on heartbeating meanwhile.
TEST_CASE("at most 16 restart commands run at once, and the rest wait their turn while heartbeats go on", "[monitor]") {
    std::string pattern = (std::filesystem::temp_directory_path() / "vigil_cap_XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    const std::filesystem::path dir = pattern;
    const std::string script = (dir / "restart.sh").string();
    // "<pid>" in running.<name>, renamed into place; then it hangs.
    std::ofstream(script) << "#!/bin/sh\n"
                          << "echo $$ > " << pattern << "/tmp.$1 && mv " << pattern << "/tmp.$1 " << pattern
                          << "/running.$1\n"
                          << "exec sleep 60\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);

    std::string members = "node_a,node_b";
    for (int i = 1; i <= 20; ++i) members += ",ghost_" + std::string(i < 10 ? "0" : "") + std::to_string(i);
    Cluster cluster({"node_a", "node_b"}, {{"EXPECTED_MEMBERS", members},
                                           {"MASS_SILENCE_PERCENT", "100"},
                                           {"RESTART_BACKEND", "command"},
                                           {"RESTART_COMMAND", script + " {name}"},
                                           {"RESTART_TIMEOUT", "2000ms"}});
    std::vector<Process> seen;  // every command, by pid and start time
    const struct Cleanup {
        const std::vector<Process>& seen;
        const std::filesystem::path& dir;
        ~Cleanup() {
            for (const Process& process : seen) {
                const auto stat = proc_stat(process.pid);
                if (stat && stat->second == process.started && stat->first != 'Z') kill(process.pid, SIGKILL);
            }
            std::error_code ignored;
            std::filesystem::remove_all(dir, ignored);
        }
    } cleanup{seen, dir};
    const vigil::Monitor& node_a = *cluster.monitors[0];
    const vigil::Monitor& node_b = *cluster.monitors[1];
    REQUIRE(eventually([&] { return cluster.all_agree_on("node_b"); }));

    // Sample every 50 ms: which commands have started, and how many run now.
    std::size_t most_at_once = 0;
    const auto deadline = std::chrono::steady_clock::now() + 12s;
    while (std::chrono::steady_clock::now() < deadline) {
        std::size_t running = 0;
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
            if (entry.path().filename().string().rfind("running.", 0) != 0) continue;
            pid_t pid = 0;
            if (!(std::ifstream(entry.path()) >> pid)) continue;
            const bool known = std::any_of(seen.begin(), seen.end(), [&](const Process& p) { return p.pid == pid; });
            if (!known) {
                if (const auto stat = proc_stat(pid)) seen.push_back(Process{pid, stat->second});
            }
            const auto it = std::find_if(seen.begin(), seen.end(), [&](const Process& p) { return p.pid == pid; });
            if (it != seen.end() && !ended(*it)) ++running;
        }
        most_at_once = std::max(most_at_once, running);
        if (seen.size() == 20) break;
        check_leader_heard(node_a, node_b);
        std::this_thread::sleep_for(50ms);
    }
    INFO(seen.size() << " commands started, at most " << most_at_once << " at once");
    CHECK(seen.size() == 20);  // the postponed ones ran once there was room
    CHECK(most_at_once >= 10);  // they did run side by side
    CHECK(most_at_once <= 16);
    check_leader_heard(node_a, node_b);
}
