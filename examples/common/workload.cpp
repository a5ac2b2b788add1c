#include "common/workload.hpp"

#include <nlohmann/json.hpp>

namespace example {
namespace {

// Reads a non-negative integer member; rejects floats, strings, negatives.
std::optional<std::uint64_t> get_uint_member(const nlohmann::json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number_unsigned()) {
        return std::nullopt;
    }
    return it->get<std::uint64_t>();
}

std::optional<nlohmann::json> parse_object(const std::string& body, std::size_t members) {
    // nlohmann's parser stops at a NUL byte; anything after it would slip by.
    if (body.size() > kMaxBodyBytes || body.find('\0') != std::string::npos) {
        return std::nullopt;
    }
    auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded() || !json.is_object() || json.size() != members) {
        return std::nullopt;
    }
    return json;
}

}  // namespace

std::uint64_t task_input(std::uint64_t task_id) noexcept {
    // Knuth's multiplicative hash spreads consecutive ids over the range.
    return 1 + (task_id * 2654435761ULL) % kMaxTaskInput;
}

std::optional<std::uint64_t> compute(std::uint64_t input) noexcept {
    if (input < 1 || input > kMaxTaskInput) {
        return std::nullopt;
    }
    // Below 1e6 the longest trajectory has 524 steps and peaks below 2^37,
    // so neither the bound nor 64-bit overflow is ever reached.
    std::uint64_t n = input;
    std::uint64_t steps = 0;
    while (n != 1 && steps < 10'000) {
        n = (n % 2 == 0) ? n / 2 : 3 * n + 1;
        ++steps;
    }
    return steps;
}

std::string encode_task(const Task& task) {
    return nlohmann::json{{"id", task.id}, {"input", task.input}}.dump();
}

std::string encode_result(const Result& result) {
    return nlohmann::json{{"id", result.id}, {"value", result.value}}.dump();
}

namespace {

// Tasks and results are both {"id": n, <key>: n}: one decoder for the pair.
template <typename Pair>
std::optional<Pair> decode_id_and(const std::string& body, const char* key) noexcept {
    try {
        const auto json = parse_object(body, 2);
        if (!json) {
            return std::nullopt;
        }
        const auto id = get_uint_member(*json, "id");
        const auto second = get_uint_member(*json, key);
        if (!id || !second) {
            return std::nullopt;
        }
        return Pair{*id, *second};
    } catch (...) {  // allocation failure: still just a dropped message
        return std::nullopt;
    }
}

}  // namespace

std::optional<Task> decode_task(const std::string& body) noexcept { return decode_id_and<Task>(body, "input"); }

std::optional<Result> decode_result(const std::string& body) noexcept { return decode_id_and<Result>(body, "value"); }

}  // namespace example
