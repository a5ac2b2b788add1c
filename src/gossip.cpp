#include "vigil/gossip.hpp"

#include <algorithm>

#include "vigil/codec.hpp"

namespace vigil {
namespace {

// Upper bounds of an entry's encoded size: every name byte may need escaping,
// numbers take at most 20 digits, plus brackets, quotes and commas.
std::size_t cost(const Departure& entry) { return 2 * entry.name.size() + 26; }
std::size_t cost(const RestartNote& note) { return 2 * note.name.size() + 50; }
constexpr std::size_t kListKeyCost = 16;  // ,"departed":[]

// Takes entries of `source` starting after `cursor` (wrapping), while they fit.
template <typename Entry>
void take(const std::vector<Entry>& source, std::string& cursor, std::size_t& budget, std::vector<Entry>& out) {
    if (source.empty() || budget < kListKeyCost) return;
    budget -= kListKeyCost;
    const auto start = std::upper_bound(source.begin(), source.end(), cursor,
                                        [](const std::string& name, const Entry& e) { return name < e.name; });
    const std::size_t first = static_cast<std::size_t>(start - source.begin());
    for (std::size_t i = 0; i < source.size(); ++i) {
        const Entry& entry = source[(first + i) % source.size()];
        if (cost(entry) > budget) break;
        budget -= cost(entry);
        out.push_back(entry);
        cursor = entry.name;
    }
}

}  // namespace

void fill_gossip(Message& heartbeat, const GossipSources& sources, GossipCursors& cursors, std::size_t max_bytes) {
    const std::size_t base = encode(heartbeat).size();
    std::size_t budget = max_bytes > base ? max_bytes - base : 0;
    take(sources.restarts, cursors.restarts, budget, heartbeat.restarts);
    take(sources.departed, cursors.departed, budget, heartbeat.departed);
    take(sources.lives, cursors.lives, budget, heartbeat.lives);
    take(sources.members, cursors.members, budget, heartbeat.members);
}

}  // namespace vigil
