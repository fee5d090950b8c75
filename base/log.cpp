#include "roster/base/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace roster::log {

namespace {

std::shared_ptr<spdlog::logger> make_logger(const std::string& program, spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>(program, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // ISO 8601 UTC with milliseconds, the level, the program.
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %n: %v", spdlog::pattern_time_type::utc);
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);  // daemons' stderr goes to a journal: no buffering
  return logger;
}

// Lines logged before init() (libraries, tests) still carry a timestamp and a level.
[[maybe_unused]] const bool default_logger_set = [] {
  spdlog::set_default_logger(make_logger("roster", spdlog::level::info));
  return true;
}();

}  // namespace

void init(const std::string& program, LogOptions options) {
  spdlog::set_default_logger(make_logger(program, options.level));
}

}  // namespace roster::log
