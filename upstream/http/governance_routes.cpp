// The governance routes (docs/governance-api.md): the dependency graph, lifecycle, schemas,
// compatibility settings, evolution, contracts and can-i-deploy.
#include <algorithm>
#include <charconv>
#include <set>

#include "api_responses.hpp"
#include "routes.hpp"

#include "roster/governance/json_document.hpp"
#include "roster/governance/json_schema_diff.hpp"
#include "roster/governance/openapi_diff.hpp"
#include "roster/semver.hpp"
#include "roster/upstream/contract_checks.hpp"
#include "roster/upstream/schema_rules.hpp"
#include "roster/upstream/version_rules.hpp"
#include "roster/wire/json_writer.hpp"
#include "roster/wire/names.hpp"
#include "roster/wire/time_format.hpp"

namespace roster::upstream {

namespace {

using net::HttpResponse;
using Status = model::ResolutionStatus;

HttpResponse ok(std::string body) { return json_response(std::move(body)); }

// The API spells statuses with underscores, like its error codes: "no_such_service".
std::string status_name(Status s) {
  std::string name(model::to_string(s));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

void write_time(wire::JsonWriter& w, std::string_view key, int64_t ms) {
  if (ms) w.key(key).string(wire::format_rfc3339_ms(ms));
}

std::optional<int64_t> whole_number(std::optional<std::string_view> text, int64_t lo, int64_t hi) {
  if (!text) return std::nullopt;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || p != text->data() + text->size() || n < lo || n > hi) return std::nullopt;
  return n;
}

// The version a graph query is about: ?version= or the latest one.
std::optional<std::string> version_or_latest(const Registry& registry, std::string_view name,
                                             std::optional<std::string_view> version) {
  if (version) return std::string(*version);
  if (auto* v = registry.latest(name)) return v->version()->str();
  return std::nullopt;
}

HttpResponse no_version(std::string_view name, std::optional<std::string_view> version) {
  return error_response({ErrorKind::NotFound, "not_found",
                         version ? "no version \"" + std::string(*version) + "\" of \"" + std::string(name) + "\""
                                 : "no live version of \"" + std::string(name) + "\""});
}

// --- the dependency graph ---------------------------------------------------------------------

void write_tree(wire::JsonWriter& w, const model::TreeNode& node) {
  w.begin_object();
  if (node.status != Status::Resolved) {
    w.key("service").string(node.ref.name).key("range").string(node.range);
    w.key("status").string(status_name(node.status)).key("mark").string("unresolved");
  } else {
    w.key("name").string(node.ref.name).key("version").string(node.ref.version);
    w.key("stage").string(wire::to_string(node.stage));
    if (!node.range.empty()) w.key("range").string(node.range);
    using Mark = model::TreeNode::Mark;
    if (node.mark == Mark::Cycle) w.key("mark").string("cycle");
    if (node.mark == Mark::Deduped) w.key("mark").string("deduped");
    if (node.mark == Mark::DepthLimit) w.key("mark").string("depth_limit");
  }
  w.key("dependencies").begin_array();
  for (auto& child : node.children) write_tree(w, child);
  w.end_array().end_object();
}

HttpResponse tree(const Registry& registry, std::string_view name, const net::HttpRequest& req) {
  auto version = version_or_latest(registry, name, req.query_param("version"));
  auto depth = req.query_param("depth") ? whole_number(req.query_param("depth"), 1, 1000) : std::optional<int64_t>(64);
  if (!depth) return bad_request("invalid_depth", "depth must be a whole number from 1 to 1000", "depth");
  auto root = version ? registry.graph().tree(name, *version, static_cast<size_t>(*depth)) : std::nullopt;
  if (!root) return no_version(name, req.query_param("version"));
  std::string body;
  wire::JsonWriter w(body);
  write_tree(w, *root);
  return ok(body);
}

HttpResponse impact(const Registry& registry, std::string_view name, const net::HttpRequest& req) {
  auto version = req.query_param("version");
  if (version ? !registry.version(name, *version) : registry.versions(name).empty()) return no_version(name, version);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("service").string(name);
  if (version) w.key("version").string(*version);
  w.key("dependents").begin_array();
  const auto entries = registry.graph().impact(name, version);
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    w.begin_object().key("name").string(e.dependent.name).key("version").string(e.dependent.version);
    w.key("depth").unsigned_number(e.depth).key("range").string(e.range).key("path").begin_array();
    for (auto& hop : model::impact_path(entries, i)) w.string(hop.to_string());
    w.end_array().end_object();
  }
  w.end_array().end_object();
  return ok(body);
}

// A version's stored schema document. Registration admitted only documents that parse; should one not, it reads as
// null (the diff and the compatibility checks take any value) rather than failing the whole answer.
rapidjson::Document stored_document(const wire::ServiceVersion& v) {
  auto doc = governance::parse_json(v.api_schema()->document()->string_view());
  return doc ? std::move(*doc) : rapidjson::Document();
}

void write_dependents(wire::JsonWriter& w, std::string_view key, const std::vector<model::Dependent>& list) {
  w.key(key).begin_array();
  for (auto& d : list)
    w.begin_object().key("name").string(d.from.name).key("version").string(d.from.version).key("range").string(d.range).end_object();
  w.end_array();
}

void write_verifications(wire::JsonWriter& w, const std::vector<Verification>& list);

HttpResponse upgrade(const Registry& registry, std::string_view name, const net::HttpRequest& req) {
  auto from = req.query_param("from"), to = req.query_param("to");
  if (!from || !to) return bad_request("missing_parameter", "upgrade needs ?from=VERSION&to=VERSION", from ? "to" : "from");
  for (auto [v, param] : {std::pair{*from, "from"}, std::pair{*to, "to"}}) {
    if (auto parsed = semver::Version::parse(v); !parsed)
      return bad_request("invalid_version", std::string(param) + ": invalid semver " + parsed.error().message, param);
  }
  auto report = registry.graph().upgrade(name, *from, *to);
  if (!report) return bad_request("invalid_version", "from and to must be SemVer versions");
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("service").string(name).key("from").string(*from).key("to").string(*to);
  w.key("change").string(semver::to_string(report->change));
  write_dependents(w, "breaking_dependents", report->breaking);
  write_dependents(w, "unaffected_dependents", report->compatible);
  w.key("schema_diff");
  auto* a = registry.version(name, *from);
  auto* b = registry.version(name, *to);
  auto openapi = [](const wire::ServiceVersion* v) {
    return v && v->api_schema() && v->api_schema()->format() == wire::SchemaFormat::OpenApi;
  };
  if (openapi(a) && openapi(b)) {
    auto diff = governance::diff_openapi(stored_document(*a), stored_document(*b));
    w.begin_object().key("breaking").boolean(diff.breaking()).key("findings");
    governance::write_findings(w, diff.findings);
    w.end_object();
  } else {
    w.null();
  }
  // Beside the ranges: the consumers whose contract `to` breaks (null when `to` is not registered).
  w.key("contracts");
  if (b) {
    auto verifications = contracts_after_upgrade(registry, name, *from, *to);
    write_verifications(w, verifications);
    w.key("breaking_contracts").begin_array();
    for (auto& v : verifications)
      if (!v.ok) w.string(v.consumer);
    w.end_array();
  } else {
    w.null();
  }
  w.end_object();
  return ok(body);
}

HttpResponse cycles(const Registry& registry) {
  auto report = registry.graph().cycles();
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("cycles").begin_array();
  for (auto& cycle : report.cycles) {
    w.begin_array();
    for (auto& ref : cycle) w.string(ref.to_string());
    w.end_array();
  }
  w.end_array().key("truncated").boolean(report.truncated).end_object();
  return ok(body);
}

HttpResponse unresolved(const Registry& registry) {
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("unresolved").begin_array();
  for (auto& u : registry.graph().unresolved())
    w.begin_object().key("from").string(u.from.to_string()).key("service").string(u.dependency.service)
        .key("range").string(u.dependency.range).key("status").string(status_name(u.status)).end_object();
  w.end_array().end_object();
  return ok(body);
}

HttpResponse whole_graph(const Registry& registry) {
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("versions").begin_array();
  for (auto* v : registry.search(std::nullopt, std::nullopt, std::nullopt))
    w.begin_object().key("name").string(v->name()->string_view()).key("version").string(v->version()->string_view())
        .key("stage").string(wire::to_string(v->stage())).end_object();
  w.end_array().key("dependencies").begin_array();
  registry.graph().for_each_dependency([&](const model::VersionRef& from, const model::DependencyDecl& d, const model::Resolution& r) {
    w.begin_object().key("from").string(from.to_string()).key("service").string(d.service).key("range").string(d.range);
    w.key("status").string(status_name(r.status));
    if (r.resolved()) w.key("to").string(r.target.to_string());
    w.end_object();
  });
  w.end_array().end_object();
  return ok(body);
}

// --- lifecycle --------------------------------------------------------------------------------

HttpResponse set_stage(Registry& registry, std::string_view name, std::string_view version, const net::HttpRequest& req) {
  auto doc = parse_body(req);
  if (!doc) return error_response(doc.error());
  auto* stage_value = governance::member(*doc, "stage");
  if (!stage_value || !stage_value->IsString())
    return bad_request("invalid_stage", "expected {\"stage\": STAGE, \"reason\": TEXT}", "stage");
  auto stage = wire::parse_lifecycle_stage(stage_value->GetString());
  if (!stage)
    return bad_request("invalid_stage", "unknown lifecycle stage \"" + std::string(stage_value->GetString()) +
                      "\" (expected proposed, development, beta, stable, deprecated, sunset or retired)", "stage");
  auto* reason = governance::member(*doc, "reason");
  if (reason && !reason->IsString()) return bad_request("invalid_reason", "reason must be a string", "reason");
  auto out = registry.transition({std::string(name), std::string(version)}, *stage, reason ? reason->GetString() : "",
                                 truthy(req.query_param("force")));
  if (!out) return refusal_response(out.error());
  auto* v = registry.version(name, version);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("revision").unsigned_number(out->revision).key("warnings").begin_array();
  for (auto& warning : out->warnings) w.string(warning);
  w.end_array().key("stage").string(wire::to_string(v->stage()));
  write_time(w, "deprecated_at", v->deprecated_at_ms());
  write_time(w, "sunset_at", v->sunset_at_ms());
  write_time(w, "retired_at", v->retired_at_ms());
  w.end_object();
  return ok(body);
}

HttpResponse timeline(const Registry& registry, const net::HttpRequest& req) {
  std::optional<int64_t> within;
  if (req.query_param("within_days")) {
    within = whole_number(req.query_param("within_days"), 0, 36500);
    if (!within) return bad_request("invalid_days", "within_days must be a whole number of days", "within_days");
  }
  const int64_t now = registry.now();
  struct Row {
    const wire::ServiceVersion* v;
    model::ScheduledMove move;
  };
  std::vector<Row> rows;
  for (auto* v : registry.search(std::nullopt, std::nullopt, std::nullopt))
    if (auto move = model::scheduled_move(stage_of(*v), dates_of(*v), registry.settings(v->name()->string_view()).lifecycle))
      if (!within || model::days_remaining(move->due_ms, now) <= *within) rows.push_back({v, *move});
  std::stable_sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.move.due_ms < b.move.due_ms; });
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("now").string(wire::format_rfc3339_ms(now)).key("versions").begin_array();
  for (auto& [v, move] : rows) {
    w.begin_object().key("name").string(v->name()->string_view()).key("version").string(v->version()->string_view());
    w.key("stage").string(wire::to_string(v->stage()));
    if (v->deprecation_reason()) w.key("reason").string(v->deprecation_reason()->string_view());
    write_time(w, "deprecated_at", v->deprecated_at_ms());
    write_time(w, "sunset_at", v->sunset_at_ms());
    w.key("next_stage").string(wire::to_string(move.to)).key("due_at").string(wire::format_rfc3339_ms(move.due_ms));
    w.key("days_remaining").number(model::days_remaining(move.due_ms, now));
    write_dependents(w, "dependents", registry.graph().dependents_resolving_to(v->name()->string_view(), v->version()->string_view()));
    w.end_object();
  }
  w.end_array().end_object();
  return ok(body);
}

