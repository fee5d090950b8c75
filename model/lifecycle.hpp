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

namespace roster::model {

// Same order and values as wire::LifecycleStage.
enum class Stage : uint8_t { Proposed = 0, Development, Beta, Stable, Deprecated, Sunset, Retired };
constexpr int kStageCount = 7;

std::string_view to_string(Stage stage);
std::optional<Stage> parse_stage(std::string_view text);

// The stages `from` may move to (every later one), and the stages a new version may start in.
std::vector<Stage> allowed_transitions(Stage from);
std::vector<Stage> initial_stages();
// nullopt when allowed; otherwise the refusal, naming the allowed choices.
std::optional<std::string> check_transition(Stage from, Stage to);
std::optional<std::string> check_initial_stage(Stage stage);

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
LifecycleDates dates_after_transition(Stage from, Stage to, LifecycleDates dates, int64_t now_ms,
                                      const LifecyclePolicy& policy);

// When the server must move a version in `stage` with `dates` next, and to what; nullopt when
// nothing is scheduled (stages before deprecated, and retired).
struct ScheduledMove {
  Stage to;
  int64_t due_ms;
};
std::optional<ScheduledMove> scheduled_move(Stage stage, const LifecycleDates& dates, const LifecyclePolicy& policy);

// Whole days from `now_ms` until `due_ms`, rounded up; negative when overdue.
int64_t days_remaining(int64_t due_ms, int64_t now_ms);

}  // namespace roster::model
