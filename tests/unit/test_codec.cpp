// Codec: every message type round-trips, the wire format is the documented
// JSON object, and every kind of bad body is dropped with the right reason
// and without throwing.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/codec.hpp"
#include "vigil/message.hpp"

using vigil::decode;
using vigil::DecodeError;
using vigil::encode;
using vigil::Message;
using vigil::MessageType;
using vigil::Role;
using json = nlohmann::json;

namespace {

// A valid wire object; rows below break one thing at a time.
json valid_object() {
    return json{{"v", 1},       {"type", "heartbeat"}, {"from", "node-a"}, {"term", 3},
                {"role", "leader"}, {"leader", "node-a"}, {"inc", 42}};
}

// Decodes and never lets an exception escape the test (decode is noexcept,
// so a throw would terminate; REQUIRE_NOTHROW documents the promise).
vigil::Decoded decode_checked(const std::string& body,
                              std::size_t max_bytes = vigil::kDefaultMaxMessageBytes) {
    vigil::Decoded out;
    REQUIRE_NOTHROW(out = decode(body, max_bytes));
    // An error and a message are mutually exclusive.
    CHECK(out.message.has_value() == (out.error == DecodeError::None));
    return out;
}

}  // namespace

TEST_CASE("codec: every message type and role round-trips", "[codec]") {
    struct Row {
        const char* name;
        Message message;
    };
    const std::uint64_t max_term = vigil::kMaxTerm, max_inc = vigil::kMaxIncarnation;
    const std::vector<Row> rows = {
        {"heartbeat follower", {MessageType::Heartbeat, "a", 1, Role::Follower, "b", 7}},
        {"heartbeat leader", {MessageType::Heartbeat, "b", 9, Role::Leader, "b", 8}},
        {"heartbeat, no leader", {MessageType::Heartbeat, "a", 0, Role::Follower, "", 1}},
        {"election candidate", {MessageType::Election, "a", 2, Role::Candidate, "", 5}},
        {"answer", {MessageType::Answer, "c", 2, Role::Follower, "c", 6}},
        {"coordinator", {MessageType::Coordinator, "c", 4, Role::Leader, "c", 6}},
        {"goodbye", {MessageType::Goodbye, "w-1", 4, Role::Follower, "c", 6}},
        {"term and incarnation at their bounds", {MessageType::Heartbeat, "a", max_term, Role::Leader, "a", max_inc}},
        {"128-byte names", {MessageType::Coordinator, std::string(128, 'z'), 1, Role::Leader,
                            std::string(128, 'y'), 1}},
        {"punctuation in names", {MessageType::Heartbeat, "svc_1.prod-x:9", 1, Role::Follower,
                                  "$(rm${IFS}-rf${IFS}~);`x`", 2}},
        {"heartbeat with gossip", {MessageType::Heartbeat, "a", 3, Role::Leader, "a", 9,
                                   {{"b", 7}, {"c", max_inc}}, {{"d", 12}}}},
        {"heartbeat with its echo number", {MessageType::Heartbeat, "a", 3, Role::Follower, "b", 9, {}, {}, {}, {}, 12345}},
        {"heartbeat with members and restarts", {MessageType::Heartbeat, "a", 3, Role::Leader, "a", 9, {}, {},
                                                  {{"b", 7}, {"c", max_inc}},
                                                  {{"b", 3, 1500, true}, {"c", vigil::kMaxRestartsInARow, vigil::kMaxNoteAgeMs, false}},
                                                  4}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            const std::string body = encode(row.message);
            const auto decoded = decode_checked(body);
            REQUIRE(decoded.error == DecodeError::None);
            REQUIRE(decoded.message.has_value());
            CHECK(*decoded.message == row.message);
        }
    }
}