HttpResponse settings_json(const Registry& registry, std::string_view name) {
  auto s = registry.settings(name);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("service").string(name).key("mode").string(governance::to_string(s.compatibility));
  w.key("sunset_after_days").number(s.lifecycle.sunset_after_days).key("retire_after_days").number(s.lifecycle.retire_after_days);
  w.end_object();
  return ok(body);
}

HttpResponse put_settings(Registry& registry, std::string_view name, const net::HttpRequest& req, bool compatibility) {
  auto doc = parse_body(req);
  if (!doc) return error_response(doc.error());
  if (!doc->IsObject()) return bad_request("invalid_body", "expected a JSON object");
  WriteResult out = Written{};
  if (compatibility) {
    auto* mode = governance::member(*doc, "mode");
    // A missing mode is refused as an unknown one.
    auto parsed = governance::parse_compatibility_mode(mode && mode->IsString() ? mode->GetString() : "");
    if (!parsed)
      return bad_request("invalid_mode", "expected {\"mode\": BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, "
                        "FULL, FULL_TRANSITIVE or NONE}", "mode");
    out = registry.set_settings(name, *parsed, std::nullopt);
  } else {
    model::LifecyclePolicy policy = registry.settings(name).lifecycle;
    for (auto [key, field] : {std::pair{"sunset_after_days", &policy.sunset_after_days},
                              std::pair{"retire_after_days", &policy.retire_after_days}}) {
      auto* v = governance::member(*doc, key);
      if (!v) continue;
      if (!v->IsInt()) return bad_request("invalid_policy", std::string(key) + " must be a whole number of days", key);
      *field = v->GetInt();
    }
    out = registry.set_settings(name, std::nullopt, policy);
  }
  if (!out) return refusal_response(out.error());
  return settings_json(registry, name);
}

