#include "roster/base/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <string_view>

#include <mutex>

namespace roster::log {

namespace {

// %j: the message as the inside of a JSON string (quotes, backslashes and control characters
// escaped), so that a JSON line stays one valid object whatever the message holds.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        dest.push_back('\\');
        dest.push_back(c);
      } else if (u < 0x20) {
        const char escaped[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 15]};
        dest.append(escaped, escaped + sizeof escaped);
      } else {
        dest.push_back(c);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

std::shared_ptr<spdlog::logger> make_logger(const std::string& program, LogOptions options) {
  auto logger = std::make_shared<spdlog::logger>(program, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // ISO 8601 UTC with milliseconds, the level, the program (names need no JSON escaping).
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonEscapedMessage>('j');
  formatter->set_pattern(options.json ? R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","program":"%n","message":"%j"})"
                                      : "%Y-%m-%dT%H:%M:%S.%eZ %-5l %n: %v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(options.level);
  logger->flush_on(spdlog::level::trace);  // daemons' stderr goes to a journal: no buffering
  return logger;
}

std::once_flag default_set;

}  // namespace

void init(const std::string& program, LogOptions options) {
  std::call_once(default_set, [] {});  // init() wins over the default from now on
  spdlog::set_default_logger(make_logger(program, options));
}

spdlog::logger& logger() {
  std::call_once(default_set, [] { spdlog::set_default_logger(make_logger("roster", {})); });
  return *spdlog::default_logger_raw();
}

}  // namespace roster::log
