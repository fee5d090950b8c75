// Percent-encoding (RFC 3986), the one implementation for URL paths and queries, $ref fragments
// and Pact paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace roster::base {

struct PercentDecoding {
  bool plus_is_space = false;  // query strings (application/x-www-form-urlencoded)
  bool allow_nul = false;      // %00 cuts C strings short downstream (names, file paths, logs)
};

// "%41b" -> "Ab". nullopt when an escape is malformed ('%' without two hex digits) or is %00
// where NUL is not allowed.
std::optional<std::string> percent_decode(std::string_view text, PercentDecoding options = {});

// Escapes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~), so the result is
// one path segment or one query value whatever the input holds ('/', '?', '%', '+', spaces).
std::string percent_encode(std::string_view text);

}  // namespace roster::base