// --- schemas ----------------------------------------------------------------------------------

std::optional<wire::SchemaFormat> format_param(const net::HttpRequest& req, const rapidjson::Value& doc) {
  auto f = req.query_param("format");
  if (!f) return detect_format(doc);
  return wire::parse_schema_format(*f);
}

HttpResponse schema_check(const net::HttpRequest& req) {
  auto doc = parse_body(req);
  if (!doc) return error_response(doc.error());
  auto format = format_param(req, *doc);
  if (!format || *format == wire::SchemaFormat::None)
    return bad_request("invalid_format", "format must be openapi or json_schema", "format");
  auto problems = schema_problems(*format, *doc);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("valid").boolean(problems.empty()).key("format").string(wire::to_string(*format));
  w.key("problems").begin_array();
  for (auto& p : problems) w.begin_object().key("pointer").string(p.pointer).key("message").string(p.message).end_object();
  w.end_array().end_object();
  return ok(body);
}

// A document member of a request body, checked to be a valid schema.
std::optional<HttpResponse> invalid_member(const rapidjson::Value* doc, const std::string& where) {
  if (!doc || !doc->IsObject()) return bad_request("invalid_body", "expected a schema document (object) at " + where, where);
  auto problems = schema_problems(detect_format(*doc), *doc);
  if (problems.empty()) return std::nullopt;
  return error_response({ErrorKind::Rejected, "invalid_schema",
                         where + " is not a valid schema: " + problems.front().pointer + ": " + problems.front().message +
                             (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : ""),
                         where});
}

