#include "roster/base/prometheus.hpp"

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

PrometheusText& PrometheusText::family(std::string_view name, std::string_view help, std::string_view type,
                                       double value, const Labels& labels) {
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
  return sample(value, labels);
}

PrometheusText& PrometheusText::counter(std::string_view name, std::string_view help, double value, const Labels& labels) {
  return family(name, help, "counter", value, labels);
}

PrometheusText& PrometheusText::gauge(std::string_view name, std::string_view help, double value, const Labels& labels) {
  return family(name, help, "gauge", value, labels);
}

PrometheusText& PrometheusText::sample(double value, const Labels& labels) {
  out_ += last_name_;
  if (!labels.empty()) {
    out_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out_ += ',';
      out_ += labels[i].first;
      out_ += "=\"";
      append_escaped(out_, labels[i].second, true);
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
  append_value(out_, value);
  out_ += '\n';
  return *this;
}

}  // namespace roster::base
