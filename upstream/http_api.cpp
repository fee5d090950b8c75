#include "roster/upstream/http_api.hpp"

#include <charconv>
#include <sstream>

#include "roster/upstream/governance_api.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/json_writer.hpp"
#include "roster/wire/names.hpp"

namespace roster::upstream {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

net::HttpResponse json(std::string body, unsigned status = 200) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}


net::HttpResponse write_response(const WriteOutcome& out, std::optional<int64_t> lease_expires = std::nullopt,
                                 std::optional<int64_t> renew_every_ms = std::nullopt) {
  if (out.error) return api_error_response(*out.error, out.findings);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("revision").unsigned_number(out.revision);
  w.key("warnings").begin_array();
  for (auto& warning : out.warnings) w.string(warning);
  w.end_array();
  if (lease_expires) w.key("lease_expires_at_ms").number(*lease_expires);
  if (renew_every_ms) w.key("renew_every_seconds").number(*renew_every_ms / 1000);
  w.end_object();
  return json(body);
}

std::string version_list_json(const std::vector<const wire::ServiceVersion*>& list, std::string_view key) {
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key(key).begin_array();
  for (auto* v : list) w.raw(wire::to_service_version_json(*v, {}));
  w.end_array().end_object();
  return body;
}

bool truthy(std::optional<std::string_view> v) { return v && (*v == "true" || *v == "1" || *v == "yes"); }

// A dry run's answer: whether the write would be accepted, and why not.
net::HttpResponse dry_run_response(const WriteOutcome& out) {
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("dry_run").boolean(true).key("accepted").boolean(!out.error);
  if (out.error) w.key("error").begin_object().key("code").string(out.error->code).key("message").string(out.error->message).end_object();
  w.key("warnings").begin_array();
  for (auto& warning : out.warnings) w.string(warning);
  w.end_array().key("findings");
  governance::write_findings(w, out.findings);
  w.end_object();
  return json(body);
}

}  // namespace

