#pragma once
// A supervised child process whose stdout is read as lines (`docker events`):
// started on the first poll, restarted with exponential back-off whenever it
// ends or cannot start at all. Non-blocking throughout, except stop().
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "vigil/time.hpp"

namespace vigil {

class LineChild {
public:
    // A run this long counts as healthy: the next failure waits backoff_initial again.
    static constexpr Millis kHealthyAfter{60000};
    // A restarted child still up this long has recovered (one that prints a
    // line and dies at once, retry after retry, has not).
    static constexpr Millis kRecoveredAfter{5000};
    // While running, poll at least this often: a child may end without closing
    // the pipe (a grandchild holds it), which only a check of the pid notices.
    static constexpr Millis kReapCheckInterval{1000};

    // max_line_bytes: longer lines (without the newline) are dropped and counted.
    LineChild(std::vector<std::string> argv, Millis backoff_initial, Millis backoff_max, std::size_t max_line_bytes);
    ~LineChild();  // stop()
    LineChild(const LineChild&) = delete;
    LineChild& operator=(const LineChild&) = delete;

    // Starts the child when due, returns the complete lines read since the last
    // call (without '\n'), reaps the child once it ends and schedules the restart.
    std::vector<std::string> poll(Millis now);
    // The read end of the child's stdout, or -1: for a caller's poll(2).
    int fd() const noexcept { return fd_; }
    // When poll() is due at the latest: the restart, or the next reap check.
    Millis next_due(Millis now) const noexcept;
    // SIGTERM to the child's process group, SIGKILL after a grace period,
    // reaped; for good: later polls do nothing. Blocks up to kStopGrace.
    void stop() noexcept;

    // One message per transition, for a log: the first failure of an outage
    // ("docker events exited (exit 1); retrying in 2 s"), not every retry, and
    // the recovery ("docker events running again").
    std::optional<std::string> take_news();
    bool running() const noexcept { return pid_ > 0; }
    std::uint64_t dropped_lines() const noexcept { return dropped_lines_; }
    // How many times the child was started (spawned, not counting failures to spawn).
    std::uint64_t starts() const noexcept { return starts_; }

private:
    static constexpr Millis kStopGrace{1000};
    static constexpr std::size_t kMaxReadPerPoll = 1 << 20;  // a flood cannot stall the caller

    void start(Millis now);
    void read_lines(std::vector<std::string>& lines, std::size_t budget);
    void ended(Millis now, Millis ran_for, const std::string& how);
    void close_pipe() noexcept;

    std::vector<std::string> argv_;
    std::string label_;  // "docker events": the command in the news
    Millis backoff_initial_;
    Millis backoff_max_;
    Millis backoff_;
    std::size_t max_line_bytes_;

    pid_t pid_ = -1;
    int fd_ = -1;
    Millis started_at_{0};
    Millis eof_at_{Millis::min()};  // when its stdout closed, while it still runs
    Millis restart_at_{Millis::min()};
    bool stopped_ = false;
    bool in_outage_ = false;

    std::string partial_;        // the line being read
    bool skipping_line_ = false;  // the rest of an over-long line is thrown away
    std::uint64_t dropped_lines_ = 0;
    std::uint64_t starts_ = 0;
    std::deque<std::string> news_;
};

}  // namespace vigil
