// What roster-server sends agents for a service (wire::ServiceResolution, docs/stream-protocol.md):
// its versions in precedence order, "latest" among them and every declared dependency resolved,
// all by the dependency graph, so that an agent's arena writer parses no SemVer and resolves no
// range. The server, and the programs that feed an arena writer directly (tests, benchmarks, fuzz
// harnesses), compute it here and nowhere else.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "roster/model/graph.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::model {

// A version record as the dependency graph takes it.
VersionInfo version_info(const wire::ServiceVersion& v);

// The resolution of service `name` in `graph` now, as a standalone ServiceResolution FlatBuffer
// (what a ResolutionRecord nests). A service with no version registered gets an empty list.
std::vector<uint8_t> resolution_record(const DependencyGraph& graph, std::string_view name);

}  // namespace roster::model
