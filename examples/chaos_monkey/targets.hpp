#pragma once
// The chaos monkey's choice of victim, pure: no docker, no clock, the random
// generator passed in, so tests (and a CHAOS_SEED) make it reproducible.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace example {

struct ContainerRow {
    std::string name;
    std::string role;  // the container's vigil.role label; "" when it has none
    bool operator==(const ContainerRow&) const = default;
};

// Roles the monkey may kill. Anything else, including "infrastructure"
// (RabbitMQ) and containers without the label, is never a target.
bool is_killable_role(const std::string& role) noexcept;

// Docker's own rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]*, here at
// most 128 bytes. Names come from `docker ps` output and are data: a name that
// could read as an option ("-x") or carries anything odd is skipped.
bool is_valid_container_name(const std::string& name) noexcept;

// Parses `docker ps --format '{{.Names}}\t{{.Label "vigil.role"}}'` output.
// Lines that do not have that shape are skipped. At most `max_rows` rows.
std::vector<ContainerRow> parse_ps_output(const std::string& text, std::size_t max_rows = 1024);

// The rows that may be killed: valid name, killable role, not `self_name`
// (exact comparison, never a substring), each name once, sorted by name so
// the choice does not depend on the order docker lists them in.
std::vector<ContainerRow> eligible_targets(const std::vector<ContainerRow>& rows, const std::string& self_name);

// One eligible row chosen uniformly with `rng`; nullopt when there is none.
std::optional<ContainerRow> choose_target(const std::vector<ContainerRow>& rows, const std::string& self_name,
                                          std::mt19937_64& rng);

}  // namespace example
