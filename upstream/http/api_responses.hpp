// How the HTTP face answers: domain errors mapped to statuses (the one place that decides), roster's
// JSON shapes for errors and write results, and reading a request's JSON body.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/governance/finding.hpp"
#include "roster/net/http_message.hpp"
#include "roster/upstream/http_api.hpp"
#include "roster/upstream/lease_table.hpp"
#include "roster/upstream/write_result.hpp"

namespace roster::upstream {

net::HttpResponse json_response(std::string body, unsigned status = 200);

// {"error": {"code", "message", "path": where or null}, "findings": [...]} (findings when any),
// with the status of the error's kind.
net::HttpResponse error_response(const Error& error, const std::vector<governance::Finding>& findings = {});
// A request the face itself refuses (a bad parameter, a body of the wrong shape): 400.
net::HttpResponse bad_request(std::string code, std::string message, std::string where = {});
net::HttpResponse refusal_response(const Refusal& refusal);

// {"revision": N, "warnings": [...]} (plus the lease when given), or the refusal.
net::HttpResponse write_response(const WriteResult& result, const std::optional<Lease>& lease = std::nullopt);
// A dry run's answer: {"dry_run": true, "accepted", "error"?, "warnings", "findings"}.
net::HttpResponse dry_run_response(const WriteResult& result);

// The request body as a JSON document; Invalid (invalid_json) with the parser's line and column.
Result<rapidjson::Document> parse_body(const net::HttpRequest& request);

// "true", "1" or "yes".
bool truthy(std::optional<std::string_view> value);

}  // namespace roster::upstream
