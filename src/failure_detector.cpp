#include "vigil/failure_detector.hpp"

#include <algorithm>

namespace vigil {

const char* to_string(Liveness liveness) noexcept {
    switch (liveness) {
        case Liveness::Alive: return "alive";
        case Liveness::Dead: return "dead";
        case Liveness::Departed: return "departed";
    }
    return "?";
}

FailureDetector::FailureDetector(Millis timeout, std::size_t max_members)
    : timeout_(timeout), max_members_(max_members) {}

FailureDetector::Heard FailureDetector::heard(const std::string& name, std::uint64_t incarnation, Millis now,
                                              std::uint64_t link) {
    auto it = members_.find(name);
    if (it == members_.end()) {
        if (members_.size() >= max_members_ && !make_room()) return Heard::TableFull;
        Member member{now, Liveness::Alive, true, incarnation};
        member.times_heard = 1;
        member.link = link;
        member.life_heard_since = now;
        members_.emplace(name, member);
        return Heard::New;
    }
    Member& member = it->second;
    if (member.times_heard < UINT32_MAX) ++member.times_heard;
    if (member.liveness == Liveness::Departed && member.said_goodbye &&
        incarnation <= member.departed_incarnation) {
        return Heard::Departed;  // that life (or an older one) is over
    }
    Heard result = Heard::Known;
    if (!member.ever_heard) {
        result = Heard::New;
    } else if (member.incarnation != incarnation) {
        result = Heard::Restarted;
    } else if (member.liveness != Liveness::Alive) {
        result = Heard::Rejoined;
    }
    if (result == Heard::Restarted) member.correcting = false;  // that life is history
    const bool new_life = !member.ever_heard || member.incarnation != incarnation;
    if (new_life) member.life_heard_since = now;
    member.link = new_life ? link : std::max(member.link, link);
    member.last_heard = std::max(member.last_heard, now);
    member.liveness = Liveness::Alive;
    member.ever_heard = true;
    member.incarnation = incarnation;
    return result;
}

bool FailureDetector::departed(const std::string& name, std::uint64_t incarnation) {
    auto it = members_.find(name);
    if (it == members_.end()) {
        // A goodbye from a sender not heard before (we just started): kept,
        // or others' member lists would bring it back as alive, then dead.
        if (members_.size() >= max_members_ && !make_room()) return false;
        it = members_.emplace(name, Member{}).first;
    }
    it->second.liveness = Liveness::Departed;
    it->second.correcting = false;
    it->second.said_goodbye = true;
    it->second.departed_incarnation = incarnation;
    return true;
}

bool FailureDetector::learn_departed(const std::string& name, std::uint64_t incarnation) {
    const auto it = members_.find(name);
    if (it != members_.end() && it->second.liveness == Liveness::Departed) return false;  // already known
    if (it != members_.end() && it->second.ever_heard && it->second.incarnation > incarnation) {
        it->second.correcting = true;  // we heard a later life: say so
        return false;
    }
    return departed(name, incarnation);
}

bool FailureDetector::learn_life(const std::string& name, std::uint64_t incarnation, Millis now) {
    const auto it = members_.find(name);
    if (it == members_.end() || it->second.liveness != Liveness::Departed ||
        incarnation <= it->second.departed_incarnation) {
        return false;
    }
    Member& member = it->second;
    Member revived{std::max(member.last_heard, now), Liveness::Alive, true, incarnation};
    revived.expected = member.expected;
    revived.times_heard = member.times_heard;
    revived.life_heard_since = now;  // told of it now: an exit from before may be an older life's
    member = revived;
    return true;
}

bool FailureDetector::make_room() {
    auto victim = members_.end();
    for (auto it = members_.begin(); it != members_.end(); ++it) {
        const Member& m = it->second;
        if (m.expected || m.times_heard > 1 || m.liveness == Liveness::Departed) continue;
        if (victim == members_.end() || m.last_heard < victim->second.last_heard) victim = it;
    }
    if (victim == members_.end()) return false;
    members_.erase(victim);
    return true;
}

bool FailureDetector::learn_member(const std::string& name, std::uint64_t incarnation, Millis now) {
    if (members_.count(name) || members_.size() >= max_members_) return false;
    members_.emplace(name, Member{now, Liveness::Alive, false, incarnation});
    return true;
}

std::vector<Departure> FailureDetector::members() const {
    std::vector<Departure> out;
    for (const auto& [name, member] : members_) {
        if (member.liveness != Liveness::Departed) out.push_back(Departure{name, member.incarnation});
    }
    return out;
}

std::vector<Departure> FailureDetector::lives() const {
    std::vector<Departure> out;
    for (const auto& [name, member] : members_) {
        if (member.correcting && member.liveness != Liveness::Departed) {
            out.push_back(Departure{name, member.incarnation});
        }
    }
    return out;
}

void FailureDetector::settle(const std::vector<Departure>& leaders_departures) {
    for (auto& [name, member] : members_) {
        if (!member.correcting) continue;
        const bool still_reported = std::any_of(leaders_departures.begin(), leaders_departures.end(),
                                                [&](const Departure& d) { return d.name == name; });
        if (!still_reported) member.correcting = false;
    }
}

std::vector<Departure> FailureDetector::departures() const {
    std::vector<Departure> out;
    for (const auto& [name, member] : members_) {
        if (member.liveness == Liveness::Departed && member.said_goodbye) {
            out.push_back(Departure{name, member.departed_incarnation});
        }
    }
    return out;
}

void FailureDetector::expect(const std::string& name, Millis now) {
    if (const auto it = members_.find(name); it != members_.end()) {
        it->second.expected = true;
        return;
    }
    if (members_.size() >= max_members_ && !make_room()) return;
    Member member{now, Liveness::Alive, false, 0};
    member.expected = true;
    members_.emplace(name, member);
}

void FailureDetector::grace_all(Millis now) {
    for (auto& [name, member] : members_) {
        member.last_heard = std::max(member.last_heard, now);
        if (member.liveness == Liveness::Dead) member.liveness = Liveness::Alive;
    }
}

std::vector<std::string> FailureDetector::newly_dead(Millis now, Millis heard_before) {
    std::vector<std::string> names;
    for (auto& [name, member] : members_) {
        if (member.liveness == Liveness::Alive && now - member.last_heard > timeout_ &&
            member.last_heard < heard_before) {
            member.liveness = Liveness::Dead;
            names.push_back(name);
        }
    }
    return names;
}

std::optional<Millis> FailureDetector::next_expiry() const {
    std::optional<Millis> earliest;
    for (const auto& [name, member] : members_) {
        if (member.liveness != Liveness::Alive) continue;
        const Millis at = member.last_heard + timeout_ + Millis{1};
        if (!earliest || at < *earliest) earliest = at;
    }
    return earliest;
}

std::size_t FailureDetector::present() const {
    return static_cast<std::size_t>(std::count_if(members_.begin(), members_.end(), [](const auto& entry) {
        return entry.second.liveness != Liveness::Departed;
    }));
}

std::size_t FailureDetector::dead_count() const {
    return static_cast<std::size_t>(std::count_if(members_.begin(), members_.end(), [](const auto& entry) {
        return entry.second.liveness == Liveness::Dead;
    }));
}

std::vector<std::string> FailureDetector::dead() const {
    std::vector<std::string> names;
    for (const auto& [name, member] : members_) {
        if (member.liveness == Liveness::Dead) names.push_back(name);
    }
    return names;
}

bool FailureDetector::knows_later_life(const std::string& name, std::uint64_t incarnation) const {
    const auto it = members_.find(name);
    return it != members_.end() && it->second.ever_heard && it->second.liveness != Liveness::Departed &&
           it->second.incarnation > incarnation;
}

Liveness FailureDetector::liveness(const std::string& name) const {
    const auto it = members_.find(name);
    return it == members_.end() ? Liveness::Departed : it->second.liveness;
}

std::vector<MemberView> FailureDetector::view(Millis now) const {
    std::vector<MemberView> views;
    views.reserve(members_.size());
    for (const auto& [name, member] : members_) {
        const Millis silent = now > member.last_heard ? now - member.last_heard : Millis{0};
        views.push_back(MemberView{name, member.liveness, member.ever_heard, silent, member.incarnation});
    }
    return views;
}

std::uint64_t FailureDetector::goodbye_of(const std::string& name) const {
    const auto it = members_.find(name);
    return it != members_.end() && it->second.said_goodbye ? it->second.departed_incarnation : 0;
}

std::size_t FailureDetector::count_above(const std::string& name, const std::vector<std::string>& except,
                                         bool dead_too) const {
    std::size_t count = 0;
    for (auto it = members_.upper_bound(name); it != members_.end(); ++it) {
        const Liveness liveness = it->second.liveness;
        const bool counted = liveness == Liveness::Alive || (dead_too && liveness == Liveness::Dead);
        if (counted && std::find(except.begin(), except.end(), it->first) == except.end()) ++count;
    }
    return count;
}

bool FailureDetector::declare_dead(const std::string& name) {
    const auto it = members_.find(name);
    if (it == members_.end() || it->second.liveness != Liveness::Alive) return false;
    it->second.liveness = Liveness::Dead;
    return true;
}

FailureDetector::Life FailureDetector::life(const std::string& name) const {
    const auto it = members_.find(name);
    if (it == members_.end()) return Life{};
    const Member& member = it->second;
    Life life{member.incarnation, member.link, std::nullopt};
    if (member.ever_heard) life.heard_since = member.life_heard_since;
    return life;
}

}  // namespace vigil