HttpResponse schema_diff(const net::HttpRequest& req) {
  auto doc = parse_body(req);
  if (!doc) return error_response(doc.error());
  auto* a = governance::member(*doc, "old");
  auto* b = governance::member(*doc, "new");
  if (auto bad = invalid_member(a, "old")) return *bad;
  if (auto bad = invalid_member(b, "new")) return *bad;
  if (detect_format(*a) != wire::SchemaFormat::OpenApi || detect_format(*b) != wire::SchemaFormat::OpenApi)
    return bad_request("invalid_format", "diff compares two OpenAPI documents; use /v1/schemas/compat for JSON Schema");
  auto diff = governance::diff_openapi(*a, *b);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("breaking").boolean(diff.breaking()).key("findings");
  governance::write_findings(w, diff.findings);
  w.end_object();
  return ok(body);
}

HttpResponse schema_compat(const net::HttpRequest& req) {
  auto doc = parse_body(req);
  if (!doc) return error_response(doc.error());
  auto* mode_value = governance::member(*doc, "mode");
  auto mode = mode_value && mode_value->IsString() ? governance::parse_compatibility_mode(mode_value->GetString())
                                                   : governance::CompatibilityMode::Backward;
  if (!mode) return bad_request("invalid_mode", "unknown compatibility mode", "mode");
  auto* history = governance::member(*doc, "history");
  auto* candidate = governance::member(*doc, "new");
  if (!history || !history->IsArray()) return bad_request("invalid_body", "expected \"history\": [documents, oldest first]", "history");
  if (auto bad = invalid_member(candidate, "new")) return *bad;
  const auto format = detect_format(*candidate);
  std::vector<std::pair<std::string, const rapidjson::Value*>> docs;
  for (rapidjson::SizeType i = 0; i < history->Size(); ++i) {
    const std::string where = "history[" + std::to_string(i) + "]";
    if (auto bad = invalid_member(&(*history)[i], where)) return *bad;
    if (detect_format((*history)[i]) != format) return bad_request("invalid_format", where + " is not the same format as new", where);
    docs.emplace_back(where, &(*history)[i]);
  }
  auto findings = compatibility_findings(*mode, format, docs, "new", *candidate);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("compatible").boolean(findings.empty()).key("mode").string(governance::to_string(*mode)).key("findings");
  governance::write_findings(w, findings);
  w.end_object();
  return ok(body);
}

