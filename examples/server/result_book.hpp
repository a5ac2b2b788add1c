#pragma once
// The server's bookkeeping, pure: which task ids have a result, and what it is.
// Results are idempotent: the first result for an id counts, a repeat is a
// duplicate (expected after redeliveries and re-publishes) and changes nothing.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace example {

enum class RecordOutcome {
    New,        // first result for this id: recorded
    Duplicate,  // same id, same value: ignored
    Conflict,   // same id, another value: ignored (the first one stays)
    Unknown,    // id outside the workload: ignored
};

const char* to_string(RecordOutcome outcome) noexcept;

class ResultBook {
public:
    // size: the number of tasks, ids 0 .. size-1. Throws std::invalid_argument
    // above kMaxWorkloadSize.
    explicit ResultBook(std::uint64_t size);

    RecordOutcome record(std::uint64_t id, std::uint64_t value);

    std::uint64_t size() const noexcept { return size_; }
    std::uint64_t done_count() const noexcept { return done_count_; }
    bool done() const noexcept { return done_count_ == size_; }
    bool has(std::uint64_t id) const noexcept { return id < size_ && has_[id]; }
    // Ids still without a result, ascending.
    std::vector<std::uint64_t> pending() const;

    // FNV-1a (64 bit) over (id, value) of every recorded result in id order:
    // order-independent in how results arrived, sensitive to any lost,
    // extra or wrong one. Final once done().
    std::uint64_t checksum() const noexcept;
    std::string checksum_hex() const;  // 16 lower-case hex digits
    std::uint64_t sum() const noexcept;  // plain sum of the values, mod 2^64

    // Counters since construction (not persisted).
    std::uint64_t duplicates() const noexcept { return duplicates_; }
    std::uint64_t conflicts() const noexcept { return conflicts_; }
    std::uint64_t unknown() const noexcept { return unknown_; }

    // The progress file: a header, one "id value" line per result, a trailer
    // with the count (so a truncated file is refused, not half-trusted).
    std::string serialize() const;
    // nullopt (and *error set) on any malformed line, duplicate id or wrong count.
    static std::optional<ResultBook> parse(const std::string& text, std::string* error);

    // The text of result.txt.
    std::string summary() const;

private:
    std::uint64_t size_;
    std::uint64_t done_count_ = 0;
    std::vector<std::uint64_t> values_;
    std::vector<bool> has_;
    std::uint64_t duplicates_ = 0;
    std::uint64_t conflicts_ = 0;
    std::uint64_t unknown_ = 0;
};

// The result of a run without faults, computed locally (server --print-expected).
ResultBook expected_results(std::uint64_t size);

}  // namespace example
