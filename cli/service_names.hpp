// Service names for rosterctl: reading them (from the server or an agent's arena) and "did you
// mean" when a command names a service that does not exist.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server_client.hpp"
#include "roster/client.hpp"

namespace roster::cli {

// GET /v1/service-names, printing nothing on failure (nullopt).
std::optional<std::vector<std::string>> server_service_names(const ServerOptions& o);
std::vector<std::string> arena_service_names(const View& view);

// When `name` is not among `names`: prints `no service "NAME"; did you mean "NEAREST"?` (or only
// `no service "NAME"` when nothing is near) and returns true. Returns false when it exists.
bool explain_unknown_service(std::string_view name, const std::vector<std::string>& names);

// After the server refused a request about `name`: if the reason may be that the service does
// not exist, says so with the nearest name. Silent when it exists (the refusal was about
// something else) or the names cannot be read.
void explain_unknown_service(const ServerOptions& o, std::string_view name);

}  // namespace roster::cli
