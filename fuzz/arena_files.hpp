// /dev/shm bookkeeping for harnesses that create arenas: every arena name they use starts with
// "fuzz.<pid>.", and everything of that prefix is removed when the process exits normally. A
// process that crashed (or that libFuzzer ended on a finding) leaves its files; the next harness
// process removes those of processes that are gone, and `make fuzz` removes them all at the end.
#pragma once

#include <unistd.h>

#include <signal.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace roster::fuzz {

inline void remove_arena_files(const std::string& prefix) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("roster." + prefix, 0) == 0) ::unlink(entry.path().c_str());
  }
}

inline void remove_this_process_arenas() { remove_arena_files("fuzz." + std::to_string(::getpid()) + "."); }

// Removes "roster.fuzz.<pid>.*" of processes that no longer exist.
inline void remove_stale_arenas() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("roster.fuzz.", 0) != 0) continue;
    const size_t start = 12, end = file.find('.', start);
    pid_t pid = 0;
    auto r = std::from_chars(file.data() + start, file.data() + (end == std::string::npos ? file.size() : end), pid);
    if (r.ec != std::errc() || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) ::unlink(entry.path().c_str());
  }
}

// Call before creating an arena: removes what crashed runs left, and registers this process's
// cleanup at exit (once).
inline void clean_arenas_at_exit() {
  static bool registered = [] {
    remove_stale_arenas();
    std::atexit(remove_this_process_arenas);
    return true;
  }();
  (void)registered;
}

}  // namespace roster::fuzz
