#pragma once
// Who is alive, as far as this node has heard. Pure: time is an argument.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vigil/message.hpp"
#include "vigil/time.hpp"

namespace vigil {

enum class Liveness { Alive, Dead, Departed };
const char* to_string(Liveness liveness) noexcept;

struct MemberView {
    std::string name;
    Liveness liveness = Liveness::Alive;
    bool ever_heard = false;
    Millis silent_for{0};
    std::uint64_t incarnation = 0;
};

class FailureDetector {
public:
    // Departed: a late message from the incarnation that said goodbye (or an
    // older one); ignored, so that it does not count as alive again.
    enum class Heard { Known, New, Rejoined, Restarted, Departed, TableFull };

    FailureDetector(Millis timeout, std::size_t max_members);

    // A message from `name` arrived (`link`: which of that life's broker
    // connections sent it, 0 = not told). Restarted = a new incarnation of a
    // known node.
    Heard heard(const std::string& name, std::uint64_t incarnation, Millis now, std::uint64_t link = 0);
    // Graceful goodbye from that incarnation: never declared dead until a
    // message from another incarnation, or after a rejoin, is heard. Recorded
    // for a sender not known yet too; false only when the table is full.
    bool departed(const std::string& name, std::uint64_t incarnation);
    // Another node reports that this incarnation of `name` said goodbye. Taken
    // unless we know a later life of it (a larger incarnation): then we
    // remember to report that life (lives()). True if this made the member
    // departed.
    bool learn_departed(const std::string& name, std::uint64_t incarnation);
    // Another node reports a later life of a member we hold as departed: it
    // is a member again, silent since `now`. True if this revived it.
    bool learn_life(const std::string& name, std::uint64_t incarnation, Millis now);
    // For gossip, in name order: the goodbyes we know of, the later lives we
    // know of members that others still report as departed, and the members
    // (alive or dead) with the incarnation we last heard.
    std::vector<Departure> departures() const;
    std::vector<Departure> lives() const;
    std::vector<Departure> members() const;
    // Another node knows a member we do not: it is one, silent since `now`
    // (so judged a timeout from now). True if it was unknown to us.
    // What we heard ourselves beats what others tell: a known member is left as is.
    bool learn_member(const std::string& name, std::uint64_t incarnation, Millis now);
    // The leader no longer reports this member as departed: stop correcting it.
    void settle(const std::vector<Departure>& leaders_departures);
    // A member we expect, heard or not: silent since `now` at the latest.
    // Expected members are never pushed out of a full table.
    void expect(const std::string& name, Millis now);
    // Nobody is judged on silence from before `now` (new leader, reconnect).
    void grace_all(Millis now);
    // Members that crossed the timeout since the last call (now Dead), of
    // those last heard before `heard_before`: the observer's own path through
    // the broker is proven to have worked after that, so their silence is
    // theirs. Members heard later stay Alive for now.
    std::vector<std::string> newly_dead(Millis now, Millis heard_before);
    // When the next Alive member crosses the timeout (newly_dead() may then
    // name it), or empty if none is Alive.
    std::optional<Millis> next_expiry() const;
    // A fast signal proved it dead (Node::observe): Alive -> Dead now. True if it was Alive.
    bool declare_dead(const std::string& name);
    // Members currently Alive or Dead (not Departed), and of them Dead.
    std::size_t present() const;
    std::size_t dead_count() const;
    // Members Alive (as far as we know) whose name sorts after `name`, but those in `except`.
    std::size_t present_above(const std::string& name, const std::vector<std::string>& except) const {
        return count_above(name, except, false);
    }
    // Members not Departed (Alive or Dead: a Dead mark may be old news) whose
    // name sorts after `name`, but those in `except`.
    std::size_t remaining_above(const std::string& name, const std::vector<std::string>& except) const {
        return count_above(name, except, true);
    }
    std::vector<std::string> dead() const;

    Liveness liveness(const std::string& name) const;
    // We heard a life of `name` later than `incarnation`, and it has not left.
    bool knows_later_life(const std::string& name, std::uint64_t incarnation) const;

    bool knows(const std::string& name) const { return members_.count(name) != 0; }
    // The incarnation whose goodbye we hold for `name` (0 = none).
    std::uint64_t goodbye_of(const std::string& name) const;
    // The life of `name` heard last, the newest link of it heard, and since
    // when that life has been heard (only if we heard it ourselves).
    struct Life {
        std::uint64_t incarnation = 0;
        std::uint64_t link = 0;
        std::optional<Millis> heard_since;
    };
    Life life(const std::string& name) const;
    std::vector<MemberView> view(Millis now) const;

private:
    struct Member {
        Millis last_heard{0};
        Liveness liveness = Liveness::Alive;
        bool ever_heard = false;
        std::uint64_t incarnation = 0;
        std::uint64_t departed_incarnation = 0;
        bool said_goodbye = false;
        bool correcting = false;  // others gossip an older goodbye: report our life
        bool expected = false;
        std::uint32_t times_heard = 0;  // saturating; 0 = only known from others
        std::uint64_t link = 0;         // of `incarnation`, the newest heard
        Millis life_heard_since{0};     // `incarnation` first heard then (if ever_heard)
    };
    std::size_t count_above(const std::string& name, const std::vector<std::string>& except, bool dead_too) const;
    // A full table makes room by pushing out one member that never answered
    // (unexpected, heard at most once, not departed), the longest silent.
    bool make_room();
    Millis timeout_;
    std::size_t max_members_;
    std::map<std::string, Member> members_;
};

}  // namespace vigil
