// Reading a JSON document from a file for the local (serverless) schema and contract commands.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>

namespace roster::cli {

// The parsed document, or nullopt after printing why not: the file cannot be read, or the JSON
// error with its line and column.
std::optional<rapidjson::Document> load_json_file(const std::string& path);

}  // namespace roster::cli
