#include "roster/net/http_message.hpp"

// Boost 1.74's status.hpp uses std::ostream without including <ostream>.
#include <ostream>

#include <boost/beast/http/status.hpp>

#include <algorithm>

#include "roster/base/percent.hpp"

namespace roster::net {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

void HttpHeaders::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void HttpHeaders::remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return iequals(f.first, name); });
}

std::optional<std::string_view> HttpHeaders::get(std::string_view name) const {
  for (const auto& [key, value] : fields_)
    if (iequals(key, name)) return std::string_view(value);
  return std::nullopt;
}

std::optional<std::string_view> HttpRequest::query_param(std::string_view name) const {
  for (const auto& [key, value] : query)
    if (key == name) return std::string_view(value);
  return std::nullopt;
}

std::vector<std::string_view> HttpRequest::query_params(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [key, value] : query)
    if (key == name) out.emplace_back(value);
  return out;
}

bool parse_target(HttpRequest& request) {
  std::string_view target = request.target;
  // Absolute form ("http://host/path"), which proxies send and servers must accept: keep the path.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals(target.substr(0, scheme.size()), scheme)) {
      size_t slash = target.find_first_of("/?", scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      if (!target.empty() && target.front() == '?') return false;
      break;
    }
  }
  if (target.empty() || target.front() != '/') return false;
  size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  request.path = std::string(path);
  request.segments.clear();
  // Split first, then decode each segment once: an escaped '/' stays inside its segment.
  for (size_t start = 1; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto segment = base::percent_decode(path.substr(start, end - start));
    if (!segment) return false;
    request.segments.push_back(std::move(*segment));
    start = end + 1;
  }
  auto& query = request.query;
  query.clear();
  if (question == std::string_view::npos) return true;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = base::percent_decode(pair.substr(0, eq), {.plus_is_space = true});
    auto value = base::percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1),
                                      {.plus_is_space = true});
    if (!key || !value) return false;
    query.emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

std::string_view status_reason(unsigned status) {
  namespace http = boost::beast::http;
  auto reason = http::obsolete_reason(http::int_to_status(status));
  if (reason.empty() || reason.front() == '<') return "Unknown";  // Beast says "<unknown-status>"
  return {reason.data(), reason.size()};
}

}  // namespace roster::net
