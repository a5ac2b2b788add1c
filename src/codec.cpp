#include "vigil/codec.hpp"

#include <nlohmann/json.hpp>

namespace vigil {
namespace {

using json = nlohmann::json;

const char* const kTypeNames[] = {"heartbeat", "election", "answer", "coordinator", "goodbye"};
const MessageType kTypes[] = {MessageType::Heartbeat, MessageType::Election, MessageType::Answer,
                              MessageType::Coordinator, MessageType::Goodbye};

std::optional<MessageType> type_from(const std::string& name) {
    for (std::size_t i = 0; i < std::size(kTypes); ++i) {
        if (name == kTypeNames[i]) return kTypes[i];
    }
    return std::nullopt;
}

std::optional<Role> role_from(const std::string& name) {
    if (name == "follower") return Role::Follower;
    if (name == "candidate") return Role::Candidate;
    if (name == "leader") return Role::Leader;
    return std::nullopt;
}

// Only non-negative integers that fit: no floats, no strings, no negatives.
std::optional<std::uint64_t> unsigned_field(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number_unsigned()) return std::nullopt;
    return it->get<std::uint64_t>();
}

std::optional<std::string> string_field(const json& object, const char* key) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

Decoded fail(DecodeError error) { return Decoded{std::nullopt, error}; }

// "departed" / "lives" / "members": [[name, incarnation], ...], optional, bounded.
DecodeError departures_from(const json& object, const char* key, std::vector<Departure>& out) {
    const auto it = object.find(key);
    if (it == object.end()) return DecodeError::None;
    if (!it->is_array() || it->size() > kMaxEntriesPerList) return DecodeError::BadField;
    for (const json& entry : *it) {
        if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number_unsigned()) {
            return DecodeError::BadField;
        }
        Departure departure{entry[0].get<std::string>(), entry[1].get<std::uint64_t>()};
        if (!is_valid_node_name(departure.name)) return DecodeError::BadName;
        out.push_back(std::move(departure));
    }
    return DecodeError::None;
}

// "restarts": [[name, in_a_row, age_ms, in_flight 0|1], ...], optional, bounded.
DecodeError restarts_from(const json& object, std::vector<RestartNote>& out) {
    const auto it = object.find("restarts");
    if (it == object.end()) return DecodeError::None;
    if (!it->is_array() || it->size() > kMaxEntriesPerList) return DecodeError::BadField;
    for (const json& entry : *it) {
        if (!entry.is_array() || entry.size() != 4 || !entry[0].is_string()) return DecodeError::BadField;
        for (std::size_t i = 1; i < 4; ++i) {
            if (!entry[i].is_number_unsigned()) return DecodeError::BadField;
        }
        const auto in_a_row = entry[1].get<std::uint64_t>();
        const auto in_flight = entry[3].get<std::uint64_t>();
        if (in_flight > 1) return DecodeError::BadField;
        if (in_a_row > kMaxRestartsInARow) return DecodeError::OutOfRange;
        RestartNote note{entry[0].get<std::string>(), static_cast<std::uint32_t>(in_a_row),
                         entry[2].get<std::uint64_t>(), in_flight == 1};
        if (!is_valid_node_name(note.name)) return DecodeError::BadName;
        out.push_back(std::move(note));
    }
    return DecodeError::None;
}

