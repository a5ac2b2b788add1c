#pragma once
// The examples' own knobs (WORKLOAD_SIZE, CHAOS_ENABLED, ...), read the way
// vigil reads its own: the environment first, then the same INI file
// ($VIGIL_CONFIG, else config/config.ini if it exists), then a default.
// A value that is present but unreadable throws vigil::ConfigError naming
// the key: a typo must not silently become the default.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "vigil/config.hpp"

namespace example {

class Settings {
public:
    // Reads the process environment and the INI file.
    static Settings load();
    // For tests: explicit sources. Keys are upper-case.
    Settings(std::map<std::string, std::string> env, std::map<std::string, std::string> ini);

    std::optional<std::string> raw(const std::string& key) const;
    std::string get_string(const std::string& key, const std::string& fallback) const;
    std::uint64_t get_uint(const std::string& key, std::uint64_t fallback,
                           std::uint64_t min, std::uint64_t max) const;
    bool get_bool(const std::string& key, bool fallback) const;
    vigil::Millis get_duration(const std::string& key, vigil::Millis fallback) const;

private:
    std::map<std::string, std::string> env_;
    std::map<std::string, std::string> ini_;
};

// Strict unsigned parse of the whole string; nullopt on anything else.
std::optional<std::uint64_t> parse_uint(const std::string& text);

}  // namespace example
