#include "roster/wire/time_format.hpp"

#include <gtest/gtest.h>

namespace roster::wire {
namespace {

TEST(TimeFormat, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_ms("2024-05-01T12:00:00Z"), 1714564800000);
  EXPECT_EQ(parse_rfc3339_ms("2024-05-01T12:00:00.5Z"), 1714564800500);
  EXPECT_EQ(parse_rfc3339_ms("2024-05-01T12:00:00.123456Z"), 1714564800123);
  EXPECT_EQ(parse_rfc3339_ms("2024-05-01T14:00:00+02:00"), 1714564800000);
  EXPECT_EQ(parse_rfc3339_ms("2024-05-01T07:30:00-04:30"), 1714564800000);
  EXPECT_EQ(parse_rfc3339_ms("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_EQ(parse_rfc3339_ms("1969-12-31T23:59:59Z"), -1000);
}

TEST(TimeFormat, RejectsMalformed) {
  for (const char* bad : {"", "2024-05-01", "2024-05-01 12:00:00Z", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2024-05-01T24:00:00Z", "2024-05-01T12:00:00", "2024-05-01T12:00:00.Z",
                          "2024-05-01T12:00:00+0200", "2024-05-01T12:00:00Zjunk", "yesterday"})
    EXPECT_EQ(parse_rfc3339_ms(bad), std::nullopt) << bad;
}

TEST(TimeFormat, FormatsAndRoundTrips) {
  EXPECT_EQ(format_rfc3339_ms(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_ms(1714564800250), "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  for (int64_t ms : {int64_t{0}, int64_t{1}, int64_t{951782400000}, int64_t{4102444799999}, int64_t{-86400001}})
    EXPECT_EQ(parse_rfc3339_ms(format_rfc3339_ms(ms)), ms) << ms;
}

}  // namespace
}  // namespace roster::wire