Decoded decode_object(const json& object) {
    if (!object.is_object()) return fail(DecodeError::Malformed);
    const auto version = unsigned_field(object, "v");
    if (!version || *version != static_cast<std::uint64_t>(kWireVersion)) {
        return fail(DecodeError::WrongVersion);
    }
    const auto type_name = string_field(object, "type");
    if (!type_name) return fail(DecodeError::BadField);
    const auto type = type_from(*type_name);
    if (!type) return fail(DecodeError::UnknownType);

    const auto from = string_field(object, "from");
    const auto term = unsigned_field(object, "term");
    const auto role_name = string_field(object, "role");
    const auto leader = string_field(object, "leader");
    const auto incarnation = unsigned_field(object, "inc");
    if (!from || !term || !role_name || !leader || !incarnation) return fail(DecodeError::BadField);
    const auto role = role_from(*role_name);
    if (!role) return fail(DecodeError::BadField);
    if (!is_valid_node_name(*from)) return fail(DecodeError::BadName);
    if (!leader->empty() && !is_valid_node_name(*leader)) return fail(DecodeError::BadName);

    Message message{*type, *from, *term, *role, *leader, *incarnation};
    for (const auto& [key, list] : {std::pair{"departed", &message.departed}, std::pair{"lives", &message.lives},
                                    std::pair{"members", &message.members}}) {
        if (const DecodeError error = departures_from(object, key, *list); error != DecodeError::None) {
            return fail(error);
        }
    }
    if (const DecodeError error = restarts_from(object, message.restarts); error != DecodeError::None) {
        return fail(error);
    }
    if (object.contains("seq")) {
        const auto seq = unsigned_field(object, "seq");
        if (!seq) return fail(DecodeError::BadField);
        message.seq = *seq;
    }
    if (object.contains("probe")) {
        const auto probe = unsigned_field(object, "probe");
        if (!probe || *probe > 1) return fail(DecodeError::BadField);
        message.probe = *probe == 1;
    }
    if (object.contains("link")) {
        const auto link = unsigned_field(object, "link");
        if (!link) return fail(DecodeError::BadField);
        message.link = *link;
    }
    if (!in_range(message)) return fail(DecodeError::OutOfRange);
    return Decoded{std::move(message), DecodeError::None};
}

}  // namespace

const char* to_string(DecodeError error) noexcept {
    switch (error) {
        case DecodeError::None: return "none";
        case DecodeError::Oversized: return "oversized";
        case DecodeError::Malformed: return "malformed";
        case DecodeError::WrongVersion: return "wrong_version";
        case DecodeError::UnknownType: return "unknown_type";
        case DecodeError::BadField: return "bad_field";
        case DecodeError::BadName: return "bad_name";
        case DecodeError::OutOfRange: return "out_of_range";
    }
    return "?";
}

std::string encode(const Message& message) {
    json object = {
        {"v", kWireVersion},
        {"type", to_string(message.type)},
        {"from", message.from},
        {"term", message.term},
        {"role", to_string(message.role)},
        {"leader", message.leader},
        {"inc", message.incarnation},
    };
    for (const auto& [key, list] : {std::pair{"departed", &message.departed}, std::pair{"lives", &message.lives},
                                    std::pair{"members", &message.members}}) {
        if (list->empty()) continue;
        json entries = json::array();
        for (const Departure& entry : *list) entries.push_back(json::array({entry.name, entry.incarnation}));
        object[key] = std::move(entries);
    }
    if (!message.restarts.empty()) {
        json entries = json::array();
        for (const RestartNote& note : message.restarts) {
            entries.push_back(json::array({note.name, note.in_a_row, note.age_ms, note.in_flight ? 1 : 0}));
        }
        object["restarts"] = std::move(entries);
    }
    if (message.seq != 0) object["seq"] = message.seq;
    if (message.link != 0) object["link"] = message.link;
    if (message.probe) object["probe"] = 1;
    return object.dump();
}

Decoded decode(std::string_view body, std::size_t max_bytes) noexcept {
    if (body.size() > max_bytes) return fail(DecodeError::Oversized);
    try {
        // No exceptions from the parser itself; invalid UTF-8 etc. -> discarded.
        const json object = json::parse(body, nullptr, /*allow_exceptions=*/false);
        if (object.is_discarded()) return fail(DecodeError::Malformed);
        return decode_object(object);
    } catch (...) {
        // Allocation failure or a library surprise: still only a dropped message.
        return fail(DecodeError::Malformed);
    }
}

}  // namespace vigil
