#include "vigil/crash_reports.hpp"

#include <algorithm>

namespace vigil {

const char* to_string(Observation::Kind kind) noexcept {
    switch (kind) {
        case Observation::Kind::LinkClosed: return "link_closed";
        case Observation::Kind::ContainerExited: return "container_exited";
        case Observation::Kind::ContainerStarted: return "container_started";
    }
    return "?";
}

namespace {

// Which of two reports about one member is about the later end.
bool later(const CrashReports::Report& a, const CrashReports::Report& b) {
    if (a.incarnation != b.incarnation) return a.incarnation > b.incarnation;
    // The same life told by both sources: its container's exit is the
    // stronger word (no reconnect can follow it).
    if (a.kind != b.kind) return a.kind == Observation::Kind::ContainerExited;
    return a.kind == Observation::Kind::LinkClosed ? a.link > b.link : a.at > b.at;
}

}  // namespace

bool CrashReports::add(const std::string& name, const Report& report) {
    const auto it = pending_.find(name);
    if (it == pending_.end()) {
        pending_.emplace(name, report);
        return true;
    }
    if (!later(report, it->second)) return false;
    const bool same_life = report.incarnation == it->second.incarnation;
    const Millis earlier_due = std::min(report.confirm_at, it->second.confirm_at);
    it->second = report;  // a later link of it ended too: a window of its own
    if (same_life && report.kind != Observation::Kind::LinkClosed) it->second.confirm_at = earlier_due;
    return true;
}

bool CrashReports::heard(const std::string& name, std::uint64_t incarnation, std::uint64_t link) {
    const auto it = pending_.find(name);
    if (it == pending_.end()) return false;
    const Report& report = it->second;
    // Another life (later, or from a clock stepped back), or a later link of it.
    const bool other_life = incarnation != report.incarnation;
    const bool later_link = incarnation == report.incarnation && report.kind == Observation::Kind::LinkClosed &&
                            link > report.link;
    if (!other_life && !later_link) return false;  // sent before it ended, delivered after
    pending_.erase(it);
    return true;
}

bool CrashReports::started(const std::string& name, Millis at) {
    auto [start, fresh] = last_start_.emplace(name, at);
    if (!fresh) start->second = std::max(start->second, at);
    const auto it = pending_.find(name);
    if (it == pending_.end() || it->second.kind != Observation::Kind::ContainerExited || at < it->second.at) {
        return false;
    }
    pending_.erase(it);
    return true;
}

bool CrashReports::started_since(const std::string& name, Millis at) const {
    const auto it = last_start_.find(name);
    return it != last_start_.end() && it->second >= at;
}

void CrashReports::defer(const std::string& name, Millis at) {
    const auto it = pending_.find(name);
    if (it != pending_.end()) it->second.confirm_at = std::max(it->second.confirm_at, at);
}

std::vector<std::pair<std::string, CrashReports::Report>> CrashReports::take_due(Millis now) {
    std::vector<std::pair<std::string, Report>> due;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (now >= it->second.confirm_at) {
            due.emplace_back(it->first, it->second);
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    return due;
}

std::optional<Millis> CrashReports::next_due() const {
    std::optional<Millis> earliest;
    for (const auto& [name, report] : pending_) {
        if (!earliest || report.confirm_at < *earliest) earliest = report.confirm_at;
    }
    return earliest;
}

std::vector<std::string> CrashReports::names(bool exact_only) const {
    std::vector<std::string> out;
    for (const auto& [name, report] : pending_) {
        if (report.exact || !exact_only) out.push_back(name);
    }
    return out;
}

}  // namespace vigil
