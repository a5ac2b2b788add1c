#include "server/result_book.hpp"

#include <cinttypes>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "common/settings.hpp"
#include "common/workload.hpp"

namespace example {
namespace {

constexpr const char* kMagic = "vigil-example-progress 1";

void fnv_mix(std::uint64_t& hash, std::uint64_t word) noexcept {
    for (int byte = 0; byte < 8; ++byte) {
        hash ^= (word >> (8 * byte)) & 0xffU;
        hash *= 0x100000001b3ULL;
    }
}

// Splits "a b" into two unsigned numbers; nothing else is accepted.
std::optional<std::pair<std::uint64_t, std::uint64_t>> two_numbers(const std::string& line) {
    const auto space = line.find(' ');
    if (space == std::string::npos) {
        return std::nullopt;
    }
    const auto first = parse_uint(line.substr(0, space));
    const auto second = parse_uint(line.substr(space + 1));
    if (!first || !second) {
        return std::nullopt;
    }
    return std::make_pair(*first, *second);
}

std::optional<std::uint64_t> keyed_number(const std::string& line, const std::string& key) {
    if (line.rfind(key + " ", 0) != 0) {
        return std::nullopt;
    }
    return parse_uint(line.substr(key.size() + 1));
}

}  // namespace

const char* to_string(RecordOutcome outcome) noexcept {
    switch (outcome) {
        case RecordOutcome::New: return "new";
        case RecordOutcome::Duplicate: return "duplicate";
        case RecordOutcome::Conflict: return "conflict";
        case RecordOutcome::Unknown: return "unknown";
    }
    return "?";
}

ResultBook::ResultBook(std::uint64_t size) : size_(size) {
    if (size > kMaxWorkloadSize) {  // a programmer error: settings are range-checked first
        throw std::invalid_argument("workload size " + std::to_string(size) + " above the maximum");
    }
    values_.assign(size, 0);
    has_.assign(size, false);
}

RecordOutcome ResultBook::record(std::uint64_t id, std::uint64_t value) {
    if (id >= size_) {
        ++unknown_;
        return RecordOutcome::Unknown;
    }
    if (has_[id]) {
        if (values_[id] == value) {
            ++duplicates_;
            return RecordOutcome::Duplicate;
        }
        ++conflicts_;
        return RecordOutcome::Conflict;
    }
    has_[id] = true;
    values_[id] = value;
    ++done_count_;
    return RecordOutcome::New;
}

std::vector<std::uint64_t> ResultBook::pending() const {
    std::vector<std::uint64_t> ids;
    ids.reserve(size_ - done_count_);
    for (std::uint64_t id = 0; id < size_; ++id) {
        if (!has_[id]) {
            ids.push_back(id);
        }
    }
    return ids;
}

std::uint64_t ResultBook::checksum() const noexcept {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (std::uint64_t id = 0; id < size_; ++id) {
        if (has_[id]) {
            fnv_mix(hash, id);
            fnv_mix(hash, values_[id]);
        }
    }
    return hash;
}

std::uint64_t ResultBook::sum() const noexcept {
    std::uint64_t total = 0;
    for (std::uint64_t id = 0; id < size_; ++id) {
        if (has_[id]) {
            total += values_[id];
        }
    }
    return total;
}

std::string ResultBook::serialize() const {
    std::string text;
    text.reserve(64 + done_count_ * 16);
    text += kMagic;
    text += "\nsize " + std::to_string(size_) + "\n";
    for (std::uint64_t id = 0; id < size_; ++id) {
        if (has_[id]) {
            text += std::to_string(id) + " " + std::to_string(values_[id]) + "\n";
        }
    }
    text += "end " + std::to_string(done_count_) + "\n";
    return text;
}

std::optional<ResultBook> ResultBook::parse(const std::string& text, std::string* error) {
    auto refuse = [error](std::size_t line_number, const std::string& why) -> std::optional<ResultBook> {
        if (error != nullptr) {
            *error = "line " + std::to_string(line_number) + ": " + why;
        }
        return std::nullopt;
    };
    std::istringstream lines{text};
    std::string line;
    std::size_t line_number = 1;
    if (!std::getline(lines, line) || line != kMagic) {
        return refuse(line_number, "not a progress file");
    }
    ++line_number;
    std::optional<std::uint64_t> size;
    if (!std::getline(lines, line) || !(size = keyed_number(line, "size")) || *size > kMaxWorkloadSize) {
        return refuse(line_number, "bad size");
    }
    ResultBook book{*size};
    // Bounded by the file: every line is consumed once.
    while (std::getline(lines, line)) {
        ++line_number;
        if (const auto count = keyed_number(line, "end")) {
            if (*count != book.done_count_) {
                return refuse(line_number, "count mismatch");
            }
            if (std::getline(lines, line)) {
                return refuse(line_number + 1, "data after the end");
            }
            return book;
        }
        const auto entry = two_numbers(line);
        if (!entry) {
            return refuse(line_number, "malformed entry");
        }
        if (book.record(entry->first, entry->second) != RecordOutcome::New) {
            return refuse(line_number, "unknown or repeated id");
        }
    }
    return refuse(line_number, "truncated (no end line)");
}

std::string ResultBook::checksum_hex() const {
    char text[20];
    std::snprintf(text, sizeof text, "%016" PRIx64, checksum());
    return text;
}

std::string ResultBook::summary() const {
    return "tasks " + std::to_string(size_) + "\nresults " + std::to_string(done_count_) + "\nchecksum " +
           checksum_hex() + "\nsum " + std::to_string(sum()) + "\n";
}

ResultBook expected_results(std::uint64_t size) {
    ResultBook book{size};
    for (std::uint64_t id = 0; id < size; ++id) {
        book.record(id, compute(task_input(id)).value_or(0));
    }
    return book;
}

}  // namespace example
