// Routes of an HTTP API by method and path pattern, matched on the request's path segments
// (each already decoded once, so a '/' inside a name stays inside its segment):
//
//   routes.add("GET", "/v1/services/{name}/versions/{version}", handler);
//
// A literal segment matches itself; "{x}" matches any one non-empty segment, which the handler
// reads as params["x"]. Routes are tried in the order they were added. A path that matches with
// another method gets 405 with an Allow header; HEAD runs a GET route (the server sends no body);
// anything else is 404. Errors are rendered by the table's error renderer.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "roster/net/http_message.hpp"

namespace roster::upstream {

class PathParams {
 public:
  // The segment matched by "{name}" (empty when the pattern has no such parameter).
  std::string_view operator[](std::string_view name) const;
  void add(std::string_view name, std::string_view value) { values_.emplace_back(name, value); }

 private:
  std::vector<std::pair<std::string_view, std::string_view>> values_;
};

using RouteHandler = std::function<net::HttpResponse(const net::HttpRequest&, const PathParams&)>;
using RouteErrorRenderer =
    std::function<net::HttpResponse(unsigned status, std::string_view code, std::string_view message)>;

class RouteTable {
 public:
  explicit RouteTable(RouteErrorRenderer render_error) : render_error_(std::move(render_error)) {}

  void add(std::string method, std::string_view pattern, RouteHandler handler);
  // `route`, when given, is set to the matched route as "METHOD /pattern/{x}" (what metrics are
  // labelled with: bounded, unlike paths), or "unmatched".
  net::HttpResponse dispatch(const net::HttpRequest& request, std::string_view* route = nullptr) const;
  // Every route's label ("GET /v1/services/{name}"), in the order added.
  std::vector<std::string_view> labels() const;

 private:
  struct Segment {
    std::string text;
    bool param;
  };
  struct Route {
    std::string method;
    std::string label;  // "GET /v1/services/{name}"
    std::vector<Segment> segments;
    RouteHandler handler;
  };
  static bool matches(const Route& route, const std::vector<std::string>& segments, PathParams& params);

  RouteErrorRenderer render_error_;
  std::vector<Route> routes_;
};

}  // namespace roster::upstream
