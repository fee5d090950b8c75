// The route groups of the HTTP face, each added to the one route table.
#pragma once

#include "roster/upstream/registry.hpp"
#include "roster/upstream/route_table.hpp"

namespace roster::upstream {

// Versions, instances, heartbeats, search and the registry import.
void add_core_routes(RouteTable& routes, Registry& registry);
// The graph, lifecycle, schemas, compatibility, evolution, contracts and can-i-deploy.
void add_governance_routes(RouteTable& routes, Registry& registry);

}  // namespace roster::upstream
