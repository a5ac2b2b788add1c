#pragma once
// The simulation's only source of randomness: xoshiro256** seeded through
// splitmix64. Ranged draws are our own (rejection sampling) because
// std::uniform_int_distribution differs between standard libraries, and a
// failing seed must replay identically everywhere.
#include <cstdint>

namespace vigil::sim {

class Rng {
public:
    explicit Rng(std::uint64_t seed) noexcept {
        for (auto& word : state_) word = splitmix64(seed);
    }

    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
        const std::uint64_t t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // Uniform in [lo, hi], both inclusive; unbiased (rejects the ragged tail).
    std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
        if (hi <= lo) return lo;
        const std::uint64_t span = hi - lo;
        if (span == UINT64_MAX) return next();
        const std::uint64_t range = span + 1;
        const std::uint64_t limit = UINT64_MAX - (UINT64_MAX % range);
        std::uint64_t draw = next();
        while (draw >= limit) draw = next();  // expected < 2 iterations
        return lo + draw % range;
    }

    std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
        if (hi <= lo) return lo;
        const auto span = static_cast<std::uint64_t>(hi - lo);
        return lo + static_cast<std::int64_t>(between(std::uint64_t{0}, span));
    }

    std::size_t index(std::size_t size) noexcept {  // [0, size)
        return size == 0 ? 0 : static_cast<std::size_t>(between(std::uint64_t{0}, std::uint64_t{size - 1}));
    }

    // True with probability per_million / 1e6 (integers keep replay exact).
    bool chance(std::uint32_t per_million) noexcept {
        return per_million != 0 && between(std::uint64_t{0}, std::uint64_t{999'999}) < per_million;
    }

    // An independent stream for one subsystem, so that e.g. network draws do
    // not shift the fault schedule when a message count changes.
    Rng fork() noexcept { return Rng(next()); }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
    static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    std::uint64_t state_[4]{};
};

}  // namespace vigil::sim
