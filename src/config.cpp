// Configuration keys (environment first, then the INI file, then defaults):
//   CONTAINER_NAME (required)    HEARTBEAT_INTERVAL (2s)   HEARTBEAT_TIMEOUT (6s)
//   ELECTION_TIMEOUT (3s)        PULSE_TIMEOUT (30s)       CONTROL_EXCHANGE (control_exchange)
//   EXPECTED_MEMBERS (a,b,c)     MAX_MESSAGE_BYTES (4096)  MAX_MEMBERS (1024)
//   AMQP_URL (amqp://user:pass@host:port/vhost), or RABBITMQ_HOST, RABBITMQ_PORT,
//   RABBITMQ_USER, RABBITMQ_PASSWORD, RABBITMQ_VHOST (these override the URL's parts)
//   BROKER_CONNECT_TIMEOUT (2s)  BROKER_RECONNECT_MAX (5s, the reconnect back-off's cap)
//   RESTART_BACKEND (docker|command|none)  RESTART_COMMAND ("relaunch {name}")
//   RESTART_TIMEOUT (30s)  RESTART_BOOT_GRACE (10s)  RESTART_BACKOFF_INITIAL (10s)
//   RESTART_BACKOFF_MAX (5min=300s)  RESTART_BACKOFF_RESET_AFTER (600s)
//   MASS_SILENCE_PERCENT (50)  MASS_SILENCE_RESTART_PACE (0 = one HEARTBEAT_INTERVAL)
// Durations: "2" and "2s" are seconds, "1.5" too, "500ms" is milliseconds.
// The INI file: $VIGIL_CONFIG, else config/config.ini if it exists.
#include "vigil/config.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "vigil/message.hpp"
#include "vigil/timing.hpp"

extern char** environ;

