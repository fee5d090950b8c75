// Real daemons for the end-to-end benchmarks: spawned from the build tree, their ready lines
// read, stopped and their temp dirs removed when the benchmark ends.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace roster::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline fs::path build_dir() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path(); }

inline double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// The first line a daemon writes to `file` (its --ready-file), waiting up to 30 s.
inline std::string wait_for_line(const fs::path& file) {
  for (int i = 0; i < 600; ++i) {
    std::ifstream in(file);
    std::string line;
    if (std::getline(in, line) && !line.empty()) return line;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("timed out waiting for " + file.string());
}

// The value of "key=value" in a ready line.
inline std::string field(const std::string& line, const std::string& key) {
  const auto at = line.find(key + "=");
  const auto end = line.find(' ', at);
  return line.substr(at + key.size() + 1, end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
}

// Runs `args` with stdout and stderr appended to `log`.
inline pid_t spawn(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!freopen(log.c_str(), "a", stdout) || !freopen(log.c_str(), "a", stderr)) _exit(126);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

inline void stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

// A fresh temp dir of this process, removed on destruction.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& what)
      : path(fs::temp_directory_path() /
             ("roster-bench-" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(rand()))) {
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace roster::bench
