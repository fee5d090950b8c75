#include "roster/base/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace roster::base {

namespace {

void append_value(std::string& out, double v) {
  if (std::isnan(v)) return void(out += "NaN");
  if (std::isinf(v)) return void(out += v > 0 ? "+Inf" : "-Inf");
  char buf[32];
  // Whole numbers (counters, most gauges) print without an exponent or a fraction.
  auto [end, ec] = v == std::floor(v) && std::fabs(v) < 1e15 ? std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v))
                                                             : std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// Label values escape backslash, double quote and newline; HELP text escapes backslash and newline.
void append_escaped(std::string& out, std::string_view s, bool quotes) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    else out.push_back(c);
  }
}

}  // namespace

void LatencyHistogram::observe(double seconds) {
  ++count_;
  sum_ += seconds;
  const auto it = std::lower_bound(kBounds.begin(), kBounds.end(), seconds);  // le: the first bound >= it
  if (it != kBounds.end()) ++buckets_[static_cast<size_t>(it - kBounds.begin())];
}

void LatencyHistogram::add(const LatencyHistogram& other) {
  count_ += other.count_;
  sum_ += other.sum_;
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
}

void PrometheusText::header(std::string_view name, std::string_view help, std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_escaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
  last_name_ = std::string(name);
}

PrometheusText& PrometheusText::counter(std::string_view name, std::string_view help, double value, const Labels& labels) {
  header(name, help, "counter");
  return sample(value, labels);
}

PrometheusText& PrometheusText::gauge(std::string_view name, std::string_view help, double value, const Labels& labels) {
  header(name, help, "gauge");
  return sample(value, labels);
}

PrometheusText& PrometheusText::sample(double value, const Labels& labels) {
  series({}, value, labels);
  return *this;
}

PrometheusText& PrometheusText::histogram(std::string_view name, std::string_view help, const LatencyHistogram& h,
                                          const Labels& labels) {
  header(name, help, "histogram");
  return histogram_series(h, labels);
}

PrometheusText& PrometheusText::histogram_series(const LatencyHistogram& h, const Labels& labels) {
  uint64_t cumulative = 0;
  char bound[32];
  for (size_t i = 0; i < h.buckets_.size(); ++i) {
    cumulative += h.buckets_[i];
    auto [end, ec] = std::to_chars(bound, bound + sizeof bound, LatencyHistogram::kBounds[i], std::chars_format::fixed);
    series("_bucket", static_cast<double>(cumulative), labels, std::string_view(bound, end - bound));
  }
  series("_bucket", static_cast<double>(h.count_), labels, "+Inf");
  series("_sum", h.sum_, labels);
  series("_count", static_cast<double>(h.count_), labels);
  return *this;
}

void PrometheusText::series(std::string_view suffix, double value, const Labels& labels, std::string_view le) {
  out_ += last_name_;
  out_ += suffix;
  if (!labels.empty() || !le.empty()) {
    out_ += '{';
    bool first = true;
    auto label = [&](std::string_view key, std::string_view text) {
      if (!first) out_ += ',';
      first = false;
      out_ += key;
      out_ += "=\"";
      append_escaped(out_, text, true);
      out_ += '"';
    };
    for (const auto& [key, text] : labels) label(key, text);
    if (!le.empty()) label("le", le);
    out_ += '}';
  }
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
}

}  // namespace roster::base