TEST_CASE("codec: the wire format is the documented JSON object", "[codec]") {
    struct Row {
        const char* name;
        Message message;
        const char* type;
        const char* role;
    };
    const std::vector<Row> rows = {
        {"heartbeat", {MessageType::Heartbeat, "a", 1, Role::Follower, "b", 7}, "heartbeat", "follower"},
        {"election", {MessageType::Election, "a", 2, Role::Candidate, "", 5}, "election", "candidate"},
        {"answer", {MessageType::Answer, "c", 3, Role::Follower, "c", 6}, "answer", "follower"},
        {"coordinator", {MessageType::Coordinator, "c", 4, Role::Leader, "c", 6}, "coordinator", "leader"},
        {"goodbye", {MessageType::Goodbye, "d", 5, Role::Follower, "c", 9}, "goodbye", "follower"},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            const json j = json::parse(encode(row.message));
            REQUIRE(j.is_object());
            CHECK(j.at("v") == 1);
            CHECK(j.at("type") == row.type);
            CHECK(j.at("from") == row.message.from);
            CHECK(j.at("term") == row.message.term);
            CHECK(j.at("role") == row.role);
            CHECK(j.at("leader") == row.message.leader);
            CHECK(j.at("inc") == row.message.incarnation);
        }
    }
}

TEST_CASE("codec: a hand-written body in the documented format decodes", "[codec]") {
    const auto decoded = decode_checked(
        R"({"v":1,"type":"coordinator","from":"c","term":12,"role":"leader","leader":"c","inc":99})");
    REQUIRE(decoded.error == DecodeError::None);
    const Message expected{MessageType::Coordinator, "c", 12, Role::Leader, "c", 99};
    CHECK(*decoded.message == expected);
}

TEST_CASE("codec: raw bodies that are dropped, with the reason", "[codec]") {
    struct Row {
        const char* name;
        std::string body;
        std::set<DecodeError> expected;  // more than one only where the header leaves it open
    };
    const std::vector<Row> rows = {
        {"empty body", "", {DecodeError::Malformed}},
        {"not JSON", "hello", {DecodeError::Malformed}},
        {"truncated object", R"({"v":1,"type":"heartbeat","from":"a")", {DecodeError::Malformed}},
        {"truncated string", R"({"v":1,"type":"heartb)", {DecodeError::Malformed}},
        {"trailing garbage", valid_object().dump() + " x", {DecodeError::Malformed}},
        {"two objects", valid_object().dump() + valid_object().dump(), {DecodeError::Malformed}},
        {"array", "[1,2,3]", {DecodeError::Malformed}},
        {"array holding a valid object", "[" + valid_object().dump() + "]", {DecodeError::Malformed}},
        {"number", "42", {DecodeError::Malformed}},
        {"string", R"("heartbeat")", {DecodeError::Malformed}},
        {"null", "null", {DecodeError::Malformed}},
        {"true", "true", {DecodeError::Malformed}},
        {"deep nesting", std::string(1500, '[') + std::string(1500, ']'), {DecodeError::Malformed}},
        {"NUL byte", std::string("{\0}", 3), {DecodeError::Malformed}},
        {"number overflowing a double",
         R"({"v":1,"type":"heartbeat","from":"a","term":1e400,"role":"leader","leader":"a","inc":1})",
         {DecodeError::Malformed, DecodeError::BadField}},
        {"invalid UTF-8 in a name",
         "{\"v\":1,\"type\":\"heartbeat\",\"from\":\"a\xff\xfe\",\"term\":1,\"role\":\"leader\","
         "\"leader\":\"a\",\"inc\":1}",
         {DecodeError::Malformed, DecodeError::BadName}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            const auto decoded = decode_checked(row.body);
            INFO("got " << vigil::to_string(decoded.error));
            CHECK(row.expected.count(decoded.error) == 1);
            CHECK_FALSE(decoded.message.has_value());
        }
    }
}

