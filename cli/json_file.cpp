#include "json_file.hpp"

#include <iostream>
#include <string_view>

#include "roster/governance/json_document.hpp"
#include "roster/base/files.hpp"

namespace roster::cli {

std::optional<rapidjson::Document> load_json_file(const std::string& path) {
  auto text = base::read_file(path);
  if (!text) {
    std::cerr << "rosterctl: " << text.error().message << "\n";
    return std::nullopt;
  }
  auto parsed = governance::parse_json(*text);
  if (!parsed) {
    std::cerr << "rosterctl: " << path << ": not valid JSON: " << parsed.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*parsed);
}

}  // namespace roster::cli
