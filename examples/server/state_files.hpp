#pragma once
// Durable files in STATE_DIR. A write either fully happens or not at all:
// temp file in the same directory, fsync, rename over the old one, fsync the
// directory. A SIGKILL at any moment leaves the previous or the new version.
#include <optional>
#include <string>

namespace example {

// False with *error set on failure; the old file is then untouched.
bool write_file_atomically(const std::string& path, const std::string& text, std::string* error);

// nullopt if the file does not exist; throws std::runtime_error if it exists
// but cannot be read, or is larger than max_bytes.
std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes);

}  // namespace example
