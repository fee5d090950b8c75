// Converters from what Eureka, Consul and Kubernetes export to a roster registry document
// (docs/importing.md has what maps to what, and what is lost). Each refuses the whole input when
// anything in it is unknown or malformed, naming the JSON path: nothing is ever half-converted.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"

namespace roster::cli {

struct ImportOptions {
  std::string owner_team;          // for services whose metadata or labels name no team (--owner-team)
  std::string stage = "stable";    // every imported version's lifecycle stage (--stage)
  std::string default_version;     // for those that carry no version (--default-version); empty: refused
};

struct ImportResult {
  std::string document;  // the registry document (pretty JSON), empty when there are errors
  size_t services = 0, versions = 0, instances = 0;
  std::vector<Error> errors;  // each with `where` = the JSON path in the input
  bool ok() const { return errors.empty(); }
};

// Eureka's GET /eureka/apps (JSON).
ImportResult import_eureka(std::string_view text, const ImportOptions& options);
// Consul's GET /v1/health/service/NAME and /v1/catalog/service/NAME arrays, one or several one
// after another.
ImportResult import_consul(std::string_view text, const ImportOptions& options);
// `kubectl get services,endpointslices -o json`: Services and discovery.k8s.io/v1 EndpointSlices.
ImportResult import_kubernetes(std::string_view text, const ImportOptions& options);

}  // namespace roster::cli
