// roster-server's HTTP face: a route table over the Registry (the domain core). It decodes JSON
// bodies into records, maps domain errors to statuses (api_responses.hpp) and renders answers as
// JSON. Every route is in docs/openapi.json (served as GET /v1/openapi.json; a test holds the two
// equal): core (versions, instances, heartbeats, registry import), governance (docs/governance-api.md:
// graph, lifecycle, schemas, contracts, can-i-deploy), GET /healthz, /metrics (Prometheus text)
// and /v1/revision.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "roster/base/prometheus.hpp"
#include "roster/net/http_message.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/upstream/route_table.hpp"

namespace roster::upstream {

struct ApiOptions {
  std::optional<std::string> token;  // bearer token required on writes, when set
};

// The HTTP status of a domain error's kind: the one place that decides it.
unsigned http_status(ErrorKind kind);

// Adds the metrics of parts outside the registry (the stream server) to /metrics.
using MetricsSource = std::function<void(base::PrometheusText&)>;

class HttpApi {
 public:
  HttpApi(Registry& registry, ApiOptions options, MetricsSource extra_metrics = {});
  net::HttpResponse handle(const net::HttpRequest& request);
  // Every route as "METHOD /pattern/{param}" (what the OpenAPI document must describe).
  std::vector<std::string_view> route_labels() const { return routes_.labels(); }

  // Errors the HTTP server answers itself (malformed requests, limits), in roster's JSON shape.
  static net::HttpResponse render_error(unsigned status, std::string_view code, std::string_view message);

 private:
  bool authorized(const net::HttpRequest& request) const;
  net::HttpResponse metrics() const;

  Registry& registry_;
  ApiOptions options_;
  MetricsSource extra_metrics_;
  RouteTable routes_;
  uint64_t requests_ = 0, errors_ = 0, unauthorized_ = 0;
  // Time on the event loop per route (the route table's labels outlive the map).
  std::map<std::string_view, base::LatencyHistogram> latency_;
};

}  // namespace roster::upstream
