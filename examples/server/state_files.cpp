#include "server/state_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace example {
namespace {

bool set_error(std::string* error, const std::string& what) {
    if (error != nullptr) {
        *error = what + ": " + std::strerror(errno);
    }
    return false;
}

bool write_all(int fd, const std::string& text) {
    std::size_t written = 0;
    // Bounded: every successful round writes at least one byte.
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        written += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

bool write_file_atomically(const std::string& path, const std::string& text, std::string* error) {
    const std::filesystem::path target{path};
    const std::filesystem::path directory =
        target.has_parent_path() ? target.parent_path() : std::filesystem::path{"."};
    const std::string temp = path + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return set_error(error, "open " + temp);
    }
    const bool ok = write_all(fd, text) && ::fsync(fd) == 0;
    const int saved_errno = errno;
    ::close(fd);
    if (!ok) {
        errno = saved_errno;
        set_error(error, "write " + temp);
        ::unlink(temp.c_str());
        return false;
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        set_error(error, "rename " + temp);
        ::unlink(temp.c_str());
        return false;
    }
    // Make the rename itself durable.
    const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
        ::fsync(dir_fd);
        ::close(dir_fd);
    }
    return true;
}

std::optional<std::string> read_small_file(const std::string& path, std::size_t max_bytes) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        return std::nullopt;
    }
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        throw std::runtime_error("cannot stat " + path + ": " + ec.message());
    }
    if (size > max_bytes) {
        throw std::runtime_error(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    std::ifstream file{path, std::ios::binary};
    if (!file) {
        throw std::runtime_error("cannot read " + path);
    }
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

}  // namespace example