namespace vigil {
namespace {

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::string upper(std::string text) {
    for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

[[noreturn]] void bad(const std::string& key, const std::string& value, const std::string& why) {
    throw ConfigError("invalid " + key + "='" + value + "': " + why);
}

// Values as found: environment entries win over INI entries.
class Source {
public:
    Source(const std::map<std::string, std::string>& env, std::map<std::string, std::string> ini)
        : env_(env), ini_(std::move(ini)) {}

    std::optional<std::string> get(const std::string& key) const {
        if (const auto it = env_.find(key); it != env_.end()) return it->second;
        if (const auto it = ini_.find(key); it != ini_.end()) return it->second;
        return std::nullopt;
    }

private:
    const std::map<std::string, std::string>& env_;
    std::map<std::string, std::string> ini_;
};

std::int64_t parse_integer(const std::string& key, const std::string& value, std::int64_t min,
                           std::int64_t max) {
    const std::string text = trim(value);
    std::size_t used = 0;
    long long number = 0;
    try {
        number = std::stoll(text, &used, 10);
    } catch (const std::exception&) {
        bad(key, value, "not an integer");
    }
    if (used != text.size()) bad(key, value, "not an integer");
    if (number < min || number > max) {
        bad(key, value, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    }
    return number;
}

void set_duration(const Source& source, const std::string& key, Millis& field) {
    if (const auto value = source.get(key)) field = parse_duration(key, *value);
}

template <typename Integer>
void set_integer(const Source& source, const std::string& key, Integer& field, std::int64_t min,
                 std::int64_t max) {
    if (const auto value = source.get(key)) {
        field = static_cast<Integer>(parse_integer(key, *value, min, max));
    }
}

bool parse_switch(const std::string& key, const std::string& value) {
    const std::string word = lower(trim(value));
    if (word == "on" || word == "true" || word == "1" || word == "yes") return true;
    if (word == "off" || word == "false" || word == "0" || word == "no") return false;
    bad(key, value, "on or off");
}

void set_string(const Source& source, const std::string& key, std::string& field) {
    if (const auto value = source.get(key)) field = trim(*value);
}

// `shown` is what an error message may print: the URL without its password.
std::string percent_decode(const std::string& text, const std::string& shown) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            bad("AMQP_URL", shown, "bad %-escape");
        }
        out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
        i += 2;
    }
    return out;
}

std::string without_password(const std::string& url) {
    const auto at = url.find('@');
    const auto colon = url.find(':', url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
    if (at == std::string::npos || colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// amqp://user:password@host:port/vhost; every part optional but the scheme.
// The host may be an IPv6 address in brackets: amqp://[::1]:5672/.
void apply_amqp_url(const std::string& url, BrokerConfig& broker) {
    const std::string key = "AMQP_URL";
    const std::string shown = without_password(url);
    const std::string scheme = "amqp://";
    if (url.rfind(scheme, 0) != 0) bad(key, shown, "must start with amqp://");
    std::string rest = url.substr(scheme.size());
    std::string vhost_part;
    bool has_vhost = false;
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
        vhost_part = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
        has_vhost = true;
    }
    if (const auto at = rest.rfind('@'); at != std::string::npos) {
        const std::string credentials = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const auto colon = credentials.find(':');
        broker.user = percent_decode(credentials.substr(0, colon), shown);
        if (colon != std::string::npos) broker.password = percent_decode(credentials.substr(colon + 1), shown);
    }
    std::string host = rest;
    std::string port;
    if (!rest.empty() && rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string::npos) bad(key, shown, "unclosed [ in the host");
        host = rest.substr(1, close - 1);
        const std::string after = rest.substr(close + 1);
        if (!after.empty() && after.front() != ':') bad(key, shown, "expected :port after ]");
        if (!after.empty()) port = after.substr(1);
    } else if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    if (!port.empty()) broker.port = static_cast<int>(parse_integer(key, port, 1, 65535));
    if (!host.empty()) broker.host = percent_decode(host, shown);
    if (has_vhost && !vhost_part.empty()) broker.vhost = percent_decode(vhost_part, shown);
}

std::vector<std::string> split_members(const std::string& key, const std::string& value) {
    std::vector<std::string> members;
    std::set<std::string> seen;
    std::stringstream stream(value);
    std::string item;
    while (std::getline(stream, item, ',')) {
        item = trim(item);
        if (item.empty()) continue;
        if (!is_valid_node_name(item)) bad(key, value, "member '" + item + "' is not a valid node name");
        if (seen.insert(item).second) members.push_back(item);
    }
    return members;
}

std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    std::stringstream stream(text);
    std::string word;
    while (stream >> word) words.push_back(word);
    return words;
}

RestartBackend parse_backend(const std::string& value) {
    const std::string name = lower(trim(value));
    if (name == "docker") return RestartBackend::Docker;
    if (name == "command") return RestartBackend::Command;
    if (name == "none") return RestartBackend::None;
    bad("RESTART_BACKEND", value, "expected docker, command or none");
}

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry && *entry; ++entry) {
        const std::string text = *entry;
        const auto eq = text.find('=');
        if (eq != std::string::npos) env.emplace(text.substr(0, eq), text.substr(eq + 1));
    }
    return env;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError("cannot read config file '" + path + "'");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

