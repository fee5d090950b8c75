// HTTP/1.1 request and response values shared by HttpServer and HttpClient.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roster::net {

class HttpDeferred;

// Header fields in arrival order. Names compare case-insensitively (RFC 9110 section 5.1).
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  // Replaces every field of that name with one.
  void set(std::string name, std::string value);
  void remove(std::string_view name);
  // The first field of that name.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  auto begin() const { return fields_.begin(); }
  auto end() const { return fields_.end(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

bool iequals(std::string_view a, std::string_view b);

struct HttpRequest {
  std::string method;  // "GET", "PUT", ... as sent (methods are case-sensitive)
  std::string target;  // raw request target: "/v1/services/a%2Fb?tag=x"
  std::string path;    // the target's path, escapes checked but not decoded: "/v1/services/a%2Fb"
  // The path split at '/' first, then each segment percent-decoded once: {"v1", "services", "a/b"}.
  // Route on these: a '/' or '?' inside a name stays inside its segment.
  std::vector<std::string> segments;
  // Percent-decoded query parameters in order ('+' is a space); repeated names are kept.
  std::vector<std::pair<std::string, std::string>> query;
  HttpHeaders headers;
  std::string body;
  unsigned version = 11;  // 10 or 11
  bool keep_alive = true;

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // The first value of a query parameter.
  std::optional<std::string_view> query_param(std::string_view name) const;
  std::vector<std::string_view> query_params(std::string_view name) const;
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  // Server: extra headers to send (Content-Length, Transfer-Encoding and Connection belong to the
  // server and are ignored here). Client: every header received.
  HttpHeaders headers;
  // Server only: an answer that goes on after the handler returned (http_deferred.hpp). The server
  // calls `deferred` with the handle once it has taken the request's place in the connection's
  // order. `stream` false: the answer comes whole through the handle (this response's status,
  // headers and body are not sent). `stream` true: this response's status and headers are sent
  // now, the body as chunks through the handle.
  std::function<void(std::shared_ptr<HttpDeferred>)> deferred;
  bool stream = false;

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
};

// Fills request.path, .segments and .query from request.target; false when the target is not an
// origin-form or absolute-form target, or an escape is malformed (or an escaped NUL).
bool parse_target(HttpRequest& request);

// "Not Found" for 404; "Unknown" when there is no standard phrase.
std::string_view status_reason(unsigned status);

}  // namespace roster::net
