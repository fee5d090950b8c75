// The rule every name in the registry follows (service names, instance ids, dependency targets,
// contract parties): it must be addressable as one URL path segment, and printable in a log or a
// terminal without surprises. So: 1 to 256 bytes of valid UTF-8, no control characters
// (U+0000-U+001F, U+007F), and not "." or ".." (which clients normalise away). A '/' or '?' is
// fine: it is percent-encoded in a URL, and the server decodes each segment once.
#pragma once

#include <cstddef>
#include <string_view>

#include "roster/base/result.hpp"

namespace roster::wire {

inline constexpr size_t kMaxIdentifierBytes = 256;

// Invalid (invalid_name) saying what is wrong and at which byte.
Result<void> check_identifier(std::string_view text);

}  // namespace roster::wire
