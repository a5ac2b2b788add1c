#pragma once
// Which dead node to restart, and when: one restart at a time per node, a boot
// grace after each, and CrashLoopBackOff for a node that keeps dying.
//
// Its state is the cluster's, not one reign's: every node keeps a planner, the
// leader's decisions are gossiped (notes()), and whoever leads next carries on
// with the counts, the last restart times and the restarts still in flight.
#include <climits>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vigil/message.hpp"
#include "vigil/time.hpp"

namespace vigil {

struct RecoveryPolicy {
    Millis boot_grace{10000};
    Millis backoff_initial{10000};
    Millis backoff_max{300000};
    Millis backoff_reset_after{600000};
    // A restart in flight longer than this is over (the restarter kills it then).
    Millis restart_timeout{30000};
    // A restart the restarter had no room for is tried again this much later.
    Millis postpone_retry{1000};
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
    // The restarter could not take it now (no room, or one already running):
    // not a crash, so the count is undone; tried again after postpone_retry.
    void postponed(const std::string& name, Millis now);
    // The member was heard from; enough healthy time resets its back-off.
    // A new incarnation also ends a restart that another leader had in flight.
    void healthy(const std::string& name, Millis now, bool new_life = false);
    // The member was declared dead: its healthy streak is over.
    void unhealthy(const std::string& name);
    void forget(const std::string& name) { nodes_.erase(name); }

    // What this node knows, for gossip: members restarted within the reset
    // window or with a restart in flight (ages relative to `now`).
    std::vector<RestartNote> notes(Millis now) const;
    // Another node's note: news of a restart we did not know (a later one,
    // or a higher count), or that one we knew has finished.
    void learn(const RestartNote& note, Millis now);

    bool in_flight(const std::string& name) const;  // by us
    // A restart by anyone is running, or the node is still booting from one.
    bool restarting(const std::string& name, Millis now) const;
    // A goodbye while a restart command for it runs (ours, or another
    // leader's as far as we know): the SIGTERM half of `docker restart`, not a
    // departure. (An operator's stop at that very moment looks the same.)
    bool goodbye_is_restart(const std::string& name, Millis now) const;
    std::uint32_t restarts_in_a_row(const std::string& name) const;
    // Earliest time a restart of `name` may start (now if allowed).
    Millis next_allowed(const std::string& name, Millis now) const;

private:
    struct Node {
        bool in_flight = false;          // our own command is running
        Millis others_in_flight_until{0};  // another leader's command, as far as we know
        Millis others_booting_until{0};    // ... or the boot that follows it
        std::uint32_t in_a_row = 0;
        Millis last_restart{0};
        Millis previous_restart{0};  // to undo a postponed one
        Millis booting_until{0};
        Millis retry_at{0};
        bool healthy_streak = false;
        Millis healthy_since{0};
        Millis new_life_at{INT64_MIN};  // a new incarnation was last heard then
    };
    Millis backoff_after(std::uint32_t in_a_row) const;

    RecoveryPolicy policy_;
    std::map<std::string, Node> nodes_;
};

}  // namespace vigil