void apply(const Source& source, Config& config) {
    set_string(source, "CONTAINER_NAME", config.node_name);
    set_duration(source, "HEARTBEAT_INTERVAL", config.heartbeat_interval);
    set_duration(source, "HEARTBEAT_TIMEOUT", config.heartbeat_timeout);
    set_duration(source, "ELECTION_TIMEOUT", config.election_timeout);
    set_duration(source, "PULSE_TIMEOUT", config.pulse_timeout);
    set_string(source, "CONTROL_EXCHANGE", config.control_exchange);
    if (const auto value = source.get("EXPECTED_MEMBERS")) {
        config.expected_members = split_members("EXPECTED_MEMBERS", *value);
    }
    // 1024: a heartbeat with two 128-character names, every one escaped, and
    // every number at its bound is 642 bytes; the gossip fills the rest.
    set_integer(source, "MAX_MESSAGE_BYTES", config.max_message_bytes, 1024, 1 << 20);
    set_integer(source, "MAX_MEMBERS", config.max_members, 1, 100000);

    BrokerConfig& broker = config.broker;
    if (const auto url = source.get("AMQP_URL")) apply_amqp_url(trim(*url), broker);
    set_string(source, "RABBITMQ_HOST", broker.host);
    set_integer(source, "RABBITMQ_PORT", broker.port, 1, 65535);
    set_string(source, "RABBITMQ_USER", broker.user);
    if (const auto value = source.get("RABBITMQ_PASSWORD")) broker.password = *value;
    set_string(source, "RABBITMQ_VHOST", broker.vhost);
    set_duration(source, "BROKER_CONNECT_TIMEOUT", broker.connect_timeout);
    set_duration(source, "BROKER_RECONNECT_MAX", broker.reconnect_backoff_max);
    broker.reconnect_backoff_initial = std::min(broker.reconnect_backoff_initial, broker.reconnect_backoff_max);

    RestartConfig& restart = config.restart;
    if (const auto value = source.get("RESTART_BACKEND")) restart.backend = parse_backend(*value);
    if (const auto value = source.get("RESTART_COMMAND")) restart.command = split_words(*value);
    set_duration(source, "RESTART_TIMEOUT", restart.timeout);
    set_duration(source, "RESTART_BOOT_GRACE", restart.boot_grace);
    set_duration(source, "RESTART_BACKOFF_INITIAL", restart.backoff_initial);
    set_duration(source, "RESTART_BACKOFF_MAX", restart.backoff_max);
    set_duration(source, "RESTART_BACKOFF_RESET_AFTER", restart.backoff_reset_after);
    set_integer(source, "MASS_SILENCE_PERCENT", config.mass_silence_percent, 1, 100);
    set_duration(source, "MASS_SILENCE_RESTART_PACE", config.mass_silence_pace);
    set_duration(source, "RECONNECT_WINDOW", config.reconnect_window);
    if (const auto value = source.get("DOCKER_EVENTS")) config.docker_events = parse_switch("DOCKER_EVENTS", *value);
}

std::string millis_text(Millis value) { return std::to_string(value.count()) + "ms"; }

void require_positive(const std::string& key, Millis value) {
    if (value <= Millis{0}) bad(key, millis_text(value), "must be positive");
}

}  // namespace

std::map<std::string, std::string> parse_ini(const std::string& text) {
    std::map<std::string, std::string> values;
    std::stringstream stream(text);
    std::string line;
    int number = 0;
    while (std::getline(stream, line)) {
        ++number;
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == ';') continue;
        if (line.front() == '[' && line.back() == ']') continue;  // sections: flat namespace
        const auto separator = line.find_first_of(":=");
        if (separator == std::string::npos || separator == 0) {
            throw ConfigError("config line " + std::to_string(number) + " is not 'KEY: value' or 'key = value': '" +
                              line + "'");
        }
        std::string value = trim(line.substr(separator + 1));
        // Trailing comments only after whitespace, so '#' can appear inside values.
        for (const char* marker : {" #", " ;", "\t#", "\t;"}) {
            if (const auto at = value.find(marker); at != std::string::npos) value = trim(value.substr(0, at));
        }
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        }
        values[upper(trim(line.substr(0, separator)))] = value;
    }
    return values;
}

Millis parse_duration(const std::string& key, const std::string& value) {
    std::string text = lower(trim(value));
    double scale = 1000.0;  // seconds unless told otherwise
    if (text.size() > 2 && text.compare(text.size() - 2, 2, "ms") == 0) {
        scale = 1.0;
        text.resize(text.size() - 2);
    } else if (text.size() > 1 && text.back() == 's') {
        text.pop_back();
    } else if (text.size() > 3 && text.compare(text.size() - 3, 3, "min") == 0) {
        scale = 60000.0;
        text.resize(text.size() - 3);
    }
    text = trim(text);
    if (text.empty() || text.find_first_not_of("0123456789.") != std::string::npos ||
        std::count(text.begin(), text.end(), '.') > 1 || text == ".") {
        bad(key, value, "not a duration (examples: 2, 2s, 1.5, 500ms)");
    }
    const double millis = std::strtod(text.c_str(), nullptr) * scale;
    if (!std::isfinite(millis) || millis > 86400000.0 * 365) bad(key, value, "too large");
    return Millis{static_cast<std::int64_t>(std::llround(millis))};
}

Config Config::load() {
    const auto env = process_environment();
    std::string path;
    if (const auto it = env.find("VIGIL_CONFIG"); it != env.end() && !it->second.empty()) {
        path = it->second;
    } else if (std::ifstream("config/config.ini").good()) {
        path = "config/config.ini";
    }
    return load(env, path);
}

