// The boundaries of a blocking query's parameters: ?index= and Consul's ?wait= durations.
#include "blocking_query.hpp"

#include <gtest/gtest.h>

namespace roster::upstream {
namespace {

using std::chrono::milliseconds;

TEST(ParseWait, ReadsEachUnitAndBareSeconds) {
  EXPECT_EQ(parse_wait("500ms").value(), milliseconds(500));
  EXPECT_EQ(parse_wait("10s").value(), milliseconds(10'000));
  EXPECT_EQ(parse_wait("5m").value(), milliseconds(300'000));
  EXPECT_EQ(parse_wait("0s").value(), milliseconds(0));
  EXPECT_EQ(parse_wait("0").value(), milliseconds(0));
  EXPECT_EQ(parse_wait("7").value(), milliseconds(7'000));
}

TEST(ParseWait, CapsAtTenMinutesWithoutOverflowing) {
  EXPECT_EQ(parse_wait("10m").value(), kMaxWait);
  EXPECT_EQ(parse_wait("600000ms").value(), kMaxWait);
  EXPECT_EQ(parse_wait("600001ms").value(), kMaxWait);
  EXPECT_EQ(parse_wait("11m").value(), kMaxWait);
  EXPECT_EQ(parse_wait("1h").value(), kMaxWait);
  EXPECT_EQ(parse_wait("18446744073709551615h").value(), kMaxWait);  // would overflow if multiplied
}

TEST(ParseWait, RefusesAnythingElseNamingTheParameter) {
  for (const char* bad : {"", "s", "ms", "-1s", "+1s", "1.5s", "1 s", " 1s", "1S", "1d", "1sec", "1ms5",
                          "99999999999999999999999s", "1e3ms", "0x10s"}) {
    auto wait = parse_wait(bad);
    ASSERT_FALSE(wait) << bad;
    EXPECT_EQ(wait.error().code, "invalid_wait") << bad;
    EXPECT_EQ(wait.error().where, "wait") << bad;
  }
}

TEST(ParseUnsigned, TakesWholeDecimalNumbersOnly) {
  EXPECT_EQ(parse_unsigned("0"), 0u);
  EXPECT_EQ(parse_unsigned("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"", "18446744073709551616", "-0", "+1", " 1", "1 ", "0x1", "1.0"})
    EXPECT_FALSE(parse_unsigned(bad)) << bad;
}

}  // namespace
}  // namespace roster::upstream