net::HttpResponse json_error(unsigned status, std::string_view code, std::string_view message, std::string_view path) {
  net::HttpResponse r;
  r.status = status;
  r.body = wire::error_json(code, message, path);
  return r;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  // Walks the longer of the two whatever the contents, so timing does not reveal a prefix.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

HttpApi::HttpApi(Registry& registry, ApiOptions options, MetricsSource extra_metrics)
    : registry_(registry), options_(std::move(options)), extra_metrics_(std::move(extra_metrics)) {}

net::HttpResponse HttpApi::handle(const net::HttpRequest& request) {
  ++requests_;
  net::HttpResponse response = route(request);
  if (response.status >= 400) ++errors_;
  return response;
}

net::HttpResponse HttpApi::route(const net::HttpRequest& req) {
  const auto parts = split_path(req.path);
  const std::string& m = req.method;
  const bool write = m == "PUT" || m == "POST" || m == "DELETE";
  if (write && options_.token) {
    auto auth = req.header("Authorization");
    const std::string expected = "Bearer " + *options_.token;
    if (!auth || !constant_time_equals(*auth, expected)) {
      ++unauthorized_;
      return json_error(401, "unauthorized", "this server requires \"Authorization: Bearer <token>\" on writes");
    }
  }

  if (req.path == "/healthz" && m == "GET") {
    std::string body;
    wire::JsonWriter(body).begin_object().key("status").string("ok").key("revision").unsigned_number(registry_.revision()).end_object();
    return json(body);
  }
  if (req.path == "/metrics" && m == "GET") {
    const auto& metrics = registry_.metrics();
    std::ostringstream out;
    out << "# TYPE roster_http_requests_total counter\nroster_http_requests_total " << requests_ << "\n"
        << "# TYPE roster_http_errors_total counter\nroster_http_errors_total " << errors_ << "\n"
        << "# TYPE roster_http_unauthorized_total counter\nroster_http_unauthorized_total " << unauthorized_ << "\n"
        << "# TYPE roster_revision gauge\nroster_revision " << registry_.revision() << "\n"
        << "# TYPE roster_service_versions gauge\nroster_service_versions " << metrics.versions << "\n"
        << "# TYPE roster_instances gauge\nroster_instances " << metrics.instances << "\n"
        << "# TYPE roster_lease_renewals_total counter\nroster_lease_renewals_total " << metrics.renewals << "\n"
        << "# TYPE roster_lease_expiries_total counter\nroster_lease_expiries_total " << metrics.lease_expiries << "\n"
        << "# TYPE roster_self_preservation gauge\nroster_self_preservation " << (metrics.self_preservation ? 1 : 0) << "\n";
    if (extra_metrics_) out << extra_metrics_();
    net::HttpResponse r = json(out.str());
    r.content_type = "text/plain; version=0.0.4";
    return r;
  }
  if (req.path == "/v1/revision" && m == "GET") {
    std::string body;
    wire::JsonWriter(body).begin_object().key("revision").unsigned_number(registry_.revision()).end_object();
    return json(body);
  }
  if (auto governance = route_governance(registry_, req, parts)) return *governance;
  const bool dry_run = truthy(req.query_param("dry_run"));
  if (req.path == "/v1/registry" && m == "POST") {
    auto out = registry_.register_document(req.body, {.dry_run = dry_run});
    return dry_run ? dry_run_response(out) : write_response(out);
  }

  if (parts.size() >= 2 && parts[0] == "v1" && parts[1] == "services") {
    if (parts.size() == 2 && m == "GET") {
      std::optional<wire::LifecycleStage> stage;
      if (auto s = req.query_param("stage")) {
        stage = wire::parse_lifecycle_stage(*s);
        if (!stage) return json_error(400, "invalid_stage", "unknown lifecycle stage \"" + std::string(*s) + "\"", "stage");
      }
      return json(version_list_json(registry_.search(req.query_param("team"), stage, req.query_param("tag")), "services"));
    }
    if (parts.size() < 3 || parts[2].empty()) return json_error(404, "not_found", "no such resource: " + req.path);
    const std::string_view name = parts[2];
    if (parts.size() == 3 && m == "GET") {
      auto* v = registry_.latest(name, truthy(req.query_param("prerelease")));
      if (!v) return json_error(404, "not_found", "no " + std::string(truthy(req.query_param("prerelease")) ? "" : "stable ") + "version of \"" + std::string(name) + "\"");
      return json(wire::to_service_version_json(*v, {}));
    }
    if (parts.size() == 4 && parts[3] == "versions" && m == "GET") return json(version_list_json(registry_.versions(name), "versions"));
    if (parts.size() == 4 && parts[3] == "instances" && m == "GET") {
      const bool healthy = truthy(req.query_param("healthy"));
      std::string body;
      wire::JsonWriter w(body);
      w.begin_object().key("instances").begin_array();
      for (auto* inst : registry_.instances(name, req.query_param("version"))) {
        if (healthy && inst->health() != wire::Health::Up) continue;
        w.begin_object().key("service").string(inst->service()->string_view()).key("version").string(inst->version()->string_view());
        w.key("id").string(inst->id()->string_view()).key("address").string(inst->address()->string_view());
        w.key("port").number(inst->port()).key("weight").number(inst->weight());
        w.key("health").string(wire::to_string(inst->health()));
        if (inst->zone()) w.key("zone").string(inst->zone()->string_view());
        if (auto expiry = registry_.lease_expiry(name, inst->version()->string_view(), inst->id()->string_view()))
          w.key("lease_expires_at_ms").number(*expiry);
        w.end_object();
      }
      w.end_array().end_object();
      return json(body);
    }
    if (parts.size() >= 5 && parts[3] == "versions") {
      const std::string_view version = parts[4];
      if (parts.size() == 5) {
        if (m == "PUT") {
          auto out = registry_.put_version(name, version, req.body, {.dry_run = dry_run});
          return dry_run ? dry_run_response(out) : write_response(out);
        }
        if (m == "DELETE") return write_response(registry_.delete_version(name, version));
        if (m == "GET") {
          auto* v = registry_.version(name, version);
          if (!v) return json_error(404, "not_found", "no version \"" + std::string(version) + "\" of \"" + std::string(name) + "\"");
          return json(wire::to_service_version_json(*v, registry_.instances(name, version)));
        }
      }
      if (parts.size() >= 7 && parts[5] == "instances") {
        const std::string_view id = parts[6];
        if (parts.size() == 7 && m == "PUT") {
          std::optional<std::chrono::milliseconds> ttl;
          if (auto t = req.query_param("ttl")) {
            int64_t seconds = 0;
            auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), seconds);
            if (ec != std::errc() || p != t->data() + t->size() || seconds <= 0 || seconds > 86400)
              return json_error(400, "invalid_ttl", "ttl must be a whole number of seconds from 1 to 86400", "ttl");
            ttl = std::chrono::seconds(seconds);
          }
          auto out = registry_.put_instance(name, version, id, req.body, ttl);
          return write_response(out, registry_.lease_expiry(name, version, id),
                                registry_.lease_renewal_interval().count());
        }
        if (parts.size() == 7 && m == "DELETE") return write_response(registry_.delete_instance(name, version, id));
        if (parts.size() == 8 && parts[7] == "heartbeat" && (m == "PUT" || m == "POST"))
          return write_response(registry_.renew(name, version, id), registry_.lease_expiry(name, version, id));
      }
    }
  }
  return json_error(404, "not_found", "no such resource: " + m + " " + req.path);
}

}  // namespace roster::upstream