// The schema a finding's pointer is about: "/properties/a/type" and "/properties/a/required" are
// both about "/properties/a".
std::string place_of(std::string_view pointer) {
  for (std::string_view keyword : {"/type", "/required"})
    if (pointer.ends_with(keyword)) return std::string(pointer.substr(0, pointer.size() - keyword.size()));
  return std::string(pointer);
}

HttpResponse evolution(const Registry& registry, std::string_view name) {
  auto versions = registry.versions(name);
  if (versions.empty()) return no_version(name, std::nullopt);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("service").string(name).key("versions").begin_array();
  std::optional<rapidjson::Document> previous;
  for (auto* v : versions) {
    w.begin_object().key("version").string(v->version()->string_view());
    const bool has_schema = v->api_schema() && v->api_schema()->format() != wire::SchemaFormat::None;
    w.key("format").string(has_schema ? wire::to_string(v->api_schema()->format()) : "none");
    if (!has_schema) {
      w.end_object();
      continue;
    }
    auto doc = stored_document(*v);
    std::vector<governance::Finding> added, removed, changed;
    if (v->api_schema()->format() == wire::SchemaFormat::OpenApi) {
      size_t paths = 0, operations = 0;
      if (auto* p = governance::member(doc, "paths"); p && p->IsObject())
        for (auto& [path, item] : p->GetObject()) {
          ++paths;
          for (const char* m : {"get", "put", "post", "delete", "options", "head", "patch", "trace"})
            operations += governance::member(item, m) != nullptr;
        }
      w.key("paths").unsigned_number(paths).key("operations").unsigned_number(operations);
      if (previous && governance::member(*previous, "openapi"))
        for (auto& f : governance::diff_openapi(*previous, doc).findings)
          (f.id.find("added") != std::string::npos     ? added
           : f.id.find("removed") != std::string::npos ? removed
                                                       : changed).push_back(f);
    } else if (previous && !governance::member(*previous, "openapi")) {
      // JSON Schema: the changelog (properties, required, types), then what the compatibility
      // check adds about what the new version no longer accepts or now accepts, where the
      // changelog did not already name the place.
      std::set<std::string> named;
      for (auto& f : governance::diff_json_schema(*previous, doc)) {
        named.insert(place_of(f.pointer));
        (f.id == "property-added" ? added : f.id == "property-removed" ? removed : changed).push_back(f);
      }
      for (auto& f : compatibility_findings(governance::CompatibilityMode::Full, wire::SchemaFormat::JsonSchema,
                                            {{"previous", &*previous}}, "this", doc))
        if (!named.count(place_of(f.pointer))) changed.push_back(f);
    }
    for (auto [key, list] : {std::pair{"added", &added}, std::pair{"removed", &removed}, std::pair{"changed", &changed}}) {
      w.key(key);
      governance::write_findings(w, *list);
    }
    w.end_object();
    previous = std::move(doc);
  }
  w.end_array().end_object();
  return ok(body);
}

