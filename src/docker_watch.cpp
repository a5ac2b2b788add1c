#include "docker_watch.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstring>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string_view>

#include "restarter.hpp"

namespace vigil {
namespace {

using nlohmann::json;

constexpr Millis kKilledReapInterval{10};

// Docker's JSON, read without trusting its shape: a missing member or one of
// the wrong type is nullptr / nothing, never an exception.
const json* member(const json& object, const char* key) {
    if (!object.is_object()) return nullptr;
    const auto found = object.find(key);
    return found == object.end() ? nullptr : &*found;
}

const std::string* string_member(const json& object, const char* key) {
    const json* value = member(object, key);
    return value != nullptr && value->is_string() ? value->get_ptr<const std::string*>() : nullptr;
}

std::optional<std::int64_t> int64_of(const json* value) {
    if (value == nullptr) return std::nullopt;
    if (value->is_number_unsigned()) {
        const auto big = value->get<std::uint64_t>();
        if (big > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
        return static_cast<std::int64_t>(big);
    }
    if (value->is_number_integer()) return value->get<std::int64_t>();
    return std::nullopt;
}

// Docker writes exit codes as strings in events ("137") and numbers in inspect.
std::optional<int> exit_code_of(const json* value) {
    if (value != nullptr && value->is_string()) {
        const auto& text = value->get_ref<const std::string&>();
        int code = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), code);
        if (error == std::errc{} && end == text.data() + text.size() && !text.empty()) return code;
        return std::nullopt;
    }
    const auto number = int64_of(value);
    if (number && *number >= INT_MIN && *number <= INT_MAX) return static_cast<int>(*number);
    return std::nullopt;
}

// "/web-1" -> "web-1"; nothing unless a valid Docker container name is left.
std::optional<std::string> container_name(const std::string& raw) {
    std::string name = !raw.empty() && raw[0] == '/' ? raw.substr(1) : raw;
    if (!is_docker_container_name(name)) return std::nullopt;
    return name;
}

std::vector<std::string> valid_names(const std::vector<std::string>& names) {
    std::vector<std::string> valid;
    std::copy_if(names.begin(), names.end(), std::back_inserter(valid), is_docker_container_name);
    return valid;
}

bool blank(const std::string& line) {
    return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// The length of the JSON string that opens `line` (quotes included), or 0.
std::size_t leading_json_string(const std::string& line) {
    if (line.empty() || line[0] != '"') return 0;
    for (std::size_t at = 1; at < line.size(); ++at) {
        if (line[at] == '\\') {
            ++at;
        } else if (line[at] == '"') {
            return at + 1;
        }
    }
    return 0;
}

// Docker's "0001-01-01T00:00:00Z" (Go's zero time) means never: 0.
std::optional<std::int64_t> wall_ms_or_never(const std::string* text) {
    if (text == nullptr) return std::nullopt;
    const auto ms = parse_rfc3339_ms(*text);
    if (!ms) return std::nullopt;
    return std::max<std::int64_t>(*ms, 0);
}

std::optional<ContainerState> parse_inspect_line(const std::string& line) {
    const std::size_t name_length = leading_json_string(line);
    if (name_length == 0) return std::nullopt;
    const json name_json = json::parse(line.substr(0, name_length), nullptr, false);
    const json state = json::parse(line.substr(name_length), nullptr, false);
    if (!name_json.is_string() || !state.is_object()) return std::nullopt;
    auto name = container_name(name_json.get_ref<const std::string&>());
    const std::string* status = string_member(state, "Status");
    const auto started = wall_ms_or_never(string_member(state, "StartedAt"));
    const auto finished = wall_ms_or_never(string_member(state, "FinishedAt"));
    if (!name || status == nullptr || status->empty() || !started || !finished) return std::nullopt;
    return ContainerState{std::move(*name), *status, *started, *finished,
                          exit_code_of(member(state, "ExitCode")).value_or(-1)};
}

}  // namespace

std::optional<ContainerEvent> parse_docker_event(const std::string& json_line) {
    try {
        const json event = json::parse(json_line, nullptr, false);
        const std::string* type = string_member(event, "Type");
        const std::string* action = string_member(event, "Action");
        // "oom" comes before the "die" of the same end: one signal is enough.
        if (type == nullptr || *type != "container" || action == nullptr || (*action != "die" && *action != "start")) {
            return std::nullopt;
        }
        const json* actor = member(event, "Actor");
        if (actor == nullptr) return std::nullopt;
        const json* attributes = member(*actor, "Attributes");
        const std::string* raw_name = attributes != nullptr ? string_member(*attributes, "name") : nullptr;
        auto name = raw_name != nullptr ? container_name(*raw_name) : std::nullopt;
        if (!name) return std::nullopt;

        ContainerEvent parsed{std::move(*name)};
        if (const auto nanos = int64_of(member(event, "timeNano")); nanos && *nanos > 0) {
            parsed.wall_ms = *nanos / 1'000'000;
        } else if (const auto seconds = int64_of(member(event, "time"));
                   seconds && *seconds > 0 && *seconds <= INT64_MAX / 1000) {
            parsed.wall_ms = *seconds * 1000;
        }
        parsed.started = *action == "start";
        if (!parsed.started) parsed.exit_code = exit_code_of(member(*attributes, "exitCode")).value_or(-1);
        if (const std::string* id = string_member(*actor, "ID")) parsed.id = *id;
        return parsed;
    } catch (const std::exception&) {  // nothing above should throw; bad input is a drop, never a crash
        return std::nullopt;
    }
}

std::vector<ContainerState> parse_inspect_states(const std::string& output, std::size_t* unreadable) {
    std::vector<ContainerState> states;
    std::size_t from = 0;
    while (from < output.size()) {
        std::size_t end = output.find('\n', from);
        if (end == std::string::npos) end = output.size();
        const std::string line = output.substr(from, end - from);
        from = end + 1;
        if (blank(line)) continue;  // docker prints an empty line for a name it does not know
        std::optional<ContainerState> state;
        try {
            state = parse_inspect_line(line);
        } catch (const std::exception&) {
            state.reset();
        }
        if (state) {
            states.push_back(std::move(*state));
        } else if (unreadable != nullptr) {
            ++*unreadable;
        }
    }
    return states;
}

std::optional<std::int64_t> parse_rfc3339_ms(const std::string& text) {
    std::size_t at = 0;
    const auto number = [&](std::size_t width, int& out) {
        if (at + width > text.size()) return false;
        out = 0;
        for (std::size_t i = 0; i < width; ++i, ++at) {
            if (text[at] < '0' || text[at] > '9') return false;
            out = out * 10 + (text[at] - '0');
        }
        return true;
    };
    const auto literal = [&](std::string_view allowed) {
        if (at >= text.size() || allowed.find(text[at]) == std::string_view::npos) return false;
        ++at;
        return true;
    };
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!(number(4, year) && literal("-") && number(2, month) && literal("-") && number(2, day) && literal("Tt") &&
          number(2, hour) && literal(":") && number(2, minute) && literal(":") && number(2, second))) {
        return std::nullopt;
    }
    int millis = 0;
    if (literal(".")) {
        std::size_t digits = 0;
        for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
            if (digits < 3) millis = millis * 10 + (text[at] - '0');
        }
        if (digits == 0) return std::nullopt;
        for (; digits < 3; ++digits) millis *= 10;
    }
    int offset_minutes = 0;
    if (at < text.size() && (text[at] == '+' || text[at] == '-')) {
        const int sign = text[at++] == '-' ? -1 : 1;
        int offset_hour = 0, offset_minute = 0;
        if (!(number(2, offset_hour) && literal(":") && number(2, offset_minute))) return std::nullopt;
        if (offset_hour > 23 || offset_minute > 59) return std::nullopt;
        offset_minutes = sign * (offset_hour * 60 + offset_minute);
    } else if (!literal("Zz")) {
        return std::nullopt;
    }
    if (at != text.size()) return std::nullopt;

    using namespace std::chrono;
    const year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                              std::chrono::day{static_cast<unsigned>(day)}};
    // Second 60: a leap second, which Unix time folds into the next one.
    if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    const std::int64_t days = sys_days{date}.time_since_epoch().count();
    const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    return seconds * 1000 + millis;
}

