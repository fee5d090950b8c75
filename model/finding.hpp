// One thing a schema comparison found: a breaking change, a warning or a harmless note. Shared
// by the OpenAPI diff, the JSON Schema compatibility check and contract verification, so the
// server and rosterctl render all of them the same way.
#pragma once

#include <string>
#include <string_view>

namespace roster::model {

enum class Severity { Breaking, Warning, Info };

inline std::string_view to_string(Severity s) {
  return s == Severity::Breaking ? "breaking" : s == Severity::Warning ? "warning" : "info";
}

struct Finding {
  Severity severity = Severity::Breaking;
  std::string id;       // stable kebab-case identifier, e.g. "path-removed"
  std::string method;   // upper-case HTTP method, or "" when not about one operation
  std::string path;     // OpenAPI path template, or "" when not about one path
  std::string pointer;  // JSON Pointer of the changed place (in the new document; the old one if removed)
  std::string message;  // one plain sentence
  bool operator==(const Finding&) const = default;
};

}  // namespace roster::model
