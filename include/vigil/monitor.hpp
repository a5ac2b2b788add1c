#pragma once
// The public face of vigil: one Monitor per process.
//
//   vigil::Monitor monitor{vigil::Config::load()};
//   monitor.start();
//   while (running) { do_work(); monitor.pulse(); }
//   monitor.stop();  // graceful: says goodbye, so nobody restarts us
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vigil/config.hpp"
#include "vigil/failure_detector.hpp"
#include "vigil/message.hpp"
#include "vigil/node.hpp"

namespace vigil {

struct Status {
    std::string node_name;
    bool connected = false;
    Role role = Role::Follower;
    std::string leader;  // "" while there is none
    std::uint64_t term = 0;
    std::vector<MemberView> members;  // as this node knows them (full on the leader)
    DropCounters drops;
    std::uint64_t restarts_issued = 0;
    std::uint64_t restarts_failed = 0;
    std::uint64_t reconnects = 0;
    // Our own heartbeats come back through the broker: what we do not hear is
    // others' silence, not ours. When false, nobody is judged or restarted.
    bool hears_itself = false;
    std::string caution;  // why this node holds back ("" = it does not)
    // Fast crash signals in use besides heartbeats, and what came of them.
    bool broker_events = false;  // the broker reports closed connections
    bool docker_events = false;  // (leader) Docker's events are followed
    SignalCounters signals;
};

class Monitor {
public:
    // Called on apoptosis with the reason; the default logs it and _exit(1)s.
    using Terminate = std::function<void(const std::string& reason)>;
    // Called from the monitor's thread on leadership and membership changes.
    // Keep it short: it runs on the thread that sends the heartbeats.
    using ChangeCallback = std::function<void(const Event& event)>;

    explicit Monitor(Config config);
    Monitor(Config config, Terminate terminate);
    ~Monitor();  // stop()
    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;

    void on_change(ChangeCallback callback);  // before start()
    void start();
    // Wait-free, safe from any thread: the main loop is alive (a coarse
    // monotonic clock read and one relaxed atomic store).
    void pulse() noexcept;
    // Graceful: announces the departure, then joins the threads. Idempotent.
    void stop();

    bool is_leader() const;
    std::string leader() const;
    Status status() const;
    const Config& config() const;

private:
    struct Impl;
    friend class Sidecar;  // the monitor thread's state, in monitor.cpp
    std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
