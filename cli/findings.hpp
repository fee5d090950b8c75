// One line per finding, the same for every command that shows them (schema diff and compat,
// contract verify, deps upgrade, can-i-deploy, refused registrations):
//   BREAKING parameter-required GET /users: the query parameter "q" is now required
// When a finding is not about one operation, its JSON Pointer takes the place of METHOD PATH.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <vector>

#include "roster/governance/finding.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::cli {

std::string finding_line(std::string_view severity, std::string_view id, std::string_view method, std::string_view path,
                         std::string_view pointer, std::string_view message);

// A finding as the server sends it ({"severity", "id", "method", "path", "pointer", "message"}).
std::string finding_line(const rapidjson::Value& finding);
std::string finding_line(const governance::Finding& finding);

// --json output writes findings with governance::write_findings, as the server does.
using governance::write_findings;

}  // namespace roster::cli
