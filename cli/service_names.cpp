#include "service_names.hpp"

#include <algorithm>
#include <iostream>

#include "roster/base/nearest.hpp"
#include "roster/governance/json_document.hpp"

namespace roster::cli {

std::optional<std::vector<std::string>> server_service_names(const ServerOptions& o) {
  auto r = call_quietly(o, "GET", "/v1/service-names");
  if (!r) return std::nullopt;
  auto doc = governance::parse_json(r->body);
  if (!doc || !doc->IsObject()) return std::nullopt;
  std::vector<std::string> names;
  for (auto& n : array(*doc, "services").GetArray())
    if (n.IsString()) names.emplace_back(n.GetString(), n.GetStringLength());
  return names;
}

std::vector<std::string> arena_service_names(const View& view) {
  std::vector<std::string> names;
  for (std::string_view n : view.service_names()) names.emplace_back(n);
  return names;
}

bool explain_unknown_service(std::string_view name, const std::vector<std::string>& names) {
  if (std::find(names.begin(), names.end(), name) != names.end()) return false;
  std::cerr << "rosterctl: no service \"" << name << "\"";
  if (const std::string best = nearest(name, names); !best.empty()) std::cerr << "; did you mean \"" << best << "\"?";
  std::cerr << "\n";
  return true;
}

void explain_unknown_service(const ServerOptions& o, std::string_view name) {
  if (auto names = server_service_names(o)) explain_unknown_service(name, *names);
}

}  // namespace roster::cli