Config Config::load(const std::map<std::string, std::string>& env, const std::string& ini_path) {
    std::map<std::string, std::string> ini;
    if (!ini_path.empty()) ini = parse_ini(read_file(ini_path));
    Config config;
    apply(Source(env, std::move(ini)), config);
    config.validate();
    return config;
}

void Config::validate() const {
    if (node_name.empty()) {
        throw ConfigError("CONTAINER_NAME is not set: every node needs a unique name");
    }
    if (!is_valid_node_name(node_name)) {
        bad("CONTAINER_NAME", node_name, "1-128 printable ASCII characters, no spaces");
    }
    require_positive("HEARTBEAT_INTERVAL", heartbeat_interval);
    require_positive("HEARTBEAT_TIMEOUT", heartbeat_timeout);
    require_positive("ELECTION_TIMEOUT", election_timeout);
    require_positive("PULSE_TIMEOUT", pulse_timeout);
    // Silence is judged only once our own heartbeat has come back an interval
    // (plus the loop's and the broker's jitter) after the silent node's was due,
    // and while that proof is fresh (two intervals plus jitter).
    if (heartbeat_timeout < 2 * heartbeat_interval + kPathSlack) {
        bad("HEARTBEAT_TIMEOUT", millis_text(heartbeat_timeout),
            "must be at least 2 x HEARTBEAT_INTERVAL (" + millis_text(heartbeat_interval) + ") + " +
                millis_text(kPathSlack) + " (the sidecar loop's and the broker's jitter)");
    }
    if (mass_silence_pace < Millis{0}) bad("MASS_SILENCE_RESTART_PACE", millis_text(mass_silence_pace), "negative");
    // A connection that blinked is back after the first reconnect back-off
    // (jittered, at most broker.reconnect_backoff_initial) plus its hello's trip.
    if (reconnect_window < broker.reconnect_backoff_initial + kPathSlack) {
        bad("RECONNECT_WINDOW", millis_text(reconnect_window),
            "must be at least " + millis_text(broker.reconnect_backoff_initial + kPathSlack) +
                " (the first reconnect back-off, " + millis_text(broker.reconnect_backoff_initial) +
                ", and a message's trip): a blinked connection would count as a death");
    }
    // An ANSWER must be able to come back: two trips through the loop and the broker.
    if (election_timeout < 2 * kPathSlack) {
        bad("ELECTION_TIMEOUT", millis_text(election_timeout),
            "must be at least " + millis_text(2 * kPathSlack) + " (an ELECTION and its ANSWER through the broker)");
    }
    if (restart.backoff_reset_after < std::max(restart.backoff_initial, 2 * heartbeat_timeout)) {
        bad("RESTART_BACKOFF_RESET_AFTER", millis_text(restart.backoff_reset_after),
            "must be at least RESTART_BACKOFF_INITIAL and 2 x HEARTBEAT_TIMEOUT: healthy means heard that long");
    }
    if (expected_members.size() > max_members) {
        bad("MAX_MEMBERS", std::to_string(max_members),
            "below the " + std::to_string(expected_members.size()) + " names of EXPECTED_MEMBERS");
    }
    if (control_exchange.empty() || control_exchange.size() > 127) {
        bad("CONTROL_EXCHANGE", control_exchange, "1-127 characters");
    }
    if (broker.host.empty()) bad("RABBITMQ_HOST", broker.host, "empty");
    require_positive("BROKER_CONNECT_TIMEOUT", broker.connect_timeout);
    require_positive("BROKER_RECONNECT_MAX", broker.reconnect_backoff_max);
    require_positive("RESTART_TIMEOUT", restart.timeout);
    require_positive("RESTART_BACKOFF_INITIAL", restart.backoff_initial);
    if (restart.backoff_max < restart.backoff_initial) {
        bad("RESTART_BACKOFF_MAX", millis_text(restart.backoff_max), "must be at least RESTART_BACKOFF_INITIAL");
    }
    if (restart.backend == RestartBackend::Command) {
        const bool has_placeholder = std::any_of(restart.command.begin(), restart.command.end(),
                                                 [](const std::string& word) { return word.find("{name}") != std::string::npos; });
        if (restart.command.empty() || !has_placeholder) {
            throw ConfigError("RESTART_COMMAND must be set and contain {name} when RESTART_BACKEND=command");
        }
    }
}

}  // namespace vigil
