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

FailureDetector::Heard FailureDetector::heard(const std::string& name, std::uint64_t incarnation, Millis now) {
    auto it = members_.find(name);
    if (it == members_.end()) {
        if (members_.size() >= max_members_) return Heard::TableFull;
        members_.emplace(name, Member{now, Liveness::Alive, true, incarnation});
        return Heard::New;
    }
    Member& member = it->second;
    if (member.liveness == Liveness::Departed && member.said_goodbye &&
        member.departed_incarnation == incarnation) {
        return Heard::Departed;
    }
    Heard result = Heard::Known;
    if (!member.ever_heard) {
        result = Heard::New;
    } else if (member.incarnation != incarnation) {
        result = Heard::Restarted;
    } else if (member.liveness != Liveness::Alive) {
        result = Heard::Rejoined;
    }
    member.last_heard = std::max(member.last_heard, now);
    member.liveness = Liveness::Alive;
    member.ever_heard = true;
    member.incarnation = incarnation;
    return result;
}

void FailureDetector::departed(const std::string& name, std::uint64_t incarnation) {
    const auto it = members_.find(name);
    if (it == members_.end()) return;
    it->second.liveness = Liveness::Departed;
    it->second.said_goodbye = true;
    it->second.departed_incarnation = incarnation;
}

void FailureDetector::expect(const std::string& name, Millis now) {
    if (members_.count(name) || members_.size() >= max_members_) return;
    members_.emplace(name, Member{now, Liveness::Alive, false, 0});
}

void FailureDetector::grace_all(Millis now) {
    for (auto& [name, member] : members_) {
        member.last_heard = std::max(member.last_heard, now);
        if (member.liveness == Liveness::Dead) member.liveness = Liveness::Alive;
    }
}

std::vector<std::string> FailureDetector::newly_dead(Millis now) {
    std::vector<std::string> names;
    for (auto& [name, member] : members_) {
        if (member.liveness == Liveness::Alive && now - member.last_heard > timeout_) {
            member.liveness = Liveness::Dead;
            names.push_back(name);
        }
    }
    return names;
}

std::vector<std::string> FailureDetector::dead() const {
    std::vector<std::string> names;
    for (const auto& [name, member] : members_) {
        if (member.liveness == Liveness::Dead) names.push_back(name);
    }
    return names;
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

}  // namespace vigil
