#include "line_child.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "spawn.hpp"

namespace vigil {
namespace {

// How often to look for the exit of a child that closed its stdout.
constexpr Millis kExitCheckInterval{10};

// "docker events" for {"docker", "events", "--format", ...}: what the news names.
std::string label_of(const std::vector<std::string>& argv) {
    if (argv.empty()) return "(no command)";
    std::string label = argv[0].substr(argv[0].rfind('/') + 1);
    if (argv.size() > 1 && !argv[1].empty() && argv[1][0] != '-') label += " " + argv[1];
    return label;
}

// "2 s", "1.5 s", "250 ms".
std::string describe_delay(Millis delay) {
    const auto ms = delay.count();
    if (ms >= 1000 && ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
    if (ms >= 1000 && ms % 100 == 0) return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + " s";
    return std::to_string(ms) + " ms";
}

}  // namespace

LineChild::LineChild(std::vector<std::string> argv, Millis backoff_initial, Millis backoff_max,
                     std::size_t max_line_bytes)
    : argv_(std::move(argv)),
      label_(label_of(argv_)),
      backoff_initial_(backoff_initial),
      backoff_max_(std::max(backoff_max, backoff_initial)),
      backoff_(backoff_initial),
      max_line_bytes_(max_line_bytes) {}

LineChild::~LineChild() { stop(); }

std::vector<std::string> LineChild::poll(Millis now) {
    std::vector<std::string> lines;
    if (stopped_) return lines;
    if (pid_ < 0 && now >= restart_at_) start(now);
    if (pid_ < 0) return lines;

    read_lines(lines, kMaxReadPerPoll);
    if (fd_ < 0 && eof_at_ == Millis::min()) eof_at_ = now;
    if (has_exited(pid_)) {
        // Whatever the group still runs goes first, so that nothing writes
        // while the pipe is drained of what the child said before it ended.
        const int status = kill_group_and_reap(pid_);
        pid_ = -1;
        read_lines(lines, kMaxReadPerPoll);
        close_pipe();
        const std::string how = status < 0 ? "ended (reaped elsewhere)" : "exited (" + describe_wait_status(status) + ")";
        ended(now, now - started_at_, how);
        return lines;
    }
    if (fd_ < 0 && now - eof_at_ >= kStopGrace) kill(-pid_, SIGKILL);  // alive without its stdout: useless
    if (in_outage_ && now - started_at_ >= kRecoveredAfter) {
        in_outage_ = false;
        news_.push_back(label_ + " running again");
    }
    return lines;
}

Millis LineChild::next_due(Millis now) const noexcept {
    if (stopped_) return Millis::max();
    if (pid_ < 0) return std::max(restart_at_, now);
    return now + (fd_ >= 0 ? kReapCheckInterval : kExitCheckInterval);
}

void LineChild::stop() noexcept {
    if (pid_ > 0) {
        kill(-pid_, SIGTERM);
        const auto give_up = std::chrono::steady_clock::now() + kStopGrace;
        while (!has_exited(pid_) && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        kill_group_and_reap(pid_);
        pid_ = -1;
    }
    close_pipe();
    stopped_ = true;
}

std::optional<std::string> LineChild::take_news() {
    if (news_.empty()) return std::nullopt;
    std::string news = std::move(news_.front());
    news_.pop_front();
    return news;
}

void LineChild::start(Millis now) {
    SpawnedChild child;
    if (const int error = spawn_child(argv_, ChildStdout::Pipe, child); error != 0) {
        // ENOENT (no Docker CLI here) is an outage like any other: it may be installed later.
        ended(now, Millis{0}, std::string("cannot start (") + std::strerror(error) + ")");
        return;
    }
    pid_ = child.pid;
    fd_ = child.stdout_fd;
    started_at_ = now;
    eof_at_ = Millis::min();
    partial_.clear();
    skipping_line_ = false;
    ++starts_;
}

void LineChild::read_lines(std::vector<std::string>& lines, std::size_t budget) {
    char buffer[64 * 1024];
    while (fd_ >= 0 && budget > 0) {
        const ssize_t got = read(fd_, buffer, std::min(sizeof buffer, budget));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (got <= 0) {  // end of file (or a broken pipe): the last line needs no newline
            if (!partial_.empty() && !skipping_line_) lines.push_back(std::move(partial_));
            partial_.clear();
            close_pipe();
            return;
        }
        budget -= static_cast<std::size_t>(got);
        const char* from = buffer;
        const char* const end = buffer + got;
        while (from < end) {
            const auto left = static_cast<std::size_t>(end - from);
            const auto* newline = static_cast<const char*>(std::memchr(from, '\n', left));
            const char* const until = newline != nullptr ? newline : end;
            if (!skipping_line_) {
                const auto piece = static_cast<std::size_t>(until - from);
                if (partial_.size() + piece > max_line_bytes_) {
                    // Counted once; the rest of it, up to its newline, is skipped.
                    ++dropped_lines_;
                    skipping_line_ = true;
                    partial_.clear();
                } else {
                    partial_.append(from, piece);
                }
            }
            if (newline == nullptr) break;
            if (!skipping_line_) lines.push_back(std::move(partial_));
            partial_.clear();
            skipping_line_ = false;
            from = newline + 1;
        }
    }
}

void LineChild::ended(Millis now, Millis ran_for, const std::string& how) {
    if (ran_for >= kHealthyAfter) backoff_ = backoff_initial_;
    restart_at_ = now + backoff_;
    if (!in_outage_) {
        news_.push_back(label_ + " " + how + "; retrying in " + describe_delay(backoff_));
        in_outage_ = true;
    }
    backoff_ = std::min(backoff_ * 2, backoff_max_);
}

void LineChild::close_pipe() noexcept {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
}

}  // namespace vigil
