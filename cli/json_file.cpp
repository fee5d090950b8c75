#include "cli/json_file.hpp"

#include <iostream>
#include <string_view>

#include "model/json_document.hpp"
#include "wire/atomic_file.hpp"

namespace roster::cli {

std::optional<rapidjson::Document> load_json_file(const std::string& path) {
  std::string why;
  auto bytes = wire::read_file_aligned(path, why);
  if (!bytes) {
    std::cerr << "rosterctl: " << why << "\n";
    return std::nullopt;
  }
  auto parsed = model::parse_json({reinterpret_cast<const char*>(bytes->bytes().data()), bytes->size});
  if (!parsed.ok()) {
    std::cerr << "rosterctl: " << path << ": not valid JSON: " << *parsed.error << "\n";
    return std::nullopt;
  }
  return std::move(parsed.document);
}

}  // namespace roster::cli
