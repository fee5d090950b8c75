// The core routes: service versions, instances and their heartbeats, search, and the registry
// import. Bodies are decoded here into records; the registry sees records only. docs/openapi.json
// has each route in full (parameters, bodies, every answer's schema).
//
//   GET    /v1/services?team=&stage=&tag=[&limit=N&cursor=C][&schema=false]  search, by name then precedence;
//                                                                  a page ends with next_cursor while more remain
//   GET    /v1/service-names                                       every service's name, sorted
//   GET    /v1/services/{name}[?prerelease=true]                   the latest version (docs/lifecycle.md);
//                                                                  prerelease: the newest in any stage
//   GET    /v1/services/{name}/versions[?schema=false]             every version, ascending
//   GET    /v1/services/{name}/versions/{version}/schema           its API schema document
//   GET    /v1/services/{name}/instances[?version=&healthy=true]
//   PUT    /v1/services/{name}/versions/{version}[?dry_run=true]   register or update a version
//   GET    /v1/services/{name}/versions/{version}                  one version, its instances included
//   DELETE /v1/services/{name}/versions/{version}[?force=true]     remove it (and its instances); 409
//                                                                  has_dependents while others resolve to it alone
//   PUT    /v1/services/{name}/versions/{version}/instances/{id}[?ttl=SECONDS]   register, with a lease
//   PUT|POST /v1/services/{name}/versions/{version}/instances/{id}/heartbeat     renew the lease
//   DELETE /v1/services/{name}/versions/{version}/instances/{id}  deregister
//   GET    /v1/registry[?instances=true]                           export: the whole registry as one document
//                                                                  (versions, contracts, settings; instances if asked)
//   POST   /v1/registry[?dry_run=true]                             a whole registry document (import, restore)
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>

#include "api_responses.hpp"
#include "roster/semver.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/json_writer.hpp"
#include "roster/wire/names.hpp"
#include "routes.hpp"

namespace roster::upstream {

namespace {

// A document the decoder refused: 400 (413 when too large) with the first error's path and message (and the count).
net::HttpResponse decode_error(const wire::DecodedDocument& doc) {
  const auto& first = doc.errors.front();
  std::string message = first.message;
  if (doc.errors.size() > 1) {
    message += " (and " + std::to_string(doc.errors.size() - 1) + " more: ";
    for (size_t i = 1; i < doc.errors.size() && i < 20; ++i) message += (i > 1 ? "; " : "") + doc.errors[i].to_string();
    message += ")";
  }
  return error_response({first.kind, first.code, std::move(message), first.where});
}

net::HttpResponse url_mismatch(std::string code, std::string_view field, std::string_view in_document,
                           std::string_view in_url) {
  return bad_request(std::move(code),
                     "the document has " + std::string(field) + " \"" + std::string(in_document) + "\", the URL \"" +
                         std::string(in_url) + "\"",
                     std::string(field));
}

// ?schema=false: listings leave the schema documents out (one version's own URL has it).
bool schema_documents(const net::HttpRequest& req) {
  const auto s = req.query_param("schema");
  return !s || (*s != "false" && *s != "0");
}

// `list` (or the page of it after `cursor`, at most `limit` long) as {key: [...], "next_cursor"?}.
// A cursor is "name@version" of the last version a page held: the next page starts after it by
// name, then precedence, so versions written between pages neither repeat nor shift the rest.
std::string version_list_json(const std::vector<const wire::ServiceVersion*>& list, std::string_view key,
                              bool schema_document = true, size_t limit = SIZE_MAX,
                              std::optional<std::string_view> cursor = std::nullopt) {
  size_t begin = 0;
  if (cursor) {
    const size_t at = cursor->rfind('@');  // a version has no '@'; a name may
    const std::string_view name = cursor->substr(0, at);
    const auto version = semver::Version::parse(at == std::string_view::npos ? "" : cursor->substr(at + 1));
    auto after = [&](const wire::ServiceVersion* v) {
      const std::string_view n = v->name()->string_view();
      if (n != name || !version) return n > name;
      const auto parsed = semver::Version::parse(v->version()->string_view());
      return parsed && (*version < *parsed || (!(*parsed < *version) && v->version()->string_view() > cursor->substr(at + 1)));
    };
    while (begin < list.size() && !after(list[begin])) ++begin;
  }
  const size_t end = begin + std::min(limit, list.size() - begin);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key(key).begin_array();
  for (size_t i = begin; i < end; ++i) w.raw(wire::to_service_version_json(*list[i], {}, false, schema_document));
  w.end_array();
  if (end < list.size())
    w.key("next_cursor").string(list[end - 1]->name()->str() + "@" + list[end - 1]->version()->str());
  w.end_object();
  return body;
}

InstanceKey instance_of(const PathParams& p) {
  return {std::string(p["name"]), std::string(p["version"]), std::string(p["id"])};
}

// ?ttl=SECONDS: nullopt for the server's default; an error response when malformed.
std::variant<std::optional<std::chrono::milliseconds>, net::HttpResponse> ttl_param(const net::HttpRequest& req) {
  auto t = req.query_param("ttl");
  if (!t) return std::optional<std::chrono::milliseconds>();
  int64_t seconds = 0;
  auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), seconds);
  if (ec != std::errc() || p != t->data() + t->size() || seconds <= 0 || seconds > 86400)
    return bad_request("invalid_ttl", "ttl must be a whole number of seconds from 1 to 86400", "ttl");
  return std::optional<std::chrono::milliseconds>(std::chrono::seconds(seconds));
}

}  // namespace

