// The rules a service version must pass to be written, beyond its document's own validity:
//   lifecycle: a new version starts early in the chain, an existing one only moves forward, and
//              the lifecycle dates are the server's (set when stages are reached);
//   dependencies: one that can only resolve to a retired version is refused, one resolving to a
//              deprecated or sunset version is accepted with a warning;
//   schemas:   upstream/schema_rules.hpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/model/graph.hpp"
#include "roster/model/lifecycle.hpp"
#include "roster/model/service_resolution.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::upstream {

wire::LifecycleStage stage_of(const wire::ServiceVersion& v);
model::LifecycleDates dates_of(const wire::ServiceVersion& v);
using model::version_info;  // model/service_resolution.hpp

// The record to store for `candidate`, given the version already registered under its key (if
// any): its stage checked, its lifecycle dates (and reason) and its timestamps the server's
// (`created_at` when first registered, `updated_at` now). `import` (a whole registry document, as
// a restore) lets a new version keep any stage and the times it carries, with missing ones filled
// in. Refusal: Conflict (invalid_transition).
Result<std::vector<uint8_t>> settle_lifecycle(const wire::ServiceVersion& candidate, const wire::ServiceVersion* existing,
                                              bool import, int64_t now_ms, const model::LifecyclePolicy& policy);

// `v` moved to `to` at `now_ms` (the move itself already checked; `updated_at` is now).
std::vector<uint8_t> moved(const wire::ServiceVersion& v, wire::LifecycleStage to, std::string_view reason, int64_t now_ms,
                           const model::LifecyclePolicy& policy);

// Checks `v`'s dependencies against `graph` (which already holds the versions being written):
// a refusal (Rejected, retired_dependency) for one that only a retired version satisfies;
// warnings for deprecated targets and for dependencies nothing satisfies yet.
Result<void> check_dependencies(const model::DependencyGraph& graph, const wire::ServiceVersion& v,
                                std::vector<std::string>& warnings);

}  // namespace roster::upstream
