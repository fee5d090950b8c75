// A blocking query's parameters (Consul's): ?index=N asks for an answer once the registry passes
// revision N, waiting at most ?wait= (default 5 minutes, at most 10).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "roster/base/result.hpp"
#include "roster/net/http_message.hpp"

namespace roster::upstream {

inline constexpr std::chrono::milliseconds kDefaultWait = std::chrono::minutes(5);
inline constexpr std::chrono::milliseconds kMaxWait = std::chrono::minutes(10);

struct BlockingQuery {
  uint64_t index;
  std::chrono::milliseconds wait;
};

// A whole unsigned decimal number (no sign, no spaces); nullopt otherwise or on overflow.
std::optional<uint64_t> parse_unsigned(std::string_view text);
// A duration as Consul writes it: a whole number with a unit, ms, s, m or h ("500ms", "10s",
// "5m"), or a bare number of seconds; above kMaxWait it is kMaxWait. Invalid (invalid_wait, where
// "wait") otherwise.
Result<std::chrono::milliseconds> parse_wait(std::string_view text);
// The request's blocking query: nullopt without ?index=; Invalid naming the parameter when index
// or wait is malformed (a wait without an index is refused too: it would be ignored).
Result<std::optional<BlockingQuery>> blocking_query(const net::HttpRequest& request);

}  // namespace roster::upstream