TEST_CASE("codec: one broken field at a time", "[codec]") {
    struct Row {
        const char* name;
        const char* field;
        json value;          // replaces the field's value ...
        bool remove = false;  // ... or the field is removed
        std::set<DecodeError> expected;
    };
    const json null_value;  // placeholder for removals
    const std::vector<Row> rows = {
        // version
        {"v missing", "v", null_value, true, {DecodeError::WrongVersion}},
        {"v = 2", "v", 2, false, {DecodeError::WrongVersion}},
        {"v = 0", "v", 0, false, {DecodeError::WrongVersion}},
        {"v as string", "v", "1", false, {DecodeError::WrongVersion}},
        // type
        {"unknown type", "type", "promote", false, {DecodeError::UnknownType}},
        {"type in capitals", "type", "HEARTBEAT", false, {DecodeError::UnknownType}},
        {"type empty", "type", "", false, {DecodeError::UnknownType}},
        {"type missing", "type", null_value, true, {DecodeError::UnknownType, DecodeError::BadField}},
        {"type as number", "type", 0, false, {DecodeError::UnknownType, DecodeError::BadField}},
        // term
        {"term as string", "term", "3", false, {DecodeError::BadField}},
        {"negative term", "term", -1, false, {DecodeError::BadField}},
        {"float term", "term", 1.5, false, {DecodeError::BadField}},
        {"term null", "term", json(nullptr), false, {DecodeError::BadField}},
        {"term as object", "term", json::object(), false, {DecodeError::BadField}},
        {"term huge float", "term", 1e30, false, {DecodeError::BadField}},
        {"term missing", "term", null_value, true, {DecodeError::BadField}},
        // incarnation
        {"inc missing", "inc", null_value, true, {DecodeError::BadField}},
        {"negative inc", "inc", -5, false, {DecodeError::BadField}},
        {"inc as string", "inc", "42", false, {DecodeError::BadField}},
        {"float inc", "inc", 0.25, false, {DecodeError::BadField}},
        // role
        {"unknown role", "role", "king", false, {DecodeError::BadField}},
        {"role as number", "role", 2, false, {DecodeError::BadField}},
        {"role missing", "role", null_value, true, {DecodeError::BadField}},
        // from
        {"from as number", "from", 7, false, {DecodeError::BadField}},
        {"from null", "from", json(nullptr), false, {DecodeError::BadField}},
        {"from missing", "from", null_value, true, {DecodeError::BadField}},
        {"from empty", "from", "", false, {DecodeError::BadName}},
        {"from 129 bytes", "from", std::string(129, 'a'), false, {DecodeError::BadName}},
        {"from huge", "from", std::string(3000, 'a'), false, {DecodeError::BadName}},
        {"from with a space", "from", "node a", false, {DecodeError::BadName}},
        {"from with a newline", "from", "node\na", false, {DecodeError::BadName}},
        {"from with a tab", "from", "node\ta", false, {DecodeError::BadName}},
        {"from with NUL", "from", std::string("a\0b", 3), false, {DecodeError::BadName}},
        {"from with DEL", "from", "a\x7f", false, {DecodeError::BadName}},
        {"from with non-ASCII", "from", "n\xc3\xa9", false, {DecodeError::BadName}},
        // leader ("" = nobody is valid; anything else must be a name)
        {"leader as number", "leader", 1, false, {DecodeError::BadField}},
        {"leader missing", "leader", null_value, true, {DecodeError::BadField}},
        {"leader with a space", "leader", "x y", false, {DecodeError::BadName}},
        {"leader 129 bytes", "leader", std::string(129, 'l'), false, {DecodeError::BadName}},
        {"leader with escape char", "leader", "\x1b[31m", false, {DecodeError::BadName}},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            json j = valid_object();
            if (row.remove) {
                j.erase(row.field);
            } else {
                j[row.field] = row.value;
            }
            const auto decoded = decode_checked(j.dump());
            INFO("body " << j.dump() << " got " << vigil::to_string(decoded.error));
            CHECK(row.expected.count(decoded.error) == 1);
            CHECK_FALSE(decoded.message.has_value());
        }
    }
}

