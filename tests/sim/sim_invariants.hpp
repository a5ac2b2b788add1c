#pragma once
// The properties every run must keep, checked as the simulation runs (hooks
// called by Simulation) and once the cluster has converged.
//
//  I1 converged: every node alive and connected, exactly one leader, the
//     highest name, and every node names it (checked after the fault phase).
//  I2 only a node that is leader right after the call that emitted it
//     emits a restart, never for itself, only for expected members.
//  I3 every dead node is restarted: after the faults end, the cluster is whole
//     again within convergence_bound() (sim_config.hpp).
//  I4 no false death (first, do no harm): a restart emitted for node X by
//     leader L at time t is a violation when X is alive with a watchdog not
//     expired and, for the whole window [t - false_death_window(), t], X held
//     one unbroken broker connection and no message from X to L was lost or
//     split away. L's own link is no excuse: a leader that is cut off (closed,
//     black-holed, freshly back) must restart no one that is fine. X itself
//     partitioned, lossy or freshly reconnected may be declared dead.
//     Also: a leader that heard X's Goodbye (and nothing from X since) must
//     not restart X while it stays gone.
//  I5 apoptosis: a process whose service stopped pulsing terminates on the
//     first watchdog check after pulse_timeout of silence (so within
//     pulse_timeout + tick_max); a pulsing process never expires.
//  I7 no restart storm: within one reign of one leader process, no restart of
//     X while its previous restart of X is still running, or booting (done ok
//     less than boot_grace ago and X not heard since its new process started), and consecutive
//     restarts of X spaced by at least the back-off (first immediate, then
//     backoff_initial doubling to backoff_max; a chain ends after a gap longer
//     than backoff_reset_after or a Goodbye from X).
//  I8 Bully: a node does not become leader while a higher node has been
//     reachable both ways (both connected, no split, nothing lost between
//     them) for usurper_window(): that node would have sent it an ANSWER.
//  I9 memory across reigns: when X was last restarted by another process P,
//     and the new issuer could have known it (P is still alive, both links
//     up and nothing lost from P to it since P issued it, and a heartbeat
//     interval has passed), the new restart must not overlap P's (still
//     running) and must respect P's back-off (P's own count in its reign).
//  I6 split brain settles: two nodes that both lead, and have heard each
//     other (connected, no split between them, nothing lost either way) for
//     longer than split_brain_bound(), are a violation. A leader names itself
//     as leader. (Global "one leader per term" is NOT a property of this core:
//     terms are not persisted, so a restarted process starts at term 0, and an
//     isolated node may lead in a term another node led in before.)
#include <cstdint>
#include <map>
#include <utility>
#include <string>
#include <vector>

#include "sim_trace.hpp"
#include "vigil/time.hpp"

namespace vigil::sim {

class Simulation;

struct Violation {
    Millis at{0};
    std::string what;
};

class Invariants {
public:
    explicit Invariants(Trace& trace) : trace_(trace) {}

    void after_call(const Simulation& sim, std::size_t slot, Millis now);
    void on_restart(const Simulation& sim, std::size_t issuer, const std::string& target, Millis now);
    void on_watchdog(const Simulation& sim, std::size_t slot, bool expired, Millis now);
    void restart_started(const Simulation& sim, std::size_t issuer, std::size_t command, Millis now);
    void became_leader(const Simulation& sim, std::size_t slot, Millis now);
    // I12: a death confirmed from a fast signal (late, duplicated, about an
    // earlier life or link) is never one of a live incarnation.
    void on_signal_death(const Simulation& sim, std::size_t issuer, const std::string& name, Millis now);
    void check_split_brain(const Simulation& sim, std::size_t slot, Millis now);
    // "" when I1 holds, else what is still wrong.
    std::string why_not_converged(const Simulation& sim) const;
    // "" when the faults' after-effects are over: the hold may start.
    std::string why_not_settled(const Simulation& sim) const;

    void fail(Millis now, std::string what);
    bool ok() const { return violations_.empty(); }
    const std::vector<Violation>& violations() const { return violations_; }
    std::string first() const { return violations_.empty() ? "" : violations_.front().what; }

private:
    void check_storm(const Simulation& sim, std::size_t issuer, std::size_t target, Millis now);
    void check_memory(const Simulation& sim, std::size_t issuer, std::size_t target, Millis now);

    Trace& trace_;
    std::vector<Violation> violations_;
    struct Chain {  // one leader reign's restarts of one member
        Millis reign{0};
        std::size_t last_command = 0;
        Millis last_restart{0};
        std::uint32_t in_a_row = 0;
    };
    std::map<std::pair<std::uint64_t, std::size_t>, Chain> chains_;  // (issuer process, target)
    std::map<std::size_t, std::size_t> last_command_of_;  // target -> its latest restart command, by anyone
};

}  // namespace vigil::sim
