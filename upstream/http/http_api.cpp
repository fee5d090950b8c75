#include "roster/upstream/http_api.hpp"

#include <xxhash.h>

#include <chrono>
#include <cstdio>

#include "roster/base/version.hpp"

#include "api_responses.hpp"
#include "openapi_document.hpp"
#include "blocking_query.hpp"
#include "parked_requests.hpp"
#include "watch_streams.hpp"
#include "roster/base/constant_time.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/json_writer.hpp"
#include "routes.hpp"

namespace roster::upstream {

net::HttpResponse HttpApi::render_error(unsigned status, std::string_view code, std::string_view message) {
  return json_response(wire::error_json(code, message), status);
}

namespace {

bool is_read(const net::HttpRequest& req) { return req.method == "GET" || req.method == "HEAD"; }

// Whether an If-None-Match field lists `etag` (weak comparison, RFC 9110 section 13.1.2), or is "*".
bool none_match(std::string_view field, std::string_view etag) {
  while (!field.empty()) {
    const size_t comma = field.find(',');
    std::string_view tag = field.substr(0, comma);
    field = comma == std::string_view::npos ? std::string_view() : field.substr(comma + 1);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
  }
  return false;
}

}  // namespace

HttpApi::HttpApi(net::EventLoop& loop, Registry& registry, ApiOptions options, MetricsSource extra_metrics)
    : registry_(registry), options_(std::move(options)), extra_metrics_(std::move(extra_metrics)),
      routes_(&HttpApi::render_error) {
  // Revisions are comparable only within one store: its identity is in every ETag.
  const std::string& identity = registry_.store_identity();
  char tag[17];
  std::snprintf(tag, sizeof tag, "%016llx",
                static_cast<unsigned long long>(XXH64(identity.data(), identity.size(), 0)));
  store_tag_ = tag;
  parked_ = std::make_unique<ParkedRequests>(loop, registry_, [this](const net::HttpRequest& r) { return answer(r); });
  watches_ = std::make_unique<WatchStreams>(
      loop, registry_, WatchOptions{.max_streams = options_.max_watch_streams,
                                        .keepalive = options_.watch_keepalive,
                                        .max_catch_up_bytes = options_.watch_catch_up_bytes});
  routes_.add("GET", "/healthz", [this](const net::HttpRequest&, const PathParams&) {
    std::string body;
    wire::JsonWriter w(body);
    w.begin_object().key("status").string("ok").key("revision").unsigned_number(registry_.revision());
    if (options_.health_details) options_.health_details(w);
    w.end_object();
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
  routes_.add("GET", "/v1/watch", [this](const net::HttpRequest& r, const PathParams&) { return watches_->open(r); });
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
  } else if (auto query = is_read(req) ? blocking_query(req) : Result<std::optional<BlockingQuery>>(std::nullopt);
             !query) {
    response = error_response(query.error());
  } else {
    response = answer(req, &route);
    // Parked while the registry is at the asked revision; not when the request itself is wrong
    // (no such route, a bad parameter) or is a stream. An index ahead of the registry (another
    // store's, or from before a reset) is answered at once, as Consul does when the index goes back.
    if (*query && (*query)->index == registry_.revision() && route != "unmatched" &&
        response.status != 400 && !response.deferred) {
      if (parked_->size() >= options_.max_parked) {
        response = error_response({ErrorKind::Unavailable, "too_many_waiting",
                                   "the server has " + std::to_string(options_.max_parked) +
                                       " blocking queries waiting, its limit: try again later"});
      } else {
        net::HttpResponse later;
        later.deferred = [this, req, q = **query](std::shared_ptr<net::HttpDeferred> handle) {
          parked_->park(req, q.index, q.wait, std::move(handle));
        };
        response = std::move(later);
      }
    }
  }
  if (!response.headers.contains("X-Roster-Index"))  // a refusal made here rather than by answer()
    response.headers.set("X-Roster-Index", std::to_string(registry_.revision()));
  if (response.status >= 400) ++errors_;
  latency_[route].observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return response;
}

HttpApi::~HttpApi() = default;

std::string HttpApi::etag() const { return "\"" + store_tag_ + "-" + std::to_string(registry_.revision()) + "\""; }

net::HttpResponse HttpApi::answer(const net::HttpRequest& req, std::string_view* route) {
  net::HttpResponse response = routes_.dispatch(req, route);
  response.headers.set("X-Roster-Index", std::to_string(registry_.revision()));
  // A stream's events carry their own revisions: no ETag for it.
  if (is_read(req) && response.status == 200 && !response.deferred) {
    std::string tag = etag();
    if (auto match = req.header("If-None-Match"); match && none_match(*match, tag)) {
      response.status = 304;
      response.body.clear();
    }
    response.headers.set("ETag", std::move(tag));
  }
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
  out.gauge("roster_http_parked_requests", "Blocking queries waiting for a revision after their index",
            parked_->size());
  out.gauge("roster_http_watch_streams", "GET /v1/watch streams open", watches_->size());
  if (extra_metrics_) extra_metrics_(out);
  net::HttpResponse r = json_response(out.text());
  r.content_type = std::string(base::PrometheusText::kContentType);
  return r;
}

}  // namespace roster::upstream
