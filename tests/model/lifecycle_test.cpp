#include "roster/model/lifecycle.hpp"

#include <gtest/gtest.h>

#include "roster/wire/names.hpp"

namespace roster::model {
namespace {

using Stage = wire::LifecycleStage;
using wire::to_string;

// The refusal's message, or "" when the move is allowed.
std::string refusal(const Result<void>& r) { return r ? "" : r.error().message; }

constexpr int64_t kNow = 1'780'000'000'000;  // 2026-05-28

TEST(Lifecycle, NamesRoundTrip) {
  for (int i = 0; i < kStageCount; ++i) {
    const auto stage = static_cast<Stage>(i);
    EXPECT_EQ(wire::parse_lifecycle_stage(to_string(stage)), stage);
  }
  EXPECT_FALSE(wire::parse_lifecycle_stage("Stable"));
  EXPECT_FALSE(wire::parse_lifecycle_stage(""));
}

TEST(Lifecycle, EveryForwardTransitionIsAllowedAndEveryOtherRefused) {
  for (int f = 0; f < kStageCount; ++f) {
    for (int t = 0; t < kStageCount; ++t) {
      const auto from = static_cast<Stage>(f), to = static_cast<Stage>(t);
      const auto checked = check_transition(from, to);
      SCOPED_TRACE(std::string(to_string(from)) + " -> " + std::string(to_string(to)));
      if (t > f) {
        EXPECT_TRUE(checked);
      } else {
        ASSERT_FALSE(checked);
        EXPECT_EQ(checked.error().code, "invalid_transition");
        EXPECT_EQ(checked.error().kind, ErrorKind::Conflict);
        // The refusal names every stage that would have been allowed.
        for (Stage allowed : allowed_transitions(from))
          EXPECT_NE(checked.error().message.find(to_string(allowed)), std::string::npos);
      }
    }
  }
}

TEST(Lifecycle, RefusalsSayWhatIsAllowed) {
  EXPECT_EQ(refusal(check_transition(Stage::Deprecated, Stage::Stable)),
            "cannot move from deprecated to stable; allowed from deprecated: sunset or retired");
  EXPECT_EQ(refusal(check_transition(Stage::Retired, Stage::Stable)),
            "cannot move from retired to stable; retired is final");
  EXPECT_EQ(refusal(check_transition(Stage::Beta, Stage::Beta)),
            "already beta; allowed from beta: stable, deprecated, sunset or retired");
}

TEST(Lifecycle, NewVersionsStartEarly) {
  EXPECT_TRUE(check_initial_stage(Stage::Proposed));
  EXPECT_TRUE(check_initial_stage(Stage::Development));
  EXPECT_TRUE(check_initial_stage(Stage::Beta));
  for (Stage s : {Stage::Stable, Stage::Deprecated, Stage::Sunset, Stage::Retired}) {
    const std::string why = refusal(check_initial_stage(s));
    EXPECT_NE(why.find("proposed, development or beta"), std::string::npos) << why;
  }
}

TEST(Lifecycle, DeprecationPlansTheSunset) {
  const LifecyclePolicy policy{90, 30};
  auto dates = dates_after_transition(Stage::Stable, Stage::Deprecated, {}, kNow, policy);
  EXPECT_EQ(dates.deprecated_at_ms, kNow);
  EXPECT_EQ(dates.sunset_at_ms, kNow + 90 * kDayMs);
  EXPECT_EQ(dates.retired_at_ms, 0);

  auto move = scheduled_move(Stage::Deprecated, dates, policy);
  ASSERT_TRUE(move);
  EXPECT_EQ(move->to, Stage::Sunset);
  EXPECT_EQ(move->due_ms, kNow + 90 * kDayMs);

  // On schedule the planned date stays; the retirement is due a policy's days later.
  const int64_t later = kNow + 91 * kDayMs;
  auto sunset = dates_after_transition(Stage::Deprecated, Stage::Sunset, dates, later, policy);
  EXPECT_EQ(sunset.sunset_at_ms, kNow + 90 * kDayMs);
  move = scheduled_move(Stage::Sunset, sunset, policy);
  ASSERT_TRUE(move);
  EXPECT_EQ(move->to, Stage::Retired);
  EXPECT_EQ(move->due_ms, kNow + 120 * kDayMs);

  auto retired = dates_after_transition(Stage::Sunset, Stage::Retired, sunset, kNow + 120 * kDayMs, policy);
  EXPECT_EQ(retired.retired_at_ms, kNow + 120 * kDayMs);
  EXPECT_FALSE(scheduled_move(Stage::Retired, retired, policy));
}

TEST(Lifecycle, EarlyAndSkippingMovesStampNow) {
  const LifecyclePolicy policy{10, 5};
  auto dates = dates_after_transition(Stage::Stable, Stage::Deprecated, {}, kNow, policy);
  // Sunset by hand before its date: the date becomes now.
  auto early = dates_after_transition(Stage::Deprecated, Stage::Sunset, dates, kNow + kDayMs, policy);
  EXPECT_EQ(early.sunset_at_ms, kNow + kDayMs);
  // Stable straight to retired: every date crossed is stamped.
  auto skipped = dates_after_transition(Stage::Stable, Stage::Retired, {}, kNow, policy);
  EXPECT_EQ(skipped, (LifecycleDates{kNow, kNow, kNow}));
}

TEST(Lifecycle, PolicyIsPerCall) {
  LifecycleDates dates{kNow, 0, 0};
  auto move = scheduled_move(Stage::Deprecated, dates, {7, 3});
  ASSERT_TRUE(move);
  EXPECT_EQ(move->due_ms, kNow + 7 * kDayMs);  // no planned date: the policy's
  for (Stage s : {Stage::Proposed, Stage::Development, Stage::Beta, Stage::Stable})
    EXPECT_FALSE(scheduled_move(s, dates, {}));
}

TEST(Lifecycle, DaysRemaining) {
  EXPECT_EQ(days_remaining(kNow, kNow), 0);
  EXPECT_EQ(days_remaining(kNow + 1, kNow), 1);
  EXPECT_EQ(days_remaining(kNow + kDayMs, kNow), 1);
  EXPECT_EQ(days_remaining(kNow + kDayMs + 1, kNow), 2);
  EXPECT_EQ(days_remaining(kNow - kDayMs, kNow), -1);
  EXPECT_EQ(days_remaining(kNow - 1, kNow), 0);
}

}  // namespace
}  // namespace roster::model