std::vector<std::string> docker_events_argv(const std::vector<std::string>& names, const std::string& label) {
    const std::vector<std::string> valid = valid_names(names);
    if (!names.empty() && valid.empty()) return {};
    std::vector<std::string> argv = {"docker", "events", "--format", "{{json .}}", "--filter", "type=container",
                                     "--filter", "event=die", "--filter", "event=start"};
    // Docker ORs the values of one filter key and ANDs the keys.
    for (const std::string& name : valid) {
        argv.push_back("--filter");
        argv.push_back("container=" + name);
    }
    if (!label.empty()) {
        argv.push_back("--filter");
        argv.push_back("label=" + label);
    }
    return argv;
}

std::vector<std::string> docker_inspect_argv(const std::vector<std::string>& names) {
    const std::vector<std::string> valid = valid_names(names);
    if (valid.empty()) return {};
    std::vector<std::string> argv = {"docker", "inspect", "--type", "container", "--format",
                                     "{{json .Name}} {{json .State}}", "--"};
    argv.insert(argv.end(), valid.begin(), valid.end());
    return argv;
}

DockerEvents::DockerEvents(const std::vector<std::string>& names, const std::string& label, Millis backoff_initial,
                           Millis backoff_max)
    : names_(valid_names(names)),
      watching_(names.empty() || !names_.empty()),
      child_(docker_events_argv(names, label), backoff_initial, backoff_max, kMaxLineBytes) {}

