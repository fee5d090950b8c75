// The project's one logger (spdlog): timestamped, levelled lines on stderr, e.g.
//   2026-12-02T10:00:00.123Z warn  roster-agent: disconnected from 10.0.0.1:7071: ...
// Daemons call init() once in main(); code anywhere logs with roster::log::info(...) and friends
// (fmt-style format strings). Without init() the lines still go to stderr, named "roster".
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace roster::log {

struct LogOptions {
  spdlog::level::level_enum level = spdlog::level::info;
};

// Names the process in every line and sets the level. Call before starting threads.
void init(const std::string& program, LogOptions options = {});

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace roster::log
