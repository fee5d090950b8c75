// roster-server's HTTP face: a route table over the Registry (the domain core). It decodes JSON
// bodies into records, maps domain errors to statuses (api_responses.hpp) and renders answers as
// JSON. Every route is in docs/openapi.json (served as GET /v1/openapi.json; a test holds the two
// equal): core (versions, instances, heartbeats, registry import and export), governance
// (docs/governance-api.md: graph, lifecycle, schemas, contracts, can-i-deploy), GET /healthz,
// /metrics (Prometheus text), /v1/revision and /v1/watch (watch_streams.hpp).
//
// Every answer carries X-Roster-Index: the revision it was computed at. A GET's 200 carries an
// ETag naming the store and that revision (conservative: any write changes every ETag), and
// If-None-Match with it gets 304. Every GET route is a blocking query with ?index=N[&wait=D]
// (blocking_query.hpp): while the registry is at revision N the request is parked, then answered
// afresh once a later revision is durable, or with the same state when the wait ends.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "roster/base/prometheus.hpp"
#include "roster/net/event_loop.hpp"
#include "roster/net/http_message.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/upstream/route_table.hpp"

namespace roster::wire {
class JsonWriter;
}

namespace roster::upstream {

struct ApiOptions {
  std::optional<std::string> token;  // bearer token required on writes, when set
  size_t max_parked = 4096;          // blocking queries waiting at once; beyond, 503
  size_t max_watch_streams = 1024;   // GET /v1/watch streams open at once; beyond, 503
  std::chrono::milliseconds watch_keepalive{15'000};
  // A watch stream's catch-up larger than this is a reset instead (watch_streams.hpp); keep it
  // below the server's HttpLimits::max_stream_backlog, which it is sent into at once.
  size_t watch_catch_up_bytes = 512 * 1024;
  // Adds fields to GET /healthz's answer (the registries this server follows).
  std::function<void(wire::JsonWriter&)> health_details;
};

class ParkedRequests;
class WatchStreams;

// The HTTP status of a domain error's kind: the one place that decides it.
unsigned http_status(ErrorKind kind);

// Adds the metrics of parts outside the registry (the stream server) to /metrics.
using MetricsSource = std::function<void(base::PrometheusText&)>;

class HttpApi {
 public:
  // `loop`: the server's, which times blocking queries and watch keepalives.
  HttpApi(net::EventLoop& loop, Registry& registry, ApiOptions options, MetricsSource extra_metrics = {});
  ~HttpApi();
  net::HttpResponse handle(const net::HttpRequest& request);
  // Every route as "METHOD /pattern/{param}" (what the OpenAPI document must describe).
  std::vector<std::string_view> route_labels() const { return routes_.labels(); }

  // Errors the HTTP server answers itself (malformed requests, limits), in roster's JSON shape.
  static net::HttpResponse render_error(unsigned status, std::string_view code, std::string_view message);

 private:
  bool authorized(const net::HttpRequest& request) const;
  net::HttpResponse metrics() const;
  // The route's answer now, with X-Roster-Index and (a GET's 200) the ETag, or 304.
  net::HttpResponse answer(const net::HttpRequest& request, std::string_view* route = nullptr);
  std::string etag() const;

  Registry& registry_;
  ApiOptions options_;
  MetricsSource extra_metrics_;
  RouteTable routes_;
  std::string store_tag_;  // the store identity's hash, in ETags
  std::unique_ptr<ParkedRequests> parked_;
  std::unique_ptr<WatchStreams> watches_;
  uint64_t requests_ = 0, errors_ = 0, unauthorized_ = 0;
  // Time on the event loop per route (the route table's labels outlive the map).
  std::map<std::string_view, base::LatencyHistogram> latency_;
};

}  // namespace roster::upstream