TEST_CASE("codec: numbers at and beyond their bounds", "[codec]") {
    struct Row {
        const char* name;
        const char* field;    // term, inc, seq or the incarnation in a departure
        const char* literal;  // spliced into the body as raw JSON
        DecodeError expected;
    };
    const std::vector<Row> rows = {
        {"term 0", "term", "0", DecodeError::None},
        {"term 2^53-1 (the bound)", "term", "9007199254740991", DecodeError::None},
        {"term 2^53", "term", "9007199254740992", DecodeError::OutOfRange},
        {"term 2^63", "term", "9223372036854775808", DecodeError::OutOfRange},
        {"term 2^64-3 (the wrap seen in the field)", "term", "18446744073709551613", DecodeError::OutOfRange},
        {"term 2^64-1", "term", "18446744073709551615", DecodeError::OutOfRange},
        {"term 2^64", "term", "18446744073709551616", DecodeError::BadField},
        {"term of 40 digits", "term", "1234567890123456789012345678901234567890", DecodeError::BadField},
        {"term -0.0", "term", "-0.0", DecodeError::BadField},
        {"term 1e3 (a float in JSON)", "term", "1e3", DecodeError::BadField},
        {"incarnation 2^62 (the bound)", "inc", "4611686018427387904", DecodeError::None},
        {"incarnation 2^62+1", "inc", "4611686018427387905", DecodeError::OutOfRange},
        {"incarnation 2^64-1", "inc", "18446744073709551615", DecodeError::OutOfRange},
        {"seq 2^64-1 (only its sender reads it)", "seq", "18446744073709551615", DecodeError::None},
        {"seq negative", "seq", "-1", DecodeError::BadField},
        {"seq a string", "seq", "\"1\"", DecodeError::BadField},
        {"a departure's incarnation 2^64-1", "departed", "[[\"b\",18446744073709551615]]", DecodeError::OutOfRange},
        {"a life's incarnation 2^63", "lives", "[[\"b\",9223372036854775808]]", DecodeError::OutOfRange},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            nlohmann::json body = nlohmann::json::parse(R"({"v":1,"type":"heartbeat","from":"a","term":1,"role":"follower","leader":"","inc":1})");
            std::string text = body.dump();
            const std::string key = std::string("\"") + row.field + "\":";
            if (const auto at = text.find(key); at != std::string::npos) {
                const auto end = text.find_first_of(",}", at);
                text = text.substr(0, at) + key + row.literal + text.substr(end);
            } else {
                text.insert(text.size() - 1, "," + key + row.literal);
            }
            const auto decoded = decode_checked(text);
            INFO(text << " -> " << vigil::to_string(decoded.error));
            CHECK(decoded.error == row.expected);
        }
    }
}

TEST_CASE("codec: the size limit is checked before parsing, at the exact byte", "[codec]") {
    const std::string body = encode({MessageType::Heartbeat, "a", 1, Role::Follower, "b", 7});
    struct Row {
        const char* name;
        std::string body;
        std::size_t max_bytes;
        DecodeError expected;
    };
    const std::vector<Row> rows = {
        {"exactly at the limit", body, body.size(), DecodeError::None},
        {"one byte over", body, body.size() - 1, DecodeError::Oversized},
        {"default limit, 4097 bytes of garbage", std::string(4097, '{'),
         vigil::kDefaultMaxMessageBytes, DecodeError::Oversized},
        {"default limit, 1 MiB", std::string(1 << 20, ' '), vigil::kDefaultMaxMessageBytes,
         DecodeError::Oversized},
        {"valid JSON padded past the limit", body + std::string(5000, ' '),
         vigil::kDefaultMaxMessageBytes, DecodeError::Oversized},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            const auto decoded = decode_checked(row.body, row.max_bytes);
            INFO("got " << vigil::to_string(decoded.error));
            CHECK(decoded.error == row.expected);
        }
    }
}

TEST_CASE("codec: every strict prefix of a valid body is rejected", "[codec]") {
    // Truncation anywhere (a cut-off AMQP body) must never yield a message.
    const std::string body =
        encode({MessageType::Coordinator, "node-c", 17, Role::Leader, "node-c", 12345});
    for (std::size_t n = 0; n < body.size(); ++n) {
        const auto decoded = decode_checked(body.substr(0, n));
        INFO("prefix length " << n);
        CHECK(decoded.error != DecodeError::None);
    }
}

