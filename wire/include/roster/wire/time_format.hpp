// RFC 3339 timestamps <-> Unix milliseconds (UTC), as the registry JSON format uses them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roster::wire {

// Accepts `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`; the fraction is kept to the
// millisecond. Returns nullopt for anything else, including out-of-range fields.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text);

// `2024-05-01T12:00:00Z`, or `2024-05-01T12:00:00.250Z` when there are milliseconds.
std::string format_rfc3339_ms(int64_t unix_ms);

}  // namespace roster::wire
