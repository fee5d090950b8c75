#include "roster/upstream/route_table.hpp"

#include <algorithm>

namespace roster::upstream {

std::string_view PathParams::operator[](std::string_view name) const {
  for (auto& [key, value] : values_)
    if (key == name) return value;
  return {};
}

void RouteTable::add(std::string method, std::string_view pattern, RouteHandler handler) {
  Route route{method, method + " " + std::string(pattern), {}, std::move(handler)};
  for (size_t start = 1; start <= pattern.size();) {
    size_t end = pattern.find('/', start);
    if (end == std::string_view::npos) end = pattern.size();
    std::string_view s = pattern.substr(start, end - start);
    const bool param = s.size() > 2 && s.front() == '{' && s.back() == '}';
    route.segments.push_back({std::string(param ? s.substr(1, s.size() - 2) : s), param});
    start = end + 1;
  }
  routes_.push_back(std::move(route));
}

std::vector<std::string_view> RouteTable::labels() const {
  std::vector<std::string_view> out;
  for (const Route& route : routes_) out.push_back(route.label);
  return out;
}

bool RouteTable::matches(const Route& route, const std::vector<std::string>& segments, PathParams& params) {
  if (route.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = route.segments[i];
    if (s.param ? segments[i].empty() : segments[i] != s.text) return false;
  }
  for (size_t i = 0; i < segments.size(); ++i)
    if (route.segments[i].param) params.add(route.segments[i].text, segments[i]);
  return true;
}

net::HttpResponse RouteTable::dispatch(const net::HttpRequest& request, std::string_view* route_label) const {
  if (route_label) *route_label = "unmatched";
  // HEAD is a GET whose body the server leaves out.
  const std::string_view method = request.method == "HEAD" ? std::string_view("GET") : request.method;
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    PathParams params;
    if (!matches(route, request.segments, params)) continue;
    if (route.method == method) {
      if (route_label) *route_label = route.label;
      return route.handler(request, params);
    }
    if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) allowed.push_back(route.method);
  }
  if (allowed.empty())
    return render_error_(404, "not_found", "no such resource: " + request.method + " " + request.path);
  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end()) allowed.push_back("HEAD");
  std::string allow;
  for (auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  auto response = render_error_(405, "method_not_allowed",
                                request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")");
  response.headers.set("Allow", allow);
  return response;
}

}  // namespace roster::upstream
