// net/'s one way to report a failed system call (private to roster_net): an Error whose message
// is "WHAT: strerror(err)", the text std::system_error gave before failures became values.
#pragma once

#include <cstring>
#include <string>
#include <utility>

#include "roster/base/result.hpp"

namespace roster::net {

inline Unexpected<Error> system_failure(ErrorKind kind, std::string code, int err, const std::string& what,
                                        std::string where = {}) {
  return fail(kind, std::move(code), what + ": " + std::strerror(err), std::move(where));
}

}  // namespace roster::net
