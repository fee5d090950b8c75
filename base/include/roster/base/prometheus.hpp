// Prometheus text exposition (format 0.0.4), the one writer every /metrics uses: each family gets
// its # HELP and # TYPE lines, then its samples.
//
//   PrometheusText m;
//   m.counter("roster_http_requests_total", "HTTP requests handled", requests);
//   m.gauge("roster_revision", "The registry's newest revision", revision);
//   response.body = m.text();
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roster::base {

class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  PrometheusText& counter(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  PrometheusText& gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  // Another sample of the family named last (same help and type), with other labels.
  PrometheusText& sample(double value, const Labels& labels);

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4";
  const std::string& text() const { return out_; }

 private:
  PrometheusText& family(std::string_view name, std::string_view help, std::string_view type, double value,
                         const Labels& labels);
  std::string out_, last_name_;
};

}  // namespace roster::base
