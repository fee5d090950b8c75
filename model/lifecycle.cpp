#include "model/lifecycle.hpp"

#include <array>

namespace roster::model {

namespace {

constexpr std::array<std::string_view, kStageCount> kNames{"proposed", "development", "beta",   "stable",
                                                           "deprecated", "sunset",     "retired"};

std::string join(const std::vector<Stage>& stages) {
  std::string out;
  for (size_t i = 0; i < stages.size(); ++i) {
    if (i) out += i + 1 == stages.size() ? " or " : ", ";
    out += to_string(stages[i]);
  }
  return out;
}

}  // namespace

std::string_view to_string(Stage stage) { return kNames.at(static_cast<size_t>(stage)); }

std::optional<Stage> parse_stage(std::string_view text) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == text) return static_cast<Stage>(i);
  return std::nullopt;
}

std::vector<Stage> allowed_transitions(Stage from) {
  std::vector<Stage> out;
  for (int s = static_cast<int>(from) + 1; s < kStageCount; ++s) out.push_back(static_cast<Stage>(s));
  return out;
}

std::vector<Stage> initial_stages() { return {Stage::Proposed, Stage::Development, Stage::Beta}; }

std::optional<std::string> check_transition(Stage from, Stage to) {
  if (to > from) return std::nullopt;
  const auto allowed = allowed_transitions(from);
  std::string message = "cannot move from " + std::string(to_string(from)) + " to " + std::string(to_string(to));
  if (to == from) message = "already " + std::string(to_string(from));
  message += allowed.empty() ? "; " + std::string(to_string(from)) + " is final"
                             : "; allowed from " + std::string(to_string(from)) + ": " + join(allowed);
  return message;
}

std::optional<std::string> check_initial_stage(Stage stage) {
  const auto allowed = initial_stages();
  for (Stage s : allowed)
    if (s == stage) return std::nullopt;
  return "a new version cannot start as " + std::string(to_string(stage)) + "; it starts as " + join(allowed) +
         " and moves forward from there";
}

LifecycleDates dates_after_transition(Stage from, Stage to, LifecycleDates dates, int64_t now_ms,
                                      const LifecyclePolicy& policy) {
  // Each timeline stage crossed on the way gets its date: the planned one when it was set and
  // is already due (a scheduled move), otherwise now (an explicit, possibly early, move).
  if (from < Stage::Deprecated && to >= Stage::Deprecated) {
    dates.deprecated_at_ms = now_ms;
    dates.sunset_at_ms = now_ms + policy.sunset_after_days * kDayMs;
  }
  if (from < Stage::Sunset && to >= Stage::Sunset && (dates.sunset_at_ms == 0 || dates.sunset_at_ms > now_ms))
    dates.sunset_at_ms = now_ms;
  if (to == Stage::Retired) dates.retired_at_ms = now_ms;
  return dates;
}

std::optional<ScheduledMove> scheduled_move(Stage stage, const LifecycleDates& dates, const LifecyclePolicy& policy) {
  if (stage == Stage::Deprecated) {
    // A version deprecated without dates (e.g. imported) gets its sunset from the policy.
    const int64_t due = dates.sunset_at_ms ? dates.sunset_at_ms
                                           : dates.deprecated_at_ms + policy.sunset_after_days * kDayMs;
    return ScheduledMove{Stage::Sunset, due};
  }
  if (stage == Stage::Sunset) return ScheduledMove{Stage::Retired, dates.sunset_at_ms + policy.retire_after_days * kDayMs};
  return std::nullopt;
}

int64_t days_remaining(int64_t due_ms, int64_t now_ms) {
  const int64_t diff = due_ms - now_ms;
  if (diff >= 0) return (diff + kDayMs - 1) / kDayMs;
  return -((-diff) / kDayMs);
}

}  // namespace roster::model
