// roster-server's governance routes (docs/governance-api.md): the dependency graph, lifecycle,
// schemas, compatibility settings, evolution, contracts and can-i-deploy.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "roster/governance/finding.hpp"
#include "roster/net/http_message.hpp"
#include "roster/upstream/registry.hpp"

namespace roster::upstream {

// The response for a governance route; nullopt when the request is not one (the caller routes on).
// `parts`: the request path's segments, as HttpApi splits them.
std::optional<net::HttpResponse> route_governance(Registry& registry, const net::HttpRequest& request,
                                                  const std::vector<std::string_view>& parts);

// A refusal as {"error": {"code", "message", "path"?}, "findings": [...]} (findings when any).
net::HttpResponse api_error_response(const ApiError& error, const std::vector<governance::Finding>& findings = {});

}  // namespace roster::upstream
