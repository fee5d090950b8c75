#include <algorithm>

#include "roster/upstream/store.hpp"

namespace roster::upstream {

namespace {

size_t key_field_count(RecordKind kind) {
  switch (kind) {
    case RecordKind::ServiceVersion: return 2;
    case RecordKind::ServicePolicy:
    case RecordKind::FollowState: return 1;
    default: return 3;
  }
}

}  // namespace

Result<void> check_mutation(const Mutation& m) {
  if (m.kind < RecordKind::ServiceVersion || m.kind > RecordKind::FollowState)
    return fail(ErrorKind::Invalid, "invalid_mutation", "unknown record kind " + std::to_string(static_cast<int>(m.kind)));
  auto parts = key_parts(m.key);
  if (parts.size() != key_field_count(m.kind) ||
      std::any_of(parts.begin(), parts.end(), [](std::string_view p) { return p.empty(); }))
    return fail(ErrorKind::Invalid, "invalid_mutation",
                "malformed key (want " + std::to_string(key_field_count(m.kind)) +
                    " non-empty fields separated by NUL, see store.hpp)");
  return {};
}

}  // namespace roster::upstream
