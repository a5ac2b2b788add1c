#pragma once
// Docker as a fast signal source: `docker events` says at once that a
// container died, `docker inspect` says what state the containers are in
// (to reconcile after the event stream was down). Pure parsers and argv
// builders, and two adapters that run the Docker CLI without blocking.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "line_child.hpp"
#include "spawn.hpp"
#include "vigil/time.hpp"

namespace vigil {

// A container's death or start, from one `docker events` line.
struct ContainerEvent {
    std::string name;        // without Docker's leading '/'
    std::int64_t wall_ms{};  // wall clock (Unix ms) of the event; 0: the event had no usable time
    int exit_code = -1;      // -1: the event had no usable exit code (a start has none)
    std::string id;          // the container's ID, "" if absent
    bool started = false;    // "start" (a later life is on its way), else "die"

    bool operator==(const ContainerEvent&) const = default;
};

// A container's state, from one line of `docker inspect`.
struct ContainerState {
    std::string name;                 // without Docker's leading '/'
    std::string status;               // "running", "exited", "dead", "created", "restarting", "paused"
    std::int64_t started_wall_ms{};   // Unix ms; 0: never started
    std::int64_t finished_wall_ms{};  // Unix ms; 0: never finished
    int exit_code = -1;               // the last run's, -1 if absent
};

// Pure: a line of `docker events --format '{{json .}}'` (Docker 20+), or
// nothing unless it is a container's "die" or "start" with a valid name.
std::optional<ContainerEvent> parse_docker_event(const std::string& json_line);

// Pure: the output of docker_inspect_argv(), one `"/name" {state}` a line.
// Lines that cannot be read are skipped, and counted in *unreadable if given.
std::vector<ContainerState> parse_inspect_states(const std::string& output, std::size_t* unreadable = nullptr);

// Pure: RFC 3339 ("2026-12-04T23:31:05.123456789Z", or with a "+02:00"
// offset) as Unix ms, fractions below a millisecond cut off; nothing if malformed.
std::optional<std::int64_t> parse_rfc3339_ms(const std::string& text);

// Pure: `docker events` for the deaths of the named containers (all, if no
// names), of those with `label` ("key" or "key=value") if it is not empty.
// Names that are not valid Docker names are skipped; if names were given and
// none is valid the argv is empty: watching every container instead would be
// a surprise.
std::vector<std::string> docker_events_argv(const std::vector<std::string>& names, const std::string& label);
// Pure: `docker inspect` of the named containers (invalid names skipped;
// empty if none is left).
std::vector<std::string> docker_inspect_argv(const std::vector<std::string>& names);

// `docker events` kept running (LineChild): the deaths it reports, as they come.
class DockerEvents {
public:
    static constexpr std::size_t kMaxLineBytes = 64 * 1024;  // a die event is well under 4 KiB, labels and all

    DockerEvents(const std::vector<std::string>& names, const std::string& label,
                 Millis backoff_initial = Millis{1000}, Millis backoff_max = Millis{30000});

    // Non-blocking: starts or restarts `docker events` when due, and returns
    // the deaths reported since the last call.
    std::vector<ContainerEvent> poll(Millis now);
    // The transitions of the event stream for a log (LineChild::take_news).
    std::optional<std::string> take_news();
    bool running() const noexcept { return child_.running(); }
    int fd() const noexcept { return child_.fd(); }
    Millis next_due(Millis now) const noexcept { return watching_ ? child_.next_due(now) : Millis::max(); }
    void stop() noexcept { child_.stop(); }
    // How often `docker events` was started. It reports only what happens
    // after it starts: deaths while it was down are for DockerInspect to find.
    std::uint64_t starts() const noexcept { return child_.starts(); }
    // Lines that are not a container's death (malformed JSON, missing fields),
    // and lines over kMaxLineBytes.
    std::uint64_t unreadable_lines() const noexcept { return unreadable_ + child_.dropped_lines(); }

private:
    std::vector<std::string> names_;  // the valid ones; empty: every container
    bool watching_;                    // false: names were given, none valid
    bool said_not_watching_ = false;
    LineChild child_;
    std::uint64_t unreadable_ = 0;
};

// One `docker inspect` run at a time, bounded in time, read without blocking.
class DockerInspect {
public:
    struct Result {
        // False only if docker could not run, timed out, or printed nothing
        // readable while failing. `docker inspect` exits 1 when one of the
        // names does not exist and still prints the others: those are valid.
        bool ok = false;
        // Empty if docker exited 0; else why not ok ("timed out after 3000 ms",
        // "cannot run docker: ...") or, ok, how docker exited ("exit 1").
        std::string error;
        std::vector<ContainerState> states;  // what was read, even if not ok
        std::size_t unreadable_lines = 0;
    };
    static constexpr Millis kDefaultTimeout{3000};
    static constexpr std::size_t kMaxOutputBytes = 4 << 20;

    explicit DockerInspect(Millis timeout = kDefaultTimeout) : timeout_(timeout) {}
    ~DockerInspect();  // kills and reaps a run still going
    DockerInspect(const DockerInspect&) = delete;
    DockerInspect& operator=(const DockerInspect&) = delete;

    // False (and nothing changes) while a run is in flight. A run that cannot
    // start, or has no valid name to ask about, still ends in poll()'s Result.
    bool start(const std::vector<std::string>& names, Millis now);
    // Non-blocking: the Result once the run has ended (or was killed at the timeout).
    std::optional<Result> poll(Millis now);
    bool busy() const noexcept { return busy_; }
    int fd() const noexcept { return child_.stdout_fd; }
    // When poll() is due at the latest: the timeout of the run in flight.
    Millis next_due(Millis now) const noexcept;

private:
    void read_output();
    Result finish(int status);

    Millis timeout_;
    bool busy_ = false;
    SpawnedChild child_;
    Millis deadline_{0};
    std::string output_;
    std::string killed_for_;  // why the run was killed ("timed out after 3000 ms"); empty: it was not
    std::optional<Result> ready_;  // ended without running: handed out by the next poll()
};

}  // namespace vigil