TEST_CASE("codec: every DecodeError has its own name", "[codec]") {
    const std::vector<DecodeError> all = {DecodeError::None,        DecodeError::Oversized,
                                          DecodeError::Malformed,   DecodeError::WrongVersion,
                                          DecodeError::UnknownType, DecodeError::BadField,
                                          DecodeError::BadName};
    std::set<std::string> names;
    for (const auto e : all) {
        const char* s = vigil::to_string(e);
        REQUIRE(s != nullptr);
        CHECK(std::string(s).size() > 0);
        names.insert(s);
    }
    CHECK(names.size() == all.size());
}

TEST_CASE("message: node name validity", "[codec]") {
    struct Row {
        const char* name;
        std::string node_name;
        bool valid;
    };
    const std::vector<Row> rows = {
        {"simple", "worker-1", true},
        {"one byte", "a", true},
        {"128 bytes", std::string(128, 'n'), true},
        {"punctuation", "a.b_c:d@e", true},
        {"leading dash (the restarter guards this, not the codec)", "-rf", true},
        {"empty", "", false},
        {"129 bytes", std::string(129, 'n'), false},
        {"space", "a b", false},
        {"newline", "a\n", false},
        {"carriage return", "a\rb", false},
        {"NUL", std::string("a\0", 2), false},
        {"DEL", "\x7f", false},
        {"UTF-8", "caf\xc3\xa9", false},
    };
    for (const auto& row : rows) {
        SECTION(row.name) { CHECK(vigil::is_valid_node_name(row.node_name) == row.valid); }
    }
}

TEST_CASE("codec: departed and lives lists are validated", "[codec]") {
    const std::string head = R"({"v":1,"type":"heartbeat","from":"a","term":1,"role":"leader","leader":"a","inc":1,)";
    std::string too_many = R"("departed":[)";
    for (std::size_t i = 0; i <= vigil::kMaxEntriesPerList; ++i) too_many += (i ? "," : "") + std::string(R"(["n",1])");
    too_many += "]";
    struct Row {
        const char* name;
        std::string field;
        DecodeError error;
    };
    const std::vector<Row> rows = {
        {"absent lists are fine", R"("x":0)", DecodeError::None},
        {"empty lists are fine", R"("departed":[],"lives":[])", DecodeError::None},
        {"not an array", R"("departed":{"b":1})", DecodeError::BadField},
        {"entry not a pair", R"("departed":[["b"]])", DecodeError::BadField},
        {"incarnation a string", R"("lives":[["b","1"]])", DecodeError::BadField},
        {"negative incarnation", R"("lives":[["b",-1]])", DecodeError::BadField},
        {"name not valid", R"("departed":[["b c",1]])", DecodeError::BadName},
        {"more entries than the bound", too_many, DecodeError::BadField},
        {"members like departures", R"("members":[["b",1],["c",2]])", DecodeError::None},
        {"a member not a pair", R"("members":[["b",1,2]])", DecodeError::BadField},
        {"a member with a bad name", R"("members":[["b c",1]])", DecodeError::BadName},
        {"restart notes", R"("restarts":[["b",3,1500,1],["c",0,0,0]])", DecodeError::None},
        {"a restart note of three fields", R"("restarts":[["b",3,1500]])", DecodeError::BadField},
        {"in flight neither 0 nor 1", R"("restarts":[["b",3,1500,2]])", DecodeError::BadField},
        {"restarts in a row past the bound", R"("restarts":[["b",65,1500,0]])", DecodeError::OutOfRange},
        {"a restart note's age a string", R"("restarts":[["b",3,"1500",0]])", DecodeError::BadField},
        {"a restart note's age past the bound", R"("restarts":[["b",3,9007199254740992,0]])", DecodeError::OutOfRange},
        {"a restart note with a bad name", R"("restarts":[["",3,1500,0]])", DecodeError::BadName},
    };
    for (const auto& row : rows) {
        SECTION(row.name) {
            const auto decoded = decode_checked(head + row.field + "}", std::size_t{1} << 20);
            CHECK(decoded.error == row.error);
            CHECK(decoded.message.has_value() == (row.error == DecodeError::None));
        }
    }
}
