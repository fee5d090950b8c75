#include "roster/upstream/schema_rules.hpp"

#include <algorithm>

#include "roster/governance/json_document.hpp"
#include "roster/governance/openapi_check.hpp"
#include "roster/governance/openapi_diff.hpp"
#include "roster/semver.hpp"

namespace roster::upstream {

namespace {

struct ParsedVersion {
  semver::Version version;
  const wire::ServiceVersion* record;
  rapidjson::Document doc;
};

// The version's schema, parsed; nullopt when it has none (or it does not parse, which the
// decoder already rules out).
std::optional<ParsedVersion> parse(const wire::ServiceVersion& v) {
  if (!v.api_schema() || v.api_schema()->format() == wire::SchemaFormat::None) return std::nullopt;
  auto version = semver::Version::parse(v.version()->string_view());
  if (!version) return std::nullopt;
  auto doc = governance::parse_json(v.api_schema()->document()->string_view());
  if (!doc) return std::nullopt;
  return ParsedVersion{std::move(*version), &v, std::move(*doc)};
}

std::string at(const wire::ServiceVersion& v) { return v.name()->str() + "@" + v.version()->str(); }

std::string count(size_t n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

}  // namespace

wire::SchemaFormat detect_format(const rapidjson::Value& doc) {
  return governance::member(doc, "openapi") ? wire::SchemaFormat::OpenApi : wire::SchemaFormat::JsonSchema;
}

std::vector<governance::SchemaProblem> schema_problems(wire::SchemaFormat format, const rapidjson::Value& doc) {
  if (format == wire::SchemaFormat::OpenApi) return governance::check_openapi(doc);
  return governance::check_json_schema(doc, doc);
}

std::vector<governance::Finding> compatibility_findings(governance::CompatibilityMode mode, wire::SchemaFormat format,
                                                   const std::vector<std::pair<std::string, const rapidjson::Value*>>& history,
                                                   const std::string& candidate_label, const rapidjson::Value& candidate) {
  // Lenient, as APIs evolve: writers send only the properties their schema declares, so adding
  // an optional property to an open object is compatible (the strict reading forbids it).
  const governance::CompatibilityOptions options{.lenient = true};
  if (format == wire::SchemaFormat::OpenApi) {
    std::vector<governance::OpenApiVersionRef> refs;
    for (auto& [label, doc] : history) refs.push_back({label, doc});
    return governance::check_openapi_compatibility(mode, refs, {candidate_label, &candidate}, options);
  }
  std::vector<governance::SchemaVersionRef> refs;
  for (auto& [label, doc] : history) refs.push_back({label, doc, ""});
  return governance::check_compatibility(mode, refs, {candidate_label, &candidate, ""}, options);
}

Result<void, Refusal> check_schema(const wire::ServiceVersion& candidate, const std::vector<const wire::ServiceVersion*>& others,
                                   const wire::ServiceVersion* existing, governance::CompatibilityMode mode) {
  auto cand = parse(candidate);
  if (!cand) return {};
  const auto format = candidate.api_schema()->format();

  auto problems = schema_problems(format, cand->doc);
  if (!problems.empty()) {
    std::vector<governance::Finding> findings;
    for (auto& p : problems)
      findings.push_back({governance::Severity::Breaking, "invalid-schema", "", "", p.pointer, p.message});
    return refuse(ErrorKind::Rejected, "invalid_schema",
                  at(candidate) + ": the API schema is not a valid " +
                      (format == wire::SchemaFormat::OpenApi ? "OpenAPI document" : "JSON Schema") + " (" +
                      count(problems.size(), "problem") + "; first at " + problems.front().pointer + ": " +
                      problems.front().message + ")",
                  "api_schema.document", std::move(findings));
  }
  if (mode == governance::CompatibilityMode::None) return {};

  // The lower versions with a schema of the same format, ascending.
  std::vector<ParsedVersion> lower;
  for (auto* v : others)
    if (auto p = parse(*v); p && p->version < cand->version && v->api_schema()->format() == format)
      lower.push_back(std::move(*p));
  std::sort(lower.begin(), lower.end(), [](auto& a, auto& b) { return a.version < b.version; });

  // Compatibility with the previous versions of the same major line.
  std::vector<std::pair<std::string, const rapidjson::Value*>> history;
  for (auto& p : lower)
    if (p.version.major == cand->version.major) history.emplace_back(p.record->version()->str(), &p.doc);
  auto violations = compatibility_findings(mode, format, history, candidate.version()->str(), cand->doc);
  if (!violations.empty()) {
    const std::string first = violations.front().message;
    return refuse(ErrorKind::Conflict, "incompatible_schema",
                  at(candidate) + ": the API schema violates the service's " +
                      std::string(governance::to_string(mode)) + " compatibility mode (" +
                      count(violations.size(), "problem") + "; first: " + first + ")",
                  "api_schema.document", std::move(violations));
  }

  // Breaking OpenAPI changes: against the version this one replaces under a caret range, and
  // against its own earlier registration.
  if (format != wire::SchemaFormat::OpenApi) return {};
  auto breaking_against = [&](const ParsedVersion& old, std::string why) -> Result<void, Refusal> {
    auto diff = governance::diff_openapi(old.doc, cand->doc);
    std::vector<governance::Finding> breaking;
    for (auto& f : diff.findings)
      if (f.severity == governance::Severity::Breaking) breaking.push_back(f);
    if (breaking.empty()) return {};
    // The message first: the findings are moved into the refusal (argument order is unspecified).
    const std::string message = at(candidate) + ": " + count(breaking.size(), "breaking change") + " against " +
                                old.record->version()->str() + " " + why + " (first: " + breaking.front().message + ")";
    return refuse(ErrorKind::Conflict, "incompatible_schema", message, "api_schema.document", std::move(breaking));
  };
  if (existing)
    if (auto old = parse(*existing); old && old->record->api_schema()->format() == format)
      if (auto kept = breaking_against(*old, "as registered; publish a new version instead"); !kept) return kept;
  // The version it follows: the highest lower release (pre-releases are expected to change).
  auto previous_it = std::find_if(lower.rbegin(), lower.rend(), [](auto& p) { return !p.version.is_prerelease(); });
  if (previous_it != lower.rend()) {
    const auto& previous = *previous_it;
    auto caret = semver::Range::parse("^" + previous.version.to_string());
    if (caret && caret->satisfies(cand->version, true))
      return breaking_against(previous, "without a version bump that caret ranges do not cross (^" +
                                            previous.version.to_string() + " still accepts " +
                                            candidate.version()->str() + ")");
  }
  return {};
}

}  // namespace roster::upstream
