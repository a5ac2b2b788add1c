#include "common/settings.hpp"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace example {
namespace {

std::map<std::string, std::string> read_environment() {
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
        const std::string line{*entry};
        const auto eq = line.find('=');
        if (eq != std::string::npos && eq > 0) {
            env.emplace(line.substr(0, eq), line.substr(eq + 1));
        }
    }
    return env;
}

std::map<std::string, std::string> read_ini(const std::map<std::string, std::string>& env) {
    std::string path;
    const auto explicit_path = env.find("VIGIL_CONFIG");
    if (explicit_path != env.end() && !explicit_path->second.empty()) {
        path = explicit_path->second;  // named on purpose: it must exist
    } else if (std::filesystem::exists("config/config.ini")) {
        path = "config/config.ini";
    } else {
        return {};
    }
    std::ifstream file{path};
    if (!file) {
        throw vigil::ConfigError("cannot read config file " + path);
    }
    std::ostringstream text;
    text << file.rdbuf();
    return vigil::parse_ini(text.str());
}

std::string lower(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
        return "";
    }
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

}  // namespace

std::optional<std::uint64_t> parse_uint(const std::string& text) {
    std::uint64_t value = 0;
    const char* begin = text.data();
    const char* end = text.data() + text.size();
    if (begin == end) {
        return std::nullopt;
    }
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc{} || ptr != end) {
        return std::nullopt;
    }
    return value;
}

Settings Settings::load() {
    auto env = read_environment();
    auto ini = read_ini(env);
    return Settings{std::move(env), std::move(ini)};
}

Settings::Settings(std::map<std::string, std::string> env, std::map<std::string, std::string> ini)
    : env_(std::move(env)), ini_(std::move(ini)) {}

std::optional<std::string> Settings::raw(const std::string& key) const {
    // An empty environment variable counts as unset, as compose files often
    // write `KEY=` for "not configured".
    if (const auto it = env_.find(key); it != env_.end() && !trim(it->second).empty()) {
        return trim(it->second);
    }
    if (const auto it = ini_.find(key); it != ini_.end() && !trim(it->second).empty()) {
        return trim(it->second);
    }
    return std::nullopt;
}

std::string Settings::get_string(const std::string& key, const std::string& fallback) const {
    return raw(key).value_or(fallback);
}

std::uint64_t Settings::get_uint(const std::string& key, std::uint64_t fallback,
                                 std::uint64_t min, std::uint64_t max) const {
    const auto text = raw(key);
    if (!text) {
        return fallback;
    }
    const auto value = parse_uint(*text);
    if (!value || *value < min || *value > max) {
        throw vigil::ConfigError(key + ": expected an integer in [" + std::to_string(min) + ", " +
                                 std::to_string(max) + "], got '" + *text + "'");
    }
    return *value;
}

bool Settings::get_bool(const std::string& key, bool fallback) const {
    const auto text = raw(key);
    if (!text) {
        return fallback;
    }
    const std::string value = lower(*text);
    if (value == "true" || value == "1" || value == "yes" || value == "on") {
        return true;
    }
    if (value == "false" || value == "0" || value == "no" || value == "off") {
        return false;
    }
    throw vigil::ConfigError(key + ": expected true/false, got '" + *text + "'");
}

vigil::Millis Settings::get_duration(const std::string& key, vigil::Millis fallback) const {
    const auto text = raw(key);
    return text ? vigil::parse_duration(key, *text) : fallback;
}

}  // namespace example
