#pragma once
// What happened in one run. Verbose (replay of one seed): printed as it
// happens. Otherwise the last lines are kept so a failure can show them.
#include <algorithm>
#include <cstddef>
#include <deque>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>

#include "vigil/time.hpp"

namespace vigil::sim {

class Trace {
public:
    // level 0: ring buffer only; 1: print notable events; 2: also every message.
    explicit Trace(int level = 0, std::size_t keep = 60) : level_(level), keep_(keep) {}

    int level() const { return level_; }
    bool messages() const { return level_ >= 2; }

    template <typename... Parts>
    void note(Millis now, Parts&&... parts) {
        std::ostringstream line;
        line << "[t=" << now.count() / 1000 << '.' << pad3(now.count() % 1000) << "s] ";
        (line << ... << std::forward<Parts>(parts));
        push(line.str());
    }

    std::string tail() const {
        std::string text;
        for (const std::string& line : lines_) text += line + '\n';
        return text;
    }

private:
    static std::string pad3(long long ms) {
        std::string digits = std::to_string(ms);
        return std::string(3 - std::min<std::size_t>(3, digits.size()), '0') + digits;
    }
    void push(std::string line) {
        if (level_ >= 1) std::cout << line << '\n';
        lines_.push_back(std::move(line));
        if (lines_.size() > keep_) lines_.pop_front();
    }

    int level_;
    std::size_t keep_;
    std::deque<std::string> lines_;
};

}  // namespace vigil::sim