std::vector<ContainerEvent> DockerEvents::poll(Millis now) {
    std::vector<ContainerEvent> events;
    if (!watching_) return events;
    for (const std::string& line : child_.poll(now)) {
        if (blank(line)) continue;
        auto event = parse_docker_event(line);
        if (!event) {
            ++unreadable_;
            continue;
        }
        // Docker's container= filter also matches IDs: keep to the names asked for.
        if (!names_.empty() && std::find(names_.begin(), names_.end(), event->name) == names_.end()) continue;
        events.push_back(std::move(*event));
    }
    return events;
}

std::optional<std::string> DockerEvents::take_news() {
    if (!watching_ && !said_not_watching_) {
        said_not_watching_ = true;
        return "docker events: none of the container names is valid; not watching";
    }
    return child_.take_news();
}

DockerInspect::~DockerInspect() {
    if (child_.pid > 0) kill_group_and_reap(child_.pid);
    if (child_.stdout_fd >= 0) close(child_.stdout_fd);
}

bool DockerInspect::start(const std::vector<std::string>& names, Millis now) {
    if (busy_) return false;
    busy_ = true;
    output_.clear();
    killed_for_.clear();
    const std::vector<std::string> argv = docker_inspect_argv(names);
    if (argv.empty()) {  // nothing to ask Docker about
        ready_ = Result{true, "", {}, 0};
        return true;
    }
    if (const int error = spawn_child(argv, ChildStdout::Pipe, child_); error != 0) {
        ready_ = Result{false, std::string("cannot run docker: ") + std::strerror(error), {}, 0};
        return true;
    }
    deadline_ = now + timeout_;
    return true;
}

std::optional<DockerInspect::Result> DockerInspect::poll(Millis now) {
    if (!busy_) return std::nullopt;
    if (ready_) {
        busy_ = false;
        Result result = std::move(*ready_);
        ready_.reset();
        return result;
    }
    read_output();
    if (has_exited(child_.pid)) {
        const int status = kill_group_and_reap(child_.pid);
        child_.pid = -1;
        read_output();
        if (child_.stdout_fd >= 0) close(child_.stdout_fd);
        child_.stdout_fd = -1;
        busy_ = false;
        return finish(status);
    }
    if (killed_for_.empty() && now >= deadline_) {
        killed_for_ = "timed out after " + std::to_string(timeout_.count()) + " ms";
    } else if (killed_for_.empty() && output_.size() > kMaxOutputBytes) {
        killed_for_ = "printed over " + std::to_string(kMaxOutputBytes) + " bytes";
    }
    if (!killed_for_.empty()) kill(-child_.pid, SIGKILL);  // the whole group; reaped by a later poll
    return std::nullopt;
}

Millis DockerInspect::next_due(Millis now) const noexcept {
    if (!busy_) return Millis::max();
    if (ready_) return now;
    if (!killed_for_.empty()) return now + kKilledReapInterval;
    return std::max(deadline_, now);
}

void DockerInspect::read_output() {
    char buffer[64 * 1024];
    while (child_.stdout_fd >= 0 && output_.size() <= kMaxOutputBytes) {
        const ssize_t got = read(child_.stdout_fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (got <= 0) {
            close(child_.stdout_fd);
            child_.stdout_fd = -1;
            return;
        }
        output_.append(buffer, static_cast<std::size_t>(got));
    }
}

DockerInspect::Result DockerInspect::finish(int status) {
    Result result;
    result.states = parse_inspect_states(output_, &result.unreadable_lines);
    output_.clear();
    if (!killed_for_.empty()) {
        result.error = killed_for_;
    } else if (status < 0) {
        result.error = "reaped elsewhere";
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        result.error = describe_wait_status(status);
    }
    // A failing exit with states printed: some names were not found, the rest are valid.
    result.ok = killed_for_.empty() && (result.error.empty() || !result.states.empty());
    return result;
}

}  // namespace vigil
