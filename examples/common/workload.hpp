#pragma once
// The deterministic workload and the data-plane message formats shared by
// server and worker.
//
// Task i (0 <= i < WORKLOAD_SIZE) carries input(i), a number in [1, 1e6]; its
// result is the Collatz stopping time of that number. Cheap, deterministic,
// and every value differs enough that a lost or doubled result changes the
// checksum.
//
// Wire format (JSON, one object per message):
//   task   {"id": 17, "input": 434213}
//   result {"id": 17, "value": 87}
#include <cstdint>
#include <optional>
#include <string>

namespace example {

// Upper bound on WORKLOAD_SIZE: the server keeps one slot per task in memory
// and rewrites its progress file (~15 bytes per result) as it goes.
inline constexpr std::uint64_t kMaxWorkloadSize = 1'000'000;
// Bodies larger than this are malformed by definition.
inline constexpr std::size_t kMaxBodyBytes = 1024;

std::uint64_t task_input(std::uint64_t task_id) noexcept;
// Collatz stopping time of n; nullopt when n is outside [1, kMaxTaskInput]
// (a hostile input must not make a worker loop or overflow).
inline constexpr std::uint64_t kMaxTaskInput = 1'000'000;
std::optional<std::uint64_t> compute(std::uint64_t input) noexcept;

struct Task {
    std::uint64_t id = 0;
    std::uint64_t input = 0;
    bool operator==(const Task&) const = default;
};

struct Result {
    std::uint64_t id = 0;
    std::uint64_t value = 0;
    bool operator==(const Result&) const = default;
};

std::string encode_task(const Task& task);
std::string encode_result(const Result& result);
// Never throw: anything that is not exactly the format above is nullopt.
std::optional<Task> decode_task(const std::string& body) noexcept;
std::optional<Result> decode_result(const std::string& body) noexcept;

}  // namespace example
