#include "chaos_monkey/targets.hpp"

#include <algorithm>
#include <sstream>

namespace example {
namespace {

bool is_name_start(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_name_char(char c) noexcept { return is_name_start(c) || c == '_' || c == '.' || c == '-'; }

}  // namespace

bool is_killable_role(const std::string& role) noexcept {
    return role == "server" || role == "worker" || role == "chaos_monkey";
}

bool is_valid_container_name(const std::string& name) noexcept {
    if (name.empty() || name.size() > 128 || !is_name_start(name.front())) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), is_name_char);
}

std::vector<ContainerRow> parse_ps_output(const std::string& text, std::size_t max_rows) {
    std::vector<ContainerRow> rows;
    std::istringstream lines{text};
    std::string line;
    while (rows.size() < max_rows && std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        const auto tab = line.find('\t');
        if (tab == std::string::npos || line.find('\t', tab + 1) != std::string::npos) {
            continue;  // exactly two fields, or it is not our format
        }
        rows.push_back(ContainerRow{line.substr(0, tab), line.substr(tab + 1)});
    }
    return rows;
}

std::vector<ContainerRow> eligible_targets(const std::vector<ContainerRow>& rows, const std::string& self_name) {
    std::vector<ContainerRow> targets;
    for (const auto& row : rows) {
        if (row.name != self_name && is_valid_container_name(row.name) && is_killable_role(row.role)) {
            targets.push_back(row);
        }
    }
    std::sort(targets.begin(), targets.end(),
              [](const ContainerRow& a, const ContainerRow& b) {
                  return a.name != b.name ? a.name < b.name : a.role < b.role;
              });
    targets.erase(std::unique(targets.begin(), targets.end(),
                              [](const ContainerRow& a, const ContainerRow& b) { return a.name == b.name; }),
                  targets.end());
    return targets;
}

std::optional<ContainerRow> choose_target(const std::vector<ContainerRow>& rows, const std::string& self_name,
                                          std::mt19937_64& rng) {
    const auto targets = eligible_targets(rows, self_name);
    if (targets.empty()) {
        return std::nullopt;
    }
    // rng() % n rather than a std distribution: mt19937_64's output is fixed by
    // the standard, so a seed picks the same victims with any library. The
    // modulo bias over 2^64 is negligible.
    return targets[static_cast<std::size_t>(rng() % targets.size())];
}

}  // namespace example
