// Atomic state files: a write replaces the whole file, and a failed write
// leaves the old one alone.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>

#include "server/state_files.hpp"

namespace {

std::filesystem::path fresh_dir() {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("vigil-state-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace

TEST_CASE("write_file_atomically replaces the content and leaves no temp file", "[server][unit]") {
    const auto dir = fresh_dir();
    const std::string path = (dir / "progress.txt").string();
    std::string error;
    CHECK_FALSE(example::read_small_file(path, 1024));
    REQUIRE(example::write_file_atomically(path, "first version, longer\n", &error));
    REQUIRE(example::write_file_atomically(path, "second\n", &error));
    CHECK(example::read_small_file(path, 1024) == std::optional<std::string>{"second\n"});
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
    CHECK_THROWS(example::read_small_file(path, 3));  // above the size bound
    std::filesystem::remove_all(dir);
}

TEST_CASE("a write that cannot happen reports an error", "[server][unit]") {
    std::string error;
    CHECK_FALSE(example::write_file_atomically("/nonexistent-dir/x/progress.txt", "x", &error));
    CHECK_FALSE(error.empty());
}
