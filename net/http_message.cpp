#include "net/http_message.hpp"

// Boost 1.74's status.hpp uses std::ostream without including <ostream>.
#include <ostream>

#include <boost/beast/http/status.hpp>

#include <algorithm>

#include "wire/json_writer.hpp"

namespace roster::net {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

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

HttpResponse json_error(unsigned status, std::string_view code, std::string_view message,
                        std::optional<std::string_view> path) {
  HttpResponse response;
  response.status = status;
  wire::JsonWriter w(response.body);
  w.begin_object().key("error").begin_object();
  w.key("code").string(code);
  w.key("message").string(message);
  w.key("path");
  if (path) w.string(*path);
  else w.null();
  w.end_object().end_object();
  return response;
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;  // a '%' needs two hex digits after it
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      // %00 would cut C strings short downstream (file names, logs): refuse it outright.
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query) {
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
  auto decoded_path = percent_decode(target.substr(0, question), false);
  if (!decoded_path) return false;
  path = std::move(*decoded_path);
  query.clear();
  if (question == std::string_view::npos) return true;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
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
