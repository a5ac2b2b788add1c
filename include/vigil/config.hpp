#pragma once
// Every knob, loaded once from the environment, then config/config.ini, then
// defaults, and validated once. Invalid values throw ConfigError naming the key.
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "vigil/time.hpp"

namespace vigil {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct BrokerConfig {
    std::string host = "localhost";
    int port = 5672;
    std::string user = "guest";
    std::string password = "guest";
    std::string vhost = "/";
    Millis connect_timeout{2000};
    Millis reconnect_backoff_initial{500};
    Millis reconnect_backoff_max{5000};
};

enum class RestartBackend { Docker, Command, None };

struct RestartConfig {
    RestartBackend backend = RestartBackend::Docker;
    // argv template for the Command back-end; "{name}" is replaced in each word.
    std::vector<std::string> command;
    Millis timeout{30000};            // a restart still running after this is killed
    Millis boot_grace{10000};         // after a restart, time to heartbeat again
    Millis backoff_initial{10000};    // CrashLoopBackOff: 10 s doubling ...
    Millis backoff_max{300000};       // ... to 5 min
    Millis backoff_reset_after{600000};  // reset after 10 min healthy
};

struct Config {
    std::string node_name;  // CONTAINER_NAME; required
    Millis heartbeat_interval{2000};
    Millis heartbeat_timeout{6000};
    Millis election_timeout{3000};
    Millis pulse_timeout{30000};  // apoptosis; armed by the first pulse()
    std::string control_exchange = "control_exchange";
    std::vector<std::string> expected_members;  // besides any node heard
    std::size_t max_message_bytes = 4096;
    std::size_t max_members = 1024;
    // More than this share of members dead at once: restarts on silence are
    // paced to one per mass_silence_pace (0 = one per heartbeat_interval).
    std::uint32_t mass_silence_percent = 50;
    Millis mass_silence_pace{0};
    // Fast crash signals. A member whose broker connection closed is dead if
    // that life has not reconnected within this (a transport's first
    // reconnect comes within 0.5 s). Docker's events are followed
    // by the leader when the restart back-end is docker and this is on.
    Millis reconnect_window{1000};
    bool docker_events = true;
    BrokerConfig broker;
    RestartConfig restart;

    // Environment first, then the INI file (default: $VIGIL_CONFIG, else
    // config/config.ini if it exists), then defaults. Throws ConfigError.
    static Config load();
    static Config load(const std::map<std::string, std::string>& env,
                       const std::string& ini_path);

    // Throws ConfigError on the first inconsistent value.
    void validate() const;
};

// Parses the seed's "KEY: value" and "key = value" lines; '#' and ';' start
// comments; [sections] are accepted and ignored. Keys are upper-cased.
// Throws ConfigError (with the line number) on a line it cannot read.
std::map<std::string, std::string> parse_ini(const std::string& text);

// "2", "2s", "1.5", "500ms" -> milliseconds. Throws ConfigError naming key.
Millis parse_duration(const std::string& key, const std::string& value);

}  // namespace vigil
