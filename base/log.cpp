#include "roster/base/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

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

std::once_flag default_set;

}  // namespace

void init(const std::string& program, LogOptions options) {
  std::call_once(default_set, [] {});  // init() wins over the default from now on
  spdlog::set_default_logger(make_logger(program, options.level));
}

spdlog::logger& logger() {
  std::call_once(default_set, [] { spdlog::set_default_logger(make_logger("roster", spdlog::level::info)); });
  return *spdlog::default_logger_raw();
}

}  // namespace roster::log
