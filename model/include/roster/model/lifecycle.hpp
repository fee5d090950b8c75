// The lifecycle of a service version: proposed → development → beta → stable → deprecated →
// sunset → retired. A version only moves forward along this chain (skipping stages is allowed);
// a new version enters at proposed, development or beta. Deprecation starts a timeline: sunset
// after a policy's days, retirement after more; the server moves versions when dates pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::model {

// The one lifecycle enum is the data model's (its names: roster/wire/names.hpp).
using wire::LifecycleStage;
constexpr int kStageCount = static_cast<int>(LifecycleStage::MAX) + 1;

// The stages `from` may move to (every later one), and the stages a new version may start in.
std::vector<LifecycleStage> allowed_transitions(LifecycleStage from);
std::vector<LifecycleStage> initial_stages();
// A refusal (Conflict, invalid_transition) names the allowed choices.
Result<void> check_transition(LifecycleStage from, LifecycleStage to);
Result<void> check_initial_stage(LifecycleStage stage);

// How long each step of the deprecation timeline takes.
struct LifecyclePolicy {
  int sunset_after_days = 90;  // deprecated → sunset
  int retire_after_days = 30;  // sunset → retired
  bool operator==(const LifecyclePolicy&) const = default;
};
constexpr int64_t kDayMs = 86'400'000;

// The dates a version carries (Unix ms, 0 = unset), as stored in its record.
struct LifecycleDates {
  int64_t deprecated_at_ms = 0;
  int64_t sunset_at_ms = 0;  // when it becomes (or became) sunset
  int64_t retired_at_ms = 0;
  bool operator==(const LifecycleDates&) const = default;
};

// The dates after moving `from` → `to` at `now_ms`. Deprecating sets the planned sunset date;
// reaching a stage records when it happened (stages skipped on the way are stamped `now`).
LifecycleDates dates_after_transition(LifecycleStage from, LifecycleStage to, LifecycleDates dates, int64_t now_ms,
                                      const LifecyclePolicy& policy);

// When the server must move a version in `stage` with `dates` next, and to what; nullopt when
// nothing is scheduled (stages before deprecated, and retired).
struct ScheduledMove {
  LifecycleStage to;
  int64_t due_ms;
};
std::optional<ScheduledMove> scheduled_move(LifecycleStage stage, const LifecycleDates& dates, const LifecyclePolicy& policy);

// Whole days from `now_ms` until `due_ms`, rounded up; negative when overdue.
int64_t days_remaining(int64_t due_ms, int64_t now_ms);

}  // namespace roster::model
