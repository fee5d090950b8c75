#include "roster/upstream/http_api.hpp"

#include <chrono>

#include "roster/base/version.hpp"

#include "api_responses.hpp"
#include "openapi_document.hpp"
#include "roster/base/constant_time.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/json_writer.hpp"
#include "routes.hpp"

namespace roster::upstream {

net::HttpResponse HttpApi::render_error(unsigned status, std::string_view code, std::string_view message) {
  return json_response(wire::error_json(code, message), status);
}

HttpApi::HttpApi(Registry& registry, ApiOptions options, MetricsSource extra_metrics)
    : registry_(registry), options_(std::move(options)), extra_metrics_(std::move(extra_metrics)),
      routes_(&HttpApi::render_error) {
  routes_.add("GET", "/healthz", [this](const net::HttpRequest&, const PathParams&) {
    std::string body;
    wire::JsonWriter(body).begin_object().key("status").string("ok").key("revision").unsigned_number(registry_.revision())
        .end_object();
    return json_response(body);
  });
  routes_.add("GET", "/metrics", [this](const net::HttpRequest&, const PathParams&) { return metrics(); });
  routes_.add("GET", "/v1/revision", [this](const net::HttpRequest&, const PathParams&) {
    std::string body;
    wire::JsonWriter(body).begin_object().key("revision").unsigned_number(registry_.revision()).end_object();
    return json_response(body);
  });
  routes_.add("GET", "/v1/openapi.json", [](const net::HttpRequest&, const PathParams&) {
    return json_response(std::string(kOpenApiDocument));
  });
  add_core_routes(routes_, registry_);
  add_governance_routes(routes_, registry_);
}

bool HttpApi::authorized(const net::HttpRequest& req) const {
  const std::string& m = req.method;
  if (!options_.token || m == "GET" || m == "HEAD") return true;
  auto auth = req.header("Authorization");
  // RFC 9110: the scheme is case-insensitive ("bearer" and "Bearer" alike).
  constexpr std::string_view kScheme = "bearer ";
  if (!auth || auth->size() < kScheme.size() || !net::iequals(auth->substr(0, kScheme.size()), kScheme)) return false;
  return base::constant_time_equals(auth->substr(kScheme.size()), *options_.token);
}

net::HttpResponse HttpApi::handle(const net::HttpRequest& req) {
  ++requests_;
  const auto start = std::chrono::steady_clock::now();
  net::HttpResponse response;
  std::string_view route = "unauthorized";
  if (!authorized(req)) {
    ++unauthorized_;
    response = error_response({ErrorKind::Unauthorized, "unauthorized",
                               "this server requires \"Authorization: Bearer <token>\" on writes"});
  } else {
    response = routes_.dispatch(req, &route);
  }
  if (response.status >= 400) ++errors_;
  latency_[route].observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return response;
}

net::HttpResponse HttpApi::metrics() const {
  const auto m = registry_.metrics();
  base::PrometheusText out;
  out.counter("roster_http_requests_total", "HTTP requests handled", requests_);
  out.counter("roster_http_errors_total", "HTTP requests answered with an error status", errors_);
  out.counter("roster_http_unauthorized_total", "Writes refused for a missing or wrong token", unauthorized_);
  out.gauge("roster_revision", "The registry's newest revision", registry_.revision());
  out.gauge("roster_service_versions", "Service versions registered", m.versions);
  out.gauge("roster_instances", "Instances registered", m.instances);
  out.counter("roster_lease_renewals_total", "Instance lease renewals", m.renewals);
  out.counter("roster_lease_expiries_total", "Instances removed because their lease ran out", m.lease_expiries);
  out.gauge("roster_self_preservation", "1 while too few renewals arrive to expire leases safely", m.self_preservation);
  out.gauge("roster_leader", "1 while this server runs lease expiry and scheduled lifecycle moves", m.leader);
  out.counter("roster_write_conflicts_total", "Writes checked again because another server committed first",
              m.write_conflicts);
  out.gauge("roster_build_info", "Always 1; the labels say which roster this is", 1,
            {{"program", "roster-server"}, {"version", kVersion}});
  bool first = true;
  for (const auto& [route, histogram] : latency_) {
    if (first)
      out.histogram("roster_http_request_duration_seconds",
                    "Time on the event loop from a parsed request to its answer, by route (a group-committed write waits for its fsync after this)",
                    histogram, {{"route", route}});
    else
      out.histogram_series(histogram, {{"route", route}});
    first = false;
  }
  if (extra_metrics_) extra_metrics_(out);
  net::HttpResponse r = json_response(out.text());
  r.content_type = std::string(base::PrometheusText::kContentType);
  return r;
}

}  // namespace roster::upstream
