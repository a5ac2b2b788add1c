#pragma once
// Which dead node to restart, and when: one restart at a time per node, a boot
// grace after each, and CrashLoopBackOff for a node that keeps dying.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vigil/time.hpp"

namespace vigil {

struct RecoveryPolicy {
    Millis boot_grace{10000};
    Millis backoff_initial{10000};
    Millis backoff_max{300000};
    Millis backoff_reset_after{600000};
};

class RecoveryPlanner {
public:
    explicit RecoveryPlanner(RecoveryPolicy policy) : policy_(policy) {}

    // Of these dead members, the ones to restart now, at most `limit`. Each
    // returned name is marked in flight until finished() is called for it.
    std::vector<std::string> plan(const std::vector<std::string>& dead, Millis now,
                                  std::size_t limit = SIZE_MAX);
    // The restart command ended (ok = exit status 0).
    void finished(const std::string& name, bool ok, Millis now);
    // The member was heard from; enough healthy time resets its back-off.
    void healthy(const std::string& name, Millis now);
    // The member was declared dead: its healthy streak is over.
    void unhealthy(const std::string& name);
    void forget(const std::string& name) { nodes_.erase(name); }
    void clear() { nodes_.clear(); }

    bool in_flight(const std::string& name) const;
    std::uint32_t restarts_in_a_row(const std::string& name) const;
    // Earliest time a restart of `name` may start (now if allowed).
    Millis next_allowed(const std::string& name, Millis now) const;

private:
    struct Node {
        bool in_flight = false;
        std::uint32_t in_a_row = 0;
        Millis last_restart{0};
        Millis booting_until{0};
        bool healthy_streak = false;
        Millis healthy_since{0};
    };
    Millis backoff_after(std::uint32_t in_a_row) const;

    RecoveryPolicy policy_;
    std::map<std::string, Node> nodes_;
};

}  // namespace vigil
