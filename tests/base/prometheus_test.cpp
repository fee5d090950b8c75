#include "roster/base/prometheus.hpp"

#include <gtest/gtest.h>

namespace roster::base {
namespace {

TEST(PrometheusText, EveryFamilyHasHelpAndTypeAndLabelsAreEscaped) {
  PrometheusText m;
  m.counter("roster_x_total", "Things\nseen", 3, {{"route", "a\"b\\c"}});
  m.sample(4, {{"route", "d"}});
  m.gauge("roster_y", "A level", 1.5);
  EXPECT_EQ(m.text(),
            "# HELP roster_x_total Things\\nseen\n# TYPE roster_x_total counter\n"
            "roster_x_total{route=\"a\\\"b\\\\c\"} 3\nroster_x_total{route=\"d\"} 4\n"
            "# HELP roster_y A level\n# TYPE roster_y gauge\nroster_y 1.5\n");
}

// Buckets are cumulative, each observation counted at the first bound at or above it, +Inf holds
// them all, and _sum/_count follow; a second series of the family shares its HELP and TYPE.
TEST(PrometheusText, HistogramsAreCumulativeWithInfSumAndCount) {
  LatencyHistogram fast, slow;
  fast.observe(0.00005);  // exactly on the first bound
  fast.observe(0.0007);   // in le=0.001
  slow.observe(20);       // past every bound: +Inf only
  PrometheusText m;
  m.histogram("roster_t_seconds", "Time", fast, {{"route", "GET /a"}});
  m.histogram_series(slow, {{"route", "GET /b"}});
  const std::string& t = m.text();
  EXPECT_EQ(t.find("# TYPE roster_t_seconds histogram\n"), t.find("# TYPE"));
  EXPECT_EQ(t.find("# TYPE", t.find("# TYPE") + 1), std::string::npos);
  EXPECT_NE(t.find("roster_t_seconds_bucket{route=\"GET /a\",le=\"0.00005\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("roster_t_seconds_bucket{route=\"GET /a\",le=\"0.0005\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("roster_t_seconds_bucket{route=\"GET /a\",le=\"0.001\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("roster_t_seconds_bucket{route=\"GET /a\",le=\"10\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("roster_t_seconds_bucket{route=\"GET /a\",le=\"+Inf\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("roster_t_seconds_count{route=\"GET /a\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("roster_t_seconds_bucket{route=\"GET /b\",le=\"10\"} 0\n"), std::string::npos) << t;
  EXPECT_NE(t.find("roster_t_seconds_bucket{route=\"GET /b\",le=\"+Inf\"} 1\n"), std::string::npos) << t;
  EXPECT_NE(t.find("roster_t_seconds_sum{route=\"GET /b\"} 20\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace roster::base
