// What a registry write answers: what it did, or why it was refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/governance/finding.hpp"

namespace roster::upstream {

struct Written {
  uint64_t revision = 0;  // the revision it made (the current one when it changed nothing)
  std::vector<std::string> warnings;
  std::vector<governance::Finding> findings;  // what the schema rules noted (a dry run's answer)
};

// Why a write was refused, with what the rules found on the way.
struct Refusal {
  Error error;
  std::vector<std::string> warnings;
  std::vector<governance::Finding> findings;
};

using WriteResult = Result<Written, Refusal>;

inline Unexpected<Refusal> refuse(ErrorKind kind, std::string code, std::string message, std::string where = {},
                                  std::vector<governance::Finding> findings = {}) {
  return fail(Refusal{Error{kind, std::move(code), std::move(message), std::move(where)}, {}, std::move(findings)});
}
inline Unexpected<Refusal> refuse(Error error) { return fail(Refusal{std::move(error), {}, {}}); }

}  // namespace roster::upstream
