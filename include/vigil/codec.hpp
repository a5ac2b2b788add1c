#pragma once
// Wire format: one JSON object per AMQP message body.
// decode() validates everything and never throws.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "vigil/message.hpp"

namespace vigil {

inline constexpr std::size_t kDefaultMaxMessageBytes = 4096;
inline constexpr int kWireVersion = 1;

enum class DecodeError {
    None,
    Oversized,     // body larger than the limit
    Malformed,     // not JSON, or not an object
    WrongVersion,  // "v" missing or not ours
    UnknownType,   // "type" not one we know
    BadField,      // a field missing, of the wrong type, or out of range
    BadName,       // "from" or "leader" is not a valid node name
    OutOfRange,    // a term or incarnation past its bound (message.hpp): a wrap or a forgery
};

const char* to_string(DecodeError error) noexcept;

struct Decoded {
    std::optional<Message> message;
    DecodeError error = DecodeError::None;
};

std::string encode(const Message& message);
Decoded decode(std::string_view body,
               std::size_t max_bytes = kDefaultMaxMessageBytes) noexcept;

}  // namespace vigil