void add_core_routes(RouteTable& routes, Registry& registry) {
  // One decoder for every request: it keeps its buffers between documents.
  auto decoder = std::make_shared<wire::JsonDecoder>();

  routes.add("GET", "/v1/services", [&registry](const net::HttpRequest& req, const PathParams&) {
    std::optional<wire::LifecycleStage> stage;
    if (auto s = req.query_param("stage")) {
      stage = wire::parse_lifecycle_stage(*s);
      if (!stage) return bad_request("invalid_stage", "unknown lifecycle stage \"" + std::string(*s) + "\"", "stage");
    }
    size_t limit = SIZE_MAX;
    if (auto l = req.query_param("limit")) {
      const char* end = l->data() + l->size();
      auto [p, ec] = std::from_chars(l->data(), end, limit);
      if (ec != std::errc() || p != end || limit == 0 || limit > 10000)
        return bad_request("invalid_limit", "limit must be a whole number from 1 to 10000", "limit");
    }
    return json_response(version_list_json(registry.search(req.query_param("team"), stage, req.query_param("tag")),
                                           "services", schema_documents(req), limit, req.query_param("cursor")));
  });

  routes.add("GET", "/v1/service-names", [&registry](const net::HttpRequest&, const PathParams&) {
    std::string body;
    wire::JsonWriter w(body);
    w.begin_object().key("services").begin_array();
    for (const std::string& name : registry.service_names()) w.string(name);
    w.end_array().end_object();
    return json_response(body);
  });

  routes.add("GET", "/v1/services/{name}", [&registry](const net::HttpRequest& req, const PathParams& p) {
    const bool every_stage = truthy(req.query_param("prerelease"));
    auto* v = registry.latest(p["name"], every_stage);
    if (!v) {
      const std::string name(p["name"]);
      if (!every_stage && registry.latest(name, true))
        return error_response({ErrorKind::NotFound, "not_found",
                               "no version of \"" + name +
                                   "\" counts as latest (stable, deprecated, sunset or beta, without a pre-release tag);"
                                   " ?prerelease=true returns the newest in any stage"});
      return error_response({ErrorKind::NotFound, "not_found", "no version of \"" + name + "\""});
    }
    return json_response(wire::to_service_version_json(*v, {}));
  });

  routes.add("GET", "/v1/services/{name}/versions", [&registry](const net::HttpRequest& req, const PathParams& p) {
    return json_response(version_list_json(registry.versions(p["name"]), "versions", schema_documents(req)));
  });

  routes.add("GET", "/v1/services/{name}/versions/{version}/schema",
             [&registry](const net::HttpRequest&, const PathParams& p) {
               const auto* v = registry.version(p["name"], p["version"]);
               if (!v)
                 return error_response({ErrorKind::NotFound, "not_found",
                                        "no version \"" + std::string(p["version"]) + "\" of \"" +
                                            std::string(p["name"]) + "\""});
               if (!v->api_schema())
                 return error_response({ErrorKind::NotFound, "no_schema",
                                        std::string(p["name"]) + "@" + std::string(p["version"]) + " has no API schema"});
               return json_response(v->api_schema()->document()->str());
             });

  routes.add("GET", "/v1/services/{name}/instances", [&registry](const net::HttpRequest& req, const PathParams& p) {
    const bool healthy = truthy(req.query_param("healthy"));
    std::string body;
    wire::JsonWriter w(body);
    w.begin_object().key("instances").begin_array();
    for (auto* inst : registry.instances(p["name"], req.query_param("version"))) {
      if (healthy && inst->health() != wire::Health::Up) continue;
      auto lease = registry.lease(InstanceKey::of(*inst));
      wire::write_instance(w, *inst, {.with_service = true, .lease_expires_at_ms = lease ? std::optional(lease->expires_at_ms) : std::nullopt});
    }
    w.end_array().end_object();
    return json_response(body);
  });

  routes.add("PUT", "/v1/services/{name}/versions/{version}",
             [&registry, decoder](const net::HttpRequest& req, const PathParams& p) {
               auto doc = decoder->decode(req.body);
               if (!doc.ok()) return decode_error(doc);
               if (doc.kind != wire::DocumentKind::ServiceVersion)
                 return bad_request("invalid_document", "expected one service version document, got a registry");
               auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(doc.services[0].data());
               if (v->name()->string_view() != p["name"])
                 return url_mismatch("name_mismatch", "name", v->name()->string_view(), p["name"]);
               if (v->version()->string_view() != p["version"])
                 return url_mismatch("version_mismatch", "version", v->version()->string_view(), p["version"]);
               const bool dry_run = truthy(req.query_param("dry_run"));
               auto out = registry.put_version(doc.services[0], doc.instances, {.dry_run = dry_run});
               return dry_run ? dry_run_response(out) : write_response(out);
             });

  routes.add("GET", "/v1/services/{name}/versions/{version}", [&registry](const net::HttpRequest&, const PathParams& p) {
    auto* v = registry.version(p["name"], p["version"]);
    if (!v)
      return error_response({ErrorKind::NotFound, "not_found",
                             "no version \"" + std::string(p["version"]) + "\" of \"" + std::string(p["name"]) + "\""});
    return json_response(wire::to_service_version_json(*v, registry.instances(p["name"], p["version"])));
  });

  routes.add("DELETE", "/v1/services/{name}/versions/{version}",
             [&registry](const net::HttpRequest& req, const PathParams& p) {
               return write_response(registry.delete_version({std::string(p["name"]), std::string(p["version"])},
                                                             truthy(req.query_param("force"))));
             });

  routes.add("PUT", "/v1/services/{name}/versions/{version}/instances/{id}",
             [&registry, decoder](const net::HttpRequest& req, const PathParams& p) {
               auto ttl = ttl_param(req);
               if (auto* refused = std::get_if<net::HttpResponse>(&ttl)) return *refused;
               auto doc = decoder->decode_instance(req.body, p["name"], p["version"]);
               if (!doc.ok()) return decode_error(doc);
               auto* inst = flatbuffers::GetRoot<wire::Instance>(doc.instances[0].data());
               if (inst->id()->string_view() != p["id"]) return url_mismatch("id_mismatch", "id", inst->id()->string_view(), p["id"]);
               auto out = registry.put_instance(doc.instances[0], std::get<0>(ttl));
               return write_response(out, out ? registry.lease(instance_of(p)) : std::nullopt);
             });

  routes.add("DELETE", "/v1/services/{name}/versions/{version}/instances/{id}",
             [&registry](const net::HttpRequest&, const PathParams& p) {
               return write_response(registry.delete_instance(instance_of(p)));
             });

  auto heartbeat = [&registry](const net::HttpRequest&, const PathParams& p) {
    auto lease = registry.renew(instance_of(p));
    if (!lease) return error_response(lease.error());
    return write_response(Written{registry.revision(), {}, {}}, *lease);
  };
  routes.add("PUT", "/v1/services/{name}/versions/{version}/instances/{id}/heartbeat", heartbeat);
  routes.add("POST", "/v1/services/{name}/versions/{version}/instances/{id}/heartbeat", heartbeat);

  // A backup that POST /v1/registry restores: records in the document format, read at one
  // revision. Instances are live state their processes re-register; asked for, they come along.
  routes.add("GET", "/v1/registry", [&registry](const net::HttpRequest& req, const PathParams&) {
    return json_response(wire::to_registry_json(registry.records(truthy(req.query_param("instances")))));
  });
  routes.add("POST", "/v1/registry", [&registry, decoder](const net::HttpRequest& req, const PathParams&) {
    auto doc = decoder->decode(req.body);
    if (!doc.ok()) return decode_error(doc);
    const bool dry_run = truthy(req.query_param("dry_run"));
    auto out = registry.import(doc, {.dry_run = dry_run});
    return dry_run ? dry_run_response(out) : write_response(out);
  });
}

}  // namespace roster::upstream
