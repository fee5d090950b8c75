#include "blocking_query.hpp"

#include <charconv>
#include <string>

namespace roster::upstream {

std::optional<uint64_t> parse_unsigned(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || p != end) return std::nullopt;
  return value;
}

Result<std::chrono::milliseconds> parse_wait(std::string_view text) {
  const auto invalid = [&] {
    return fail(ErrorKind::Invalid, "invalid_wait",
                "wait must be a whole number with a unit, ms, s, m or h (\"500ms\", \"10s\", \"5m\"), or of seconds; "
                "got \"" + std::string(text) + "\"",
                "wait");
  };
  const size_t digits = text.find_first_not_of("0123456789");
  auto number = parse_unsigned(text.substr(0, digits));
  if (!number) return invalid();
  const std::string_view unit = digits == std::string_view::npos ? "s" : text.substr(digits);
  uint64_t ms_per_unit;
  if (unit == "ms") ms_per_unit = 1;
  else if (unit == "s") ms_per_unit = 1000;
  else if (unit == "m") ms_per_unit = 60'000;
  else if (unit == "h") ms_per_unit = 3'600'000;
  else return invalid();
  // Compared before multiplying, so a huge number caps instead of overflowing.
  const uint64_t max_ms = static_cast<uint64_t>(kMaxWait.count());
  if (*number > max_ms / ms_per_unit) return kMaxWait;
  return std::chrono::milliseconds(*number * ms_per_unit);
}

Result<std::optional<BlockingQuery>> blocking_query(const net::HttpRequest& request) {
  const auto index_text = request.query_param("index");
  const auto wait_text = request.query_param("wait");
  if (!index_text) {
    if (wait_text)
      return fail(ErrorKind::Invalid, "invalid_wait", "wait is for blocking queries: give index=REVISION with it",
                  "wait");
    return std::optional<BlockingQuery>();
  }
  const auto index = parse_unsigned(*index_text);
  if (!index)
    return fail(ErrorKind::Invalid, "invalid_index",
                "index must be a revision, a whole number from 0 (the X-Roster-Index of an earlier answer); got \"" +
                    std::string(*index_text) + "\"",
                "index");
  BlockingQuery query{*index, kDefaultWait};
  if (wait_text) {
    auto wait = parse_wait(*wait_text);
    if (!wait) return fail(wait.error());
    query.wait = *wait;
  }
  return std::optional<BlockingQuery>(query);
}

}  // namespace roster::upstream
