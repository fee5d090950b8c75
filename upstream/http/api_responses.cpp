#include "api_responses.hpp"

#include "roster/governance/json_document.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::upstream {

unsigned http_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Invalid: return 400;
    case ErrorKind::Unauthorized: return 401;
    case ErrorKind::NotFound: return 404;
    case ErrorKind::Conflict: return 409;
    case ErrorKind::TooLarge: return 413;
    case ErrorKind::Rejected: return 422;
    case ErrorKind::Unavailable: return 503;
    case ErrorKind::Io:
    case ErrorKind::Corrupt: return 500;
  }
  return 500;
}

net::HttpResponse json_response(std::string body, unsigned status) {
  net::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

net::HttpResponse error_response(const Error& error, const std::vector<governance::Finding>& findings) {
  auto r = json_response(wire::error_json(error.code, error.message, error.where), http_status(error.kind));
  if (!findings.empty()) {  // {"error": {...}} gains a sibling "findings" array
    std::string extra;
    wire::JsonWriter w(extra);
    governance::write_findings(w, findings);
    r.body.insert(r.body.rfind('}'), ",\"findings\":" + extra);
  }
  return r;
}

net::HttpResponse bad_request(std::string code, std::string message, std::string where) {
  return error_response({ErrorKind::Invalid, std::move(code), std::move(message), std::move(where)});
}

net::HttpResponse refusal_response(const Refusal& refusal) { return error_response(refusal.error, refusal.findings); }

net::HttpResponse write_response(const WriteResult& result, const std::optional<Lease>& lease) {
  if (!result) return refusal_response(result.error());
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("revision").unsigned_number(result->revision);
  w.key("warnings").begin_array();
  for (auto& warning : result->warnings) w.string(warning);
  w.end_array();
  if (lease) {
    w.key("lease_expires_at_ms").number(lease->expires_at_ms);
    w.key("renew_every_seconds").number(lease->renew_every.count() / 1000);
  }
  w.end_object();
  return json_response(body);
}

net::HttpResponse dry_run_response(const WriteResult& result) {
  const auto& warnings = result ? result->warnings : result.error().warnings;
  const auto& findings = result ? result->findings : result.error().findings;
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("dry_run").boolean(true).key("accepted").boolean(result.has_value());
  if (!result)
    w.key("error").begin_object().key("code").string(result.error().error.code).key("message")
        .string(result.error().error.message).end_object();
  w.key("warnings").begin_array();
  for (auto& warning : warnings) w.string(warning);
  w.end_array().key("findings");
  governance::write_findings(w, findings);
  w.end_object();
  return json_response(body);
}

Result<rapidjson::Document> parse_body(const net::HttpRequest& request) {
  auto parsed = governance::parse_json(request.body);
  if (!parsed) return fail(ErrorKind::Invalid, "invalid_json", "the body is not JSON: " + parsed.error().message);
  return parsed;
}

bool truthy(std::optional<std::string_view> v) { return v && (*v == "true" || *v == "1" || *v == "yes"); }

}  // namespace roster::upstream
