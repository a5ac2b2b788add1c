#pragma once
// Time as the pure core sees it: milliseconds since an arbitrary epoch.
// The core never reads a clock; adapters pass `now` in.
#include <chrono>

namespace vigil {

using Millis = std::chrono::milliseconds;

}  // namespace vigil