// --- contracts --------------------------------------------------------------------------------

void write_verifications(wire::JsonWriter& w, const std::vector<Verification>& list) {
  w.begin_array();
  for (auto& v : list) {
    w.begin_object().key("consumer").string(v.consumer).key("provider").string(v.provider).key("ok").boolean(v.ok);
    w.key("message").string(v.message).key("findings");
    governance::write_findings(w, v.findings);
    w.end_object();
  }
  w.end_array();
}

void write_contract(wire::JsonWriter& w, const wire::Contract& c, bool with_pact) {
  w.begin_object().key("consumer").string(c.consumer()->string_view()).key("consumer_version").string(c.consumer_version()->string_view());
  w.key("provider").string(c.provider()->string_view()).key("provider_range").string(c.provider_range()->string_view());
  if (with_pact) w.key("pact").raw(c.pact()->string_view());
  if (c.followed_from()) w.key("followed_from").string(c.followed_from()->string_view());
}

ContractKey contract_of(const PathParams& p) {
  return {std::string(p["consumer"]), std::string(p["consumer_version"]), std::string(p["provider"])};
}

HttpResponse list_contracts(const Registry& registry, const net::HttpRequest& req) {
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("contracts").begin_array();
  for (auto* c : registry.contracts(req.query_param("consumer"), req.query_param("provider"))) {
    write_contract(w, *c, false);
    w.end_object();
  }
  w.end_array().end_object();
  return ok(body);
}

HttpResponse matrix(const Registry& registry, const net::HttpRequest& req) {
  auto provider = req.query_param("provider");
  if (!provider) return bad_request("missing_parameter", "matrix needs ?provider=NAME", "provider");
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("provider").string(*provider).key("cells");
  write_verifications(w, contract_matrix(registry, *provider));
  w.end_object();
  return ok(body);
}

// The body is {"provider_range": RANGE, "pact": {a Pact v2 document}}.
HttpResponse put_contract(Registry& registry, const ContractKey& key, const net::HttpRequest& req) {
  auto bad = [](std::string message, std::string where) {
    return bad_request("invalid_contract", std::move(message), std::move(where));
  };
  auto doc = parse_body(req);
  if (!doc) return bad(doc.error().message, "");
  if (!doc->IsObject()) return bad("expected {\"provider_range\": RANGE, \"pact\": {...}}", "");
  for (auto& [name, value] : doc->GetObject())
    if (name != "provider_range" && name != "pact")
      return bad("unknown field \"" + std::string(name.GetString()) + "\"", name.GetString());
  auto* range = governance::member(*doc, "provider_range");
  if (!range || !range->IsString()) return bad("expected a string \"provider_range\" (an npm-style range)", "provider_range");
  auto* pact = governance::member(*doc, "pact");
  if (!pact || !pact->IsObject()) return bad("expected an object \"pact\" (a Pact v2 document)", "pact");
  auto out = registry.put_contract(key, {range->GetString(), range->GetStringLength()}, *pact);
  if (!out) return refusal_response(out.error());
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("revision").unsigned_number(out->revision).key("warnings").begin_array().end_array();
  w.key("verification");
  write_verifications(w, verify_contract(registry, *registry.contract(key)));
  w.end_object();
  return ok(body);
}

