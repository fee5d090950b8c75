// HTTP/1.1 request and response values shared by HttpServer and HttpClient.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roster::net {

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
  std::string target;  // raw request target: "/v1/services/a%20b?tag=x"
  std::string path;    // percent-decoded path: "/v1/services/a b"
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

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
};

// {"error": {"code": CODE, "message": MESSAGE, "path": PATH or null}}: the error shape of every
// roster HTTP API.
HttpResponse json_error(unsigned status, std::string_view code, std::string_view message,
                        std::optional<std::string_view> path = std::nullopt);

// "%41+b" -> "A b" with plus_is_space. nullopt on a malformed escape or an escaped NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

// Splits a request target into a decoded path and query; false when the target is not an
// origin-form or absolute-form target, or its escapes are malformed.
bool parse_target(std::string_view target, std::string& path,
                  std::vector<std::pair<std::string, std::string>>& query);

// "Not Found" for 404; "Unknown" when there is no standard phrase.
std::string_view status_reason(unsigned status);

}  // namespace roster::net
