// The project's two clocks, in milliseconds: wall time for what is stored or shown (lease expiry,
// lifecycle dates, staleness across processes) and monotonic time for durations inside one
// process (timeouts, ages). Never mix them.
#pragma once

#include <chrono>
#include <cstdint>

namespace roster::base {

// Unix time in milliseconds (UTC).
inline int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Milliseconds on a clock that never goes back; meaningful only as differences within a process
// (and across processes on one host: CLOCK_MONOTONIC is system-wide).
inline int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace roster::base
