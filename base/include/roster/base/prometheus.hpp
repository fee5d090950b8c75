// Prometheus text exposition (format 0.0.4), the one writer every /metrics uses: each family gets
// its # HELP and # TYPE lines, then its samples.
//
//   PrometheusText m;
//   m.counter("roster_http_requests_total", "HTTP requests handled", requests);
//   m.gauge("roster_revision", "The registry's newest revision", revision);
//   response.body = m.text();
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roster::base {

// Durations in seconds counted into fixed buckets (50 µs to 10 s), for a Prometheus histogram.
// Not thread-safe: each is observed by one thread (an event loop).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 17> kBounds{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                  0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};
  void observe(double seconds);
  void add(const LatencyHistogram& other);  // merges another's observations into this one

 private:
  friend class PrometheusText;
  std::array<uint64_t, kBounds.size()> buckets_{};  // not cumulative: written out cumulatively
  uint64_t count_ = 0;
  double sum_ = 0;
};

class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  PrometheusText& counter(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  PrometheusText& gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  // Another sample of the family named last (same help and type), with other labels.
  PrometheusText& sample(double value, const Labels& labels);
  // A histogram family with its first series; histogram_series() adds more, with other labels.
  PrometheusText& histogram(std::string_view name, std::string_view help, const LatencyHistogram& h,
                            const Labels& labels = {});
  PrometheusText& histogram_series(const LatencyHistogram& h, const Labels& labels);

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4";
  const std::string& text() const { return out_; }

 private:
  void header(std::string_view name, std::string_view help, std::string_view type);
  void series(std::string_view suffix, double value, const Labels& labels, std::string_view le = {});
  std::string out_, last_name_;
};

}  // namespace roster::base
