#include "roster/model/lifecycle.hpp"

#include <array>

#include "roster/wire/names.hpp"

namespace roster::model {

namespace {

std::string join(const std::vector<LifecycleStage>& stages) {
  std::string out;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (i) out += i + 1 == stages.size() ? " or " : ", ";
    out += wire::to_string(stages[i]);
  }
  return out;
}

}  // namespace

std::vector<LifecycleStage> allowed_transitions(LifecycleStage from) {
  std::vector<LifecycleStage> out;
  for (int s = static_cast<int>(from) + 1; s < kStageCount; ++s) out.push_back(static_cast<LifecycleStage>(s));
  return out;
}

std::vector<LifecycleStage> initial_stages() { return {LifecycleStage::Proposed, LifecycleStage::Development, LifecycleStage::Beta}; }

Result<void> check_transition(LifecycleStage from, LifecycleStage to) {
  if (to > from) return {};
  const auto allowed = allowed_transitions(from);
  std::string message = "cannot move from " + std::string(wire::to_string(from)) + " to " + std::string(wire::to_string(to));
  if (to == from) message = "already " + std::string(wire::to_string(from));
  message += allowed.empty() ? "; " + std::string(wire::to_string(from)) + " is final"
                             : "; allowed from " + std::string(wire::to_string(from)) + ": " + join(allowed);
  return fail(ErrorKind::Conflict, "invalid_transition", message, "stage");
}

Result<void> check_initial_stage(LifecycleStage stage) {
  const auto allowed = initial_stages();
  for (LifecycleStage s : allowed)
    if (s == stage) return {};
  return fail(ErrorKind::Conflict, "invalid_transition",
              "a new version cannot start as " + std::string(wire::to_string(stage)) + "; it starts as " +
                  join(allowed) + " and moves forward from there",
              "stage");
}

LifecycleDates dates_after_transition(LifecycleStage from, LifecycleStage to, LifecycleDates dates, int64_t now_ms,
                                      const LifecyclePolicy& policy) {
  // Each timeline stage crossed on the way gets its date: the planned one when it was set and
  // is already due (a scheduled move), otherwise now (an explicit, possibly early, move).
  if (from < LifecycleStage::Deprecated && to >= LifecycleStage::Deprecated) {
    dates.deprecated_at_ms = now_ms;
    dates.sunset_at_ms = now_ms + policy.sunset_after_days * kDayMs;
  }
  if (from < LifecycleStage::Sunset && to >= LifecycleStage::Sunset && (dates.sunset_at_ms == 0 || dates.sunset_at_ms > now_ms))
    dates.sunset_at_ms = now_ms;
  if (to == LifecycleStage::Retired) dates.retired_at_ms = now_ms;
  return dates;
}

std::optional<ScheduledMove> scheduled_move(LifecycleStage stage, const LifecycleDates& dates, const LifecyclePolicy& policy) {
  if (stage == LifecycleStage::Deprecated) {
    // A version deprecated without dates (e.g. imported) gets its sunset from the policy.
    const int64_t due = dates.sunset_at_ms ? dates.sunset_at_ms
                                           : dates.deprecated_at_ms + policy.sunset_after_days * kDayMs;
    return ScheduledMove{LifecycleStage::Sunset, due};
  }
  if (stage == LifecycleStage::Sunset) return ScheduledMove{LifecycleStage::Retired, dates.sunset_at_ms + policy.retire_after_days * kDayMs};
  return std::nullopt;
}

int64_t days_remaining(int64_t due_ms, int64_t now_ms) {
  const int64_t diff = due_ms - now_ms;
  if (diff >= 0) return (diff + kDayMs - 1) / kDayMs;
  return -((-diff) / kDayMs);
}

}  // namespace roster::model
