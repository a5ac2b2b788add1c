#pragma once
// Fast crash signals waiting for confirmation. A report is taken for a death
// only if nothing proves the member alive within a short window: a closed
// connection may be a blink that its transport is already reconnecting (the
// reconnect window), an exited container may have said goodbye a moment
// before (its goodbye and Docker's event race each other). Pure.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/observation.hpp"
#include "vigil/time.hpp"

namespace vigil {

// Signals as the core took them; an operator sees them in status().
struct SignalCounters {
    std::uint64_t link_closed = 0;       // received, by kind
    std::uint64_t container_exited = 0;
    std::uint64_t container_started = 0;
    std::uint64_t stale = 0;      // about an earlier life or connection than one heard
    std::uint64_t moot = 0;       // about ourselves, a stranger, a departed or restarting member, or while cut off
    std::uint64_t duplicate = 0;  // already reported
    std::uint64_t disproved = 0;  // the member was heard (or started) again within the window
    std::uint64_t confirmed = 0;  // taken for a death
    std::uint64_t unused = 0;     // confirmed while not leading, or not hearing ourselves: left to heartbeats
};

class CrashReports {
public:
    struct Report {
        Observation::Kind kind = Observation::Kind::LinkClosed;
        // The life it is about: LinkClosed's own; for an exit, the life heard last.
        std::uint64_t incarnation = 0;
        std::uint64_t link = 0;  // LinkClosed only
        Millis at{0};            // ContainerExited: when it exited
        Millis confirm_at{0};
        // About the very life (and link) we heard ourselves, not one we only
        // know by gossip: good enough to skip an election's ANSWER wait.
        bool exact = false;
    };

    // False if a report as new or newer is pending already (a duplicate).
    bool add(const std::string& name, const Report& report);
    // A message of this life and link was heard: another life, or a later
    // link of the same life, disproves the report. True if it did.
    bool heard(const std::string& name, std::uint64_t incarnation, std::uint64_t link);
    // Its container started at `at`: a later life is on its way. An exit
    // reported from before then (pending, or still to come: Docker's events
    // may arrive out of order) is about an earlier life. True if it
    // disproved a pending report.
    bool started(const std::string& name, Millis at);
    bool started_since(const std::string& name, Millis at) const;
    void drop(const std::string& name) { pending_.erase(name); }
    // Not confirmed before `at` (a probe's answer may still be on its way).
    void defer(const std::string& name, Millis at);
    void clear() { pending_.clear(); }

    // Reports whose window has passed, in name order; they are removed.
    std::vector<std::pair<std::string, Report>> take_due(Millis now);
    std::optional<Millis> next_due() const;
    bool pending(const std::string& name) const { return pending_.count(name) != 0; }
    // Members with a report pending (only those about the life and link we
    // heard ourselves: `exact_only`).
    std::vector<std::string> names(bool exact_only = false) const;

private:
    std::map<std::string, Report> pending_;  // at most one per member: bounded by the table
    std::map<std::string, Millis> last_start_;  // members' containers' latest starts
};

}  // namespace vigil
