// The project's one logger (spdlog): timestamped, levelled lines on stderr, e.g.
//   2026-12-02T10:00:00.123Z warn  roster-agent: disconnected from 10.0.0.1:7071: ...
// or, with json, one object per line:
//   {"time":"2026-12-02T10:00:00.123Z","level":"warn","program":"roster-agent","message":"..."}
// Daemons call init() once in main(); code anywhere logs with roster::log::info(...) and friends
// (fmt-style format strings). Without init() the lines still go to stderr, named "roster".
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <utility>

namespace roster::log {

struct LogOptions {
  spdlog::level::level_enum level = spdlog::level::info;
  bool json = false;
};

// Names the process in every line and sets the level. Call before starting threads.
void init(const std::string& program, LogOptions options = {});

// The process's logger (set up on first use when init() was not called).
spdlog::logger& logger();

template <typename... Args>
void debug(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().debug(format, std::forward<Args>(args)...);
}
template <typename... Args>
void info(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().info(format, std::forward<Args>(args)...);
}
template <typename... Args>
void warn(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().warn(format, std::forward<Args>(args)...);
}
template <typename... Args>
void error(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().error(format, std::forward<Args>(args)...);
}

}  // namespace roster::log
