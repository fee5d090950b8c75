// roster-server's HTTP API: routes requests to the Registry and renders JSON.
//
//   PUT    /v1/services/{name}/versions/{version}[?dry_run=true]   register or update a version
//   GET    /v1/services/{name}/versions/{version}                  one version
//   DELETE /v1/services/{name}/versions/{version}                  remove it (and its instances)
//   GET    /v1/services/{name}[?prerelease=true]                   the latest (stable) version
//   GET    /v1/services/{name}/versions                            every version, ascending
//   GET    /v1/services?team=&stage=&tag=                          search
//   PUT    /v1/services/{name}/versions/{version}/instances/{id}[?ttl=SECONDS]   register, with a lease
//   PUT    /v1/services/{name}/versions/{version}/instances/{id}/heartbeat       renew the lease
//   DELETE /v1/services/{name}/versions/{version}/instances/{id}  deregister
//   GET    /v1/services/{name}/instances[?version=&healthy=true]
//   POST   /v1/registry[?dry_run=true]                             a whole registry document
//   ... and the governance routes of docs/governance-api.md (upstream/governance_api.hpp)
//   GET    /v1/revision, /healthz, /metrics (Prometheus text)
// Errors: {"error": {"code", "message", "path"}} with a fitting status.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "roster/net/http_message.hpp"
#include "roster/upstream/registry.hpp"

namespace roster::upstream {

struct ApiOptions {
  std::optional<std::string> token;  // bearer token required on writes, when set
};

// Extra lines for /metrics from parts outside the registry (the stream server).
using MetricsSource = std::function<std::string()>;

class HttpApi {
 public:
  HttpApi(Registry& registry, ApiOptions options, MetricsSource extra_metrics = {});
  net::HttpResponse handle(const net::HttpRequest& request);

 private:
  net::HttpResponse route(const net::HttpRequest& request);
  Registry& registry_;
  ApiOptions options_;
  MetricsSource extra_metrics_;
  uint64_t requests_ = 0, errors_ = 0, unauthorized_ = 0;
};

// A refusal in roster's error shape (wire::error_json).
net::HttpResponse json_error(unsigned status, std::string_view code, std::string_view message,
                             std::string_view path = {});

// Compares in time independent of where the strings differ (for tokens).
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace roster::upstream