HttpResponse get_contract(const Registry& registry, const ContractKey& key) {
  auto* c = registry.contract(key);
  if (!c) return error_response({ErrorKind::NotFound, "not_found", "no " + key.to_string()});
  std::string body;
  wire::JsonWriter w(body);
  write_contract(w, *c, true);
  w.key("verification");
  write_verifications(w, verify_contract(registry, *c));
  w.end_object();
  return ok(body);
}

HttpResponse can_i_deploy_route(const Registry& registry, const net::HttpRequest& req) {
  auto service = req.query_param("service"), version = req.query_param("version");
  if (!service || !version) return bad_request("missing_parameter", "can-i-deploy needs ?service=NAME&version=VERSION", service ? "version" : "service");
  auto answer = can_i_deploy(registry, *service, *version);
  if (!answer) return no_version(*service, version);
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("service").string(*service).key("version").string(*version).key("deployable").boolean(answer->deployable);
  w.key("reasons").begin_array();
  for (auto [direction, list] : {std::pair{"provider", &answer->as_provider}, std::pair{"consumer", &answer->as_consumer}})
    for (auto& v : *list) {
      w.begin_object().key("direction").string(direction).key("counterpart").string(direction == std::string_view("provider") ? v.consumer : v.provider);
      w.key("ok").boolean(v.ok).key("message").string(v.message).key("findings");
      governance::write_findings(w, v.findings);
      w.end_object();
    }
  w.end_array().end_object();
  return ok(body);
}

}  // namespace

void add_governance_routes(RouteTable& routes, Registry& r) {
  using Req = const net::HttpRequest&;
  using P = const PathParams&;
  routes.add("GET", "/v1/graph", [&r](Req, P) { return whole_graph(r); });
  routes.add("GET", "/v1/graph/cycles", [&r](Req, P) { return cycles(r); });
  routes.add("GET", "/v1/graph/unresolved", [&r](Req, P) { return unresolved(r); });
  routes.add("GET", "/v1/lifecycle/timeline", [&r](Req req, P) { return timeline(r, req); });
  routes.add("POST", "/v1/schemas/check", [](Req req, P) { return schema_check(req); });
  routes.add("POST", "/v1/schemas/diff", [](Req req, P) { return schema_diff(req); });
  routes.add("POST", "/v1/schemas/compat", [](Req req, P) { return schema_compat(req); });
  routes.add("GET", "/v1/contracts", [&r](Req req, P) { return list_contracts(r, req); });
  routes.add("GET", "/v1/contracts/matrix", [&r](Req req, P) { return matrix(r, req); });
  const std::string contract = "/v1/contracts/{consumer}/{consumer_version}/{provider}";
  routes.add("PUT", contract, [&r](Req req, P p) { return put_contract(r, contract_of(p), req); });
  routes.add("GET", contract, [&r](Req, P p) { return get_contract(r, contract_of(p)); });
  routes.add("DELETE", contract, [&r](Req, P p) { return write_response(r.delete_contract(contract_of(p))); });
  routes.add("GET", "/v1/can-i-deploy", [&r](Req req, P) { return can_i_deploy_route(r, req); });
  routes.add("GET", "/v1/services/{name}/tree", [&r](Req req, P p) { return tree(r, p["name"], req); });
  routes.add("GET", "/v1/services/{name}/impact", [&r](Req req, P p) { return impact(r, p["name"], req); });
  routes.add("GET", "/v1/services/{name}/upgrade", [&r](Req req, P p) { return upgrade(r, p["name"], req); });
  routes.add("GET", "/v1/services/{name}/evolution", [&r](Req, P p) { return evolution(r, p["name"]); });
  for (const char* what : {"compatibility", "lifecycle-policy"}) {
    const bool is_compatibility = std::string_view(what) == "compatibility";
    const std::string path = std::string("/v1/services/{name}/") + what;
    routes.add("GET", path, [&r](Req, P p) { return settings_json(r, p["name"]); });
    routes.add("PUT", path, [&r, is_compatibility](Req req, P p) { return put_settings(r, p["name"], req, is_compatibility); });
  }
  routes.add("POST", "/v1/services/{name}/versions/{version}/lifecycle",
             [&r](Req req, P p) { return set_stage(r, p["name"], p["version"], req); });
}

}  // namespace roster::upstream
