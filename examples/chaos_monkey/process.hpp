#pragma once
// Runs a command from an argv (posix_spawnp, never a shell), captures its
// stdout, and bounds it in time: past the timeout it is killed with SIGKILL.
// The caller's `while_waiting` runs every ~100 ms meanwhile (to pulse).
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace example {

struct ProcessResult {
    bool started = false;    // false: the program could not be spawned at all
    bool timed_out = false;  // killed at the deadline
    int exit_code = -1;      // -1 when it did not exit normally
    std::string output;      // stdout, at most max_output bytes (the rest is dropped)

    bool ok() const noexcept { return started && !timed_out && exit_code == 0; }
};

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::function<void()>& while_waiting, std::size_t max_output = 1 << 20);

}  // namespace example
