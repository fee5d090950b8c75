// One thing a schema comparison found: a breaking change, a warning or a harmless note. Shared
// by the OpenAPI diff, the JSON Schema compatibility check and contract verification, so the
// server and rosterctl render all of them the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace roster::governance {

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

// Findings as a JSON array of {severity, id, method, path, pointer, message}, through any writer
// with wire::JsonWriter's interface (model/ itself writes no JSON).
template <typename Writer>
void write_findings(Writer& w, const std::vector<Finding>& findings) {
  w.begin_array();
  for (auto& f : findings) {
    w.begin_object().key("severity").string(to_string(f.severity)).key("id").string(f.id);
    w.key("method").string(f.method).key("path").string(f.path).key("pointer").string(f.pointer);
    w.key("message").string(f.message).end_object();
  }
  w.end_array();
}

}  // namespace roster::governance
