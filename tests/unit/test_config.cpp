// Config: precedence (env > INI > defaults), the seed's INI forms, durations,
// the broker address, members and restart back-end, and errors that name the
// key and the bad value. Key names as documented at the top of src/config.cpp.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

#include "vigil/config.hpp"

using vigil::Config;
using vigil::ConfigError;
using vigil::Millis;
using vigil::RestartBackend;
using Env = std::map<std::string, std::string>;

namespace {

// A config file that exists for one test case only.
class TempIni {
public:
    explicit TempIni(const std::string& text) {
        char pattern[] = "/tmp/vigil-unit-XXXXXX";
        const int fd = mkstemp(pattern);
        REQUIRE(fd >= 0);
        close(fd);
        path_ = pattern;
        std::ofstream(path_) << text;
    }
    ~TempIni() { std::remove(path_.c_str()); }
    TempIni(const TempIni&) = delete;
    TempIni& operator=(const TempIni&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

Config load(const Env& env, const std::string& ini_text) {
    const TempIni ini(ini_text);
    return Config::load(env, ini.path());
}

// The ConfigError's message, or "" when loading succeeded.
std::string load_error(const Env& env, const std::string& ini_text) {
    try {
        load(env, ini_text);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

}  // namespace

TEST_CASE("config: defaults when only CONTAINER_NAME is set", "[config]") {
    const Config c = load({{"CONTAINER_NAME", "node-1"}}, "");
    CHECK(c.node_name == "node-1");
    CHECK(c.heartbeat_interval == Millis{2000});
    CHECK(c.heartbeat_timeout == Millis{6000});
    CHECK(c.election_timeout == Millis{3000});
    CHECK(c.pulse_timeout == Millis{30000});
    CHECK(c.control_exchange == "control_exchange");
    CHECK(c.expected_members.empty());
    CHECK(c.max_message_bytes == 4096);
    CHECK(c.max_members == 1024);
    CHECK(c.broker.host == "localhost");
    CHECK(c.broker.port == 5672);
    CHECK(c.broker.user == "guest");
    CHECK(c.broker.password == "guest");
    CHECK(c.broker.vhost == "/");
    CHECK(c.restart.backend == RestartBackend::Docker);
    CHECK(c.restart.backoff_initial == Millis{10000});
    CHECK(c.restart.backoff_max == Millis{300000});
    CHECK(c.restart.backoff_reset_after == Millis{600000});
    CHECK(c.restart.boot_grace == Millis{10000});
    CHECK(c.restart.timeout == Millis{30000});
}

TEST_CASE("config: valid settings, by source", "[config]") {
    struct Row {
        const char* name;
        Env env;
        std::string ini;
        std::function<void(const Config&)> check;
    };
    const Env named = {{"CONTAINER_NAME", "n"}};
    auto with = [&](Env extra) {
        extra.insert(named.begin(), named.end());
        return extra;
    };
    const std::vector<Row> rows = {
        {"env beats INI", with({{"HEARTBEAT_INTERVAL", "1"}}), "HEARTBEAT_INTERVAL: 3\n",
         [](const Config& c) { CHECK(c.heartbeat_interval == Millis{1000}); }},
        {"INI beats defaults", named, "HEARTBEAT_INTERVAL: 3\nHEARTBEAT_TIMEOUT: 9\n",
         [](const Config& c) {
             CHECK(c.heartbeat_interval == Millis{3000});
             CHECK(c.heartbeat_timeout == Millis{9000});
         }},
        {"INI 'key = value' in lower case", named, "heartbeat_interval = 500ms\n",
         [](const Config& c) { CHECK(c.heartbeat_interval == Millis{500}); }},
        {"CONTAINER_NAME from the INI", {}, "CONTAINER_NAME: from-ini\n",
         [](const Config& c) { CHECK(c.node_name == "from-ini"); }},
        {"env CONTAINER_NAME beats the INI", {{"CONTAINER_NAME", "from-env"}}, "CONTAINER_NAME: from-ini\n",
         [](const Config& c) { CHECK(c.node_name == "from-env"); }},
        {"comments, sections, trailing comment", named,
         "# comment\n; another\n[vigil]\n\nHEARTBEAT_TIMEOUT = 10 # ten seconds\n",
         [](const Config& c) { CHECK(c.heartbeat_timeout == Millis{10000}); }},
        {"every duration knob", with({{"ELECTION_TIMEOUT", "1.5"}, {"PULSE_TIMEOUT", "45s"},
                                      {"RESTART_TIMEOUT", "20"}, {"RESTART_BOOT_GRACE", "2500ms"},
                                      {"RESTART_BACKOFF_INITIAL", "1"}, {"RESTART_BACKOFF_MAX", "8"},
                                      {"RESTART_BACKOFF_RESET_AFTER", "60"}}),
         "",
         [](const Config& c) {
             CHECK(c.election_timeout == Millis{1500});
             CHECK(c.pulse_timeout == Millis{45000});
             CHECK(c.restart.timeout == Millis{20000});
             CHECK(c.restart.boot_grace == Millis{2500});
             CHECK(c.restart.backoff_initial == Millis{1000});
             CHECK(c.restart.backoff_max == Millis{8000});
             CHECK(c.restart.backoff_reset_after == Millis{60000});
         }},
        {"the smallest timeout the proof allows: 2 intervals + 250 ms", with({{"HEARTBEAT_INTERVAL", "500ms"},
                                                                               {"HEARTBEAT_TIMEOUT", "1250ms"}}),
         "", [](const Config& c) { CHECK(c.heartbeat_timeout == Millis{1250}); }},
        {"mass silence knobs", with({{"MASS_SILENCE_PERCENT", "70"}, {"MASS_SILENCE_RESTART_PACE", "500ms"}}), "",
         [](const Config& c) {
             CHECK(c.mass_silence_percent == 70);
             CHECK(c.mass_silence_pace == Millis{500});
         }},
        {"fast signal knobs", with({{"RECONNECT_WINDOW", "2s"}, {"DOCKER_EVENTS", "off"}}), "",
         [](const Config& c) {
             CHECK(c.reconnect_window == Millis{2000});
             CHECK_FALSE(c.docker_events);
         }},
        {"fast signal defaults: a 1 s window, Docker's events followed", named, "",
         [](const Config& c) {
             CHECK(c.reconnect_window == Millis{1000});
             CHECK(c.docker_events);
         }},
        {"the shortest window: the first reconnect back-off and a trip", with({{"RECONNECT_WINDOW", "750ms"}}), "",
         [](const Config& c) { CHECK(c.reconnect_window == Millis{750}); }},
        {"mass silence defaults: half, one per interval", named, "",
         [](const Config& c) {
             CHECK(c.mass_silence_percent == 50);
             CHECK(c.mass_silence_pace == Millis{0});
         }},
        {"control exchange", with({{"CONTROL_EXCHANGE", "ctl"}}), "",
         [](const Config& c) { CHECK(c.control_exchange == "ctl"); }},
        {"AMQP_URL, every part", with({{"AMQP_URL", "amqp://alice:s3cret@mq.example:5673/prod"}}), "",
         [](const Config& c) {
             CHECK(c.broker.host == "mq.example");
             CHECK(c.broker.port == 5673);
             CHECK(c.broker.user == "alice");
             CHECK(c.broker.password == "s3cret");
             CHECK(c.broker.vhost == "prod");
         }},
        {"AMQP_URL, %2F is the default vhost", with({{"AMQP_URL", "amqp://u:p@h:5672/%2F"}}), "",
         [](const Config& c) { CHECK(c.broker.vhost == "/"); }},
        {"AMQP_URL, escapes in password and vhost", with({{"AMQP_URL", "amqp://u%40corp:p%40ss@h/%2Fstaging"}}), "",
         [](const Config& c) {
             CHECK(c.broker.user == "u@corp");
             CHECK(c.broker.password == "p@ss");
             CHECK(c.broker.vhost == "/staging");
             CHECK(c.broker.port == 5672);
         }},
        {"AMQP_URL, IPv6 host with a port", with({{"AMQP_URL", "amqp://u:p@[::1]:5673/v"}}), "",
         [](const Config& c) {
             CHECK(c.broker.host == "::1");
             CHECK(c.broker.port == 5673);
         }},
        {"AMQP_URL, IPv6 host alone", with({{"AMQP_URL", "amqp://[::1]"}}), "",
         [](const Config& c) {
             CHECK(c.broker.host == "::1");
             CHECK(c.broker.port == 5672);
         }},
        {"AMQP_URL, host only", with({{"AMQP_URL", "amqp://rabbit"}}), "",
         [](const Config& c) {
             CHECK(c.broker.host == "rabbit");
             CHECK(c.broker.port == 5672);
             CHECK(c.broker.user == "guest");
             CHECK(c.broker.vhost == "/");
         }},
        {"AMQP_URL from the INI, ':' form", named, "AMQP_URL: amqp://u:p@ini-host:1234/v\n",
         [](const Config& c) {
             CHECK(c.broker.host == "ini-host");
             CHECK(c.broker.port == 1234);
         }},
        {"AMQP_URL from the INI, '=' form", named, "amqp_url = amqp://u:p@ini-host:1234/v\n",
         [](const Config& c) {
             CHECK(c.broker.host == "ini-host");
             CHECK(c.broker.user == "u");
         }},
        {"RABBITMQ_* fields", with({{"RABBITMQ_HOST", "broker"}, {"RABBITMQ_PORT", "5671"},
                                    {"RABBITMQ_USER", "bob"}, {"RABBITMQ_PASSWORD", "pw"},
                                    {"RABBITMQ_VHOST", "v1"}}),
         "",
         [](const Config& c) {
             CHECK(c.broker.host == "broker");
             CHECK(c.broker.port == 5671);
             CHECK(c.broker.user == "bob");
             CHECK(c.broker.password == "pw");
             CHECK(c.broker.vhost == "v1");
         }},
        {"RABBITMQ_HOST overrides the URL's host",
         with({{"AMQP_URL", "amqp://u:p@url-host:1/v"}, {"RABBITMQ_HOST", "field-host"}}), "",
         [](const Config& c) {
             CHECK(c.broker.host == "field-host");
             CHECK(c.broker.port == 1);
         }},
        {"EXPECTED_MEMBERS trimmed, deduplicated, empties skipped",
         with({{"EXPECTED_MEMBERS", " a, b ,a,, c "}}), "",
         [](const Config& c) { CHECK(c.expected_members == std::vector<std::string>{"a", "b", "c"}); }},
        {"EXPECTED_MEMBERS from the INI", named, "EXPECTED_MEMBERS = w1,w2\n",
         [](const Config& c) { CHECK(c.expected_members == std::vector<std::string>{"w1", "w2"}); }},
        {"RESTART_BACKEND none", with({{"RESTART_BACKEND", "none"}}), "",
         [](const Config& c) { CHECK(c.restart.backend == RestartBackend::None); }},
        {"RESTART_BACKEND docker", with({{"RESTART_BACKEND", "docker"}}), "",
         [](const Config& c) { CHECK(c.restart.backend == RestartBackend::Docker); }},
        {"RESTART_BACKEND command splits RESTART_COMMAND on whitespace",
         with({{"RESTART_BACKEND", "command"}, {"RESTART_COMMAND", "  systemctl  restart\t{name}.service "}}), "",
         [](const Config& c) {
             CHECK(c.restart.backend == RestartBackend::Command);
             CHECK(c.restart.command == std::vector<std::string>{"systemctl", "restart", "{name}.service"});
         }},
        {"MAX_MEMBERS and MAX_MESSAGE_BYTES", with({{"MAX_MEMBERS", "12"}, {"MAX_MESSAGE_BYTES", "8192"}}), "",
         [](const Config& c) {
             CHECK(c.max_members == 12);
             CHECK(c.max_message_bytes == 8192);
         }},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            Config c;
            REQUIRE_NOTHROW(c = load(row.env, row.ini));
            row.check(c);
            CHECK_NOTHROW(c.validate());
        }
    }
}

TEST_CASE("config: invalid values fail with the key and the value", "[config]") {
    struct Row {
        const char* name;
        Env env;
        std::string ini;
        std::vector<std::string> message_has;  // substrings of what()
    };
    const Env named = {{"CONTAINER_NAME", "n"}};
    auto with = [&](Env extra) {
        extra.insert(named.begin(), named.end());
        return extra;
    };
    const std::vector<Row> rows = {
        {"no CONTAINER_NAME", {}, "", {"CONTAINER_NAME"}},
        {"empty CONTAINER_NAME", {{"CONTAINER_NAME", ""}}, "", {"CONTAINER_NAME"}},
        {"CONTAINER_NAME with a space", {{"CONTAINER_NAME", "a b"}}, "", {"CONTAINER_NAME", "a b"}},
        {"CONTAINER_NAME too long", {{"CONTAINER_NAME", std::string(129, 'x')}}, "", {"CONTAINER_NAME"}},
        {"interval not a number", with({{"HEARTBEAT_INTERVAL", "abc"}}), "", {"HEARTBEAT_INTERVAL", "abc"}},
        {"interval negative", with({{"HEARTBEAT_INTERVAL", "-1"}}), "", {"HEARTBEAT_INTERVAL", "-1"}},
        {"interval zero", with({{"HEARTBEAT_INTERVAL", "0"}}), "", {"HEARTBEAT_INTERVAL", "0"}},
        {"interval empty", with({{"HEARTBEAT_INTERVAL", ""}}), "", {"HEARTBEAT_INTERVAL"}},
        {"interval bad in the INI", named, "HEARTBEAT_INTERVAL: soon\n", {"HEARTBEAT_INTERVAL", "soon"}},
        {"timeout equal to interval", with({{"HEARTBEAT_INTERVAL", "2"}, {"HEARTBEAT_TIMEOUT", "2"}}), "",
         {"HEARTBEAT_TIMEOUT"}},
        {"timeout below interval", with({{"HEARTBEAT_TIMEOUT", "1"}}), "", {"HEARTBEAT_TIMEOUT"}},
        // The proof of the own path needs 2 intervals + 250 ms of jitter.
        {"timeout 520 ms for an interval of 500 ms", with({{"HEARTBEAT_INTERVAL", "500ms"}, {"HEARTBEAT_TIMEOUT", "520ms"}}),
         "", {"HEARTBEAT_TIMEOUT", "2 x HEARTBEAT_INTERVAL"}},
        {"timeout 1249 ms for an interval of 500 ms", with({{"HEARTBEAT_INTERVAL", "500ms"}, {"HEARTBEAT_TIMEOUT", "1249ms"}}),
         "", {"HEARTBEAT_TIMEOUT"}},
        {"mass silence share 0", with({{"MASS_SILENCE_PERCENT", "0"}}), "", {"MASS_SILENCE_PERCENT", "0"}},
        {"a reconnect window a blink outlasts", with({{"RECONNECT_WINDOW", "749ms"}}), "",
         {"RECONNECT_WINDOW", "749ms", "reconnect back-off"}},
        {"docker events neither on nor off", with({{"DOCKER_EVENTS", "maybe"}}), "", {"DOCKER_EVENTS", "maybe"}},
        {"election timeout 1 ms", with({{"ELECTION_TIMEOUT", "1ms"}}), "", {"ELECTION_TIMEOUT", "1ms"}},
        {"election timeout below two broker trips", with({{"ELECTION_TIMEOUT", "499ms"}}), "", {"ELECTION_TIMEOUT"}},
        {"back-off reset 0", with({{"RESTART_BACKOFF_RESET_AFTER", "0"}}), "", {"RESTART_BACKOFF_RESET_AFTER"}},
        {"back-off reset below 2 heartbeat timeouts", with({{"RESTART_BACKOFF_RESET_AFTER", "11s"}}), "",
         {"RESTART_BACKOFF_RESET_AFTER", "HEARTBEAT_TIMEOUT"}},
        {"MAX_MEMBERS below EXPECTED_MEMBERS", with({{"EXPECTED_MEMBERS", "a,b,c"}, {"MAX_MEMBERS", "2"}}), "",
         {"MAX_MEMBERS", "3 names"}},
        {"MAX_MESSAGE_BYTES below a legal heartbeat", with({{"MAX_MESSAGE_BYTES", "1023"}}), "", {"MAX_MESSAGE_BYTES"}},
        {"mass silence share 101", with({{"MASS_SILENCE_PERCENT", "101"}}), "", {"MASS_SILENCE_PERCENT", "101"}},
        {"election timeout unit unknown", with({{"ELECTION_TIMEOUT", "3h"}}), "", {"ELECTION_TIMEOUT", "3h"}},
        {"pulse timeout zero", with({{"PULSE_TIMEOUT", "0ms"}}), "", {"PULSE_TIMEOUT"}},
        {"port not a number", with({{"RABBITMQ_PORT", "amqp"}}), "", {"RABBITMQ_PORT", "amqp"}},
        {"port zero", with({{"RABBITMQ_PORT", "0"}}), "", {"RABBITMQ_PORT", "0"}},
        {"port too big", with({{"RABBITMQ_PORT", "65536"}}), "", {"RABBITMQ_PORT", "65536"}},
        {"URL with another scheme", with({{"AMQP_URL", "http://h:5672/"}}), "", {"AMQP_URL", "http://h"}},
        {"URL with a bad port", with({{"AMQP_URL", "amqp://h:notaport/v"}}), "", {"AMQP_URL", "notaport"}},
        {"URL with a bad escape", with({{"AMQP_URL", "amqp://h/%zz"}}), "", {"AMQP_URL"}},
        {"URL with an unclosed IPv6 bracket", with({{"AMQP_URL", "amqp://[::1:5672/"}}), "", {"AMQP_URL", "["}},
        {"member with a space", with({{"EXPECTED_MEMBERS", "a,b c"}}), "", {"EXPECTED_MEMBERS", "b c"}},
        {"unknown back-end", with({{"RESTART_BACKEND", "podman"}}), "", {"RESTART_BACKEND", "podman"}},
        {"command back-end without a command", with({{"RESTART_BACKEND", "command"}}), "", {"RESTART_COMMAND"}},
        {"command without {name}", with({{"RESTART_BACKEND", "command"}, {"RESTART_COMMAND", "relaunch all"}}),
         "", {"RESTART_COMMAND"}},
        {"back-off max below initial",
         with({{"RESTART_BACKOFF_INITIAL", "20"}, {"RESTART_BACKOFF_MAX", "10"}}), "", {"RESTART_BACKOFF_MAX"}},
        {"empty exchange", with({{"CONTROL_EXCHANGE", ""}}), "", {"CONTROL_EXCHANGE"}},
        {"empty broker host", with({{"RABBITMQ_HOST", ""}}), "", {"RABBITMQ_HOST"}},
        {"MAX_MEMBERS zero", with({{"MAX_MEMBERS", "0"}}), "", {"MAX_MEMBERS", "0"}},
        {"MAX_MEMBERS not a number", with({{"MAX_MEMBERS", "many"}}), "", {"MAX_MEMBERS", "many"}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            const std::string message = load_error(row.env, row.ini);
            INFO("what(): " << message);
            REQUIRE_FALSE(message.empty());
            for (const auto& part : row.message_has) CHECK(message.find(part) != std::string::npos);
        }
    }
}

TEST_CASE("config: an error about AMQP_URL never shows the password", "[config]") {
    const std::vector<std::string> urls = {
        "http://alice:s3cret@h:5672/",     // wrong scheme
        "amqp://alice:s3cret@h:port/",     // bad port
        "amqp://alice:s3cret%zz@h:5672/",  // bad escape in the password itself
    };
    for (const auto& url : urls) {
        const std::string message = load_error({{"CONTAINER_NAME", "n"}, {"AMQP_URL", url}}, "");
        INFO("what(): " << message);
        REQUIRE_FALSE(message.empty());
        CHECK(message.find("AMQP_URL") != std::string::npos);
        CHECK(message.find("s3cret") == std::string::npos);
    }
}

TEST_CASE("config: INI file problems", "[config]") {
    SECTION("a missing file is an error") {
        CHECK_THROWS_AS(Config::load({{"CONTAINER_NAME", "n"}}, "/nonexistent/vigil/config.ini"), ConfigError);
    }
    SECTION("no file at all is fine") {
        CHECK(Config::load({{"CONTAINER_NAME", "n"}}, "").node_name == "n");
    }
    SECTION("an unreadable line names its line number") {
        const std::string message = load_error({{"CONTAINER_NAME", "n"}}, "# fine\nthis is not a setting\n");
        INFO("what(): " << message);
        CHECK(message.find('2') != std::string::npos);
    }
}

TEST_CASE("config: parse_duration", "[config]") {
    struct Row {
        const char* value;
        long ms;  // -1 = must throw
    };
    const std::vector<Row> rows = {
        {"2", 2000},     {"2s", 2000},   {"1.5", 1500},  {"500ms", 500}, {"0.5s", 500},
        {" 3 ", 3000},   {"1.25", 1250}, {"10ms", 10},   {"600", 600000},
        {"", -1},        {"abc", -1},    {"-1", -1},     {"1.5.2", -1},  {"2h", -1},
        {"ms", -1},      {"s", -1},      {"1e3", -1},    {"nan", -1},    {"inf", -1},
        {"+5", -1},      {"10m", -1},    {"5 5", -1},    {".", -1},
        {"99999999999999999999", -1},
    };
    for (const auto& row : rows) {
        SECTION(std::string("'") + row.value + "'") {
            if (row.ms >= 0) {
                CHECK(vigil::parse_duration("KEY", row.value) == Millis{row.ms});
            } else {
                try {
                    const Millis got = vigil::parse_duration("SOME_KEY", row.value);
                    FAIL("accepted as " << got.count() << " ms");
                } catch (const ConfigError& error) {
                    const std::string message = error.what();
                    CHECK(message.find("SOME_KEY") != std::string::npos);
                    CHECK(message.find(row.value) != std::string::npos);
                }
            }
        }
    }
}

TEST_CASE("config: parse_ini", "[config]") {
    struct Row {
        const char* name;
        std::string text;
        std::map<std::string, std::string> expected;
    };
    const std::vector<Row> rows = {
        {"seed form", "KEY: value\n", {{"KEY", "value"}}},
        {"ini form, upper-cased key", "key = value\n", {{"KEY", "value"}}},
        {"spaces trimmed", "  Mixed_Key   =   spaced value  \n", {{"MIXED_KEY", "spaced value"}}},
        {"comments, blanks and sections", "# a\n; b\n\n[section]\nA: 1\n", {{"A", "1"}}},
        {"URL after '='", "AMQP_URL = amqp://u:p@h:5672/%2F\n", {{"AMQP_URL", "amqp://u:p@h:5672/%2F"}}},
        {"URL after ':'", "AMQP_URL: amqp://u:p@h:5672/%2F\n", {{"AMQP_URL", "amqp://u:p@h:5672/%2F"}}},
        {"CRLF line ends", "A: 1\r\nB = 2\r\n", {{"A", "1"}, {"B", "2"}}},
        {"no final newline", "A: 1", {{"A", "1"}}},
        {"last one wins", "A: 1\nA: 2\n", {{"A", "2"}}},
        {"empty file", "", {}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) { CHECK(vigil::parse_ini(row.text) == row.expected); }
    }

    const std::vector<std::pair<const char*, std::string>> bad = {
        {"no separator", "A: 1\nB: 2\nlonely words\n"},
        {"empty key", "A: 1\nB: 2\n: value\n"},
    };
    for (const auto& [name, text] : bad) {
        SECTION(name) {
            try {
                vigil::parse_ini(text);
                FAIL("accepted");
            } catch (const ConfigError& error) {
                CHECK(std::string(error.what()).find('3') != std::string::npos);  // line 3
            }
        }
    }
}
