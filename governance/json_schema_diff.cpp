#include "roster/governance/json_schema_diff.hpp"

#include <set>
#include <string>

#include "roster/governance/json_document.hpp"

namespace roster::governance {

namespace {

// Deeper than this, the walk stops: a changelog needs no more, and hostile documents can nest deep.
constexpr int kMaxDepth = 64;

// The schema's "type" as text ("string", "integer|null"), "" when it has none.
std::string type_of(const rapidjson::Value& schema) {
  const auto* t = member(schema, "type");
  if (!t) return "";
  if (t->IsString()) return t->GetString();
  std::set<std::string> names;
  if (t->IsArray())
    for (auto& e : t->GetArray())
      if (e.IsString()) names.insert(e.GetString());
  std::string out;
  for (auto& n : names) out += (out.empty() ? "" : "|") + n;
  return out;
}

std::set<std::string> required_of(const rapidjson::Value& schema) {
  std::set<std::string> out;
  if (const auto* r = member(schema, "required"); r && r->IsArray())
    for (auto& e : r->GetArray())
      if (e.IsString()) out.insert(e.GetString());
  return out;
}

struct Differ {
  std::vector<Finding> out;

  void add(Severity severity, const char* id, const std::string& pointer, std::string message) {
    out.push_back(Finding{severity, id, "", "", pointer, std::move(message)});
  }

  void walk(const rapidjson::Value& before, const rapidjson::Value& after, const std::string& pointer, int depth) {
    if (depth > kMaxDepth || !before.IsObject() || !after.IsObject()) return;
    const std::string where = pointer.empty() ? "the root" : pointer;
    if (auto a = type_of(before), b = type_of(after); a != b && !a.empty() && !b.empty())
      add(Severity::Warning, "type-changed", pointer, "type at " + where + " changed from " + a + " to " + b);
    const auto req_before = required_of(before), req_after = required_of(after);
    for (auto& name : req_after)
      if (!req_before.count(name))
        add(Severity::Warning, "required-added", pointer + "/required",
            "property \"" + name + "\" at " + where + " is now required");
    for (auto& name : req_before)
      if (!req_after.count(name))
        add(Severity::Info, "required-removed", pointer + "/required",
            "property \"" + name + "\" at " + where + " is no longer required");
    const auto* props_before = member(before, "properties");
    const auto* props_after = member(after, "properties");
    if (props_after && props_after->IsObject())
      for (auto& [name, schema] : props_after->GetObject()) {
        const std::string at = pointer_append(pointer + "/properties", name.GetString());
        const auto* old = props_before ? member(*props_before, name.GetString()) : nullptr;
        if (!old)
          add(Severity::Info, "property-added", at, "property \"" + std::string(name.GetString()) + "\" added at " + where);
        else
          walk(*old, schema, at, depth + 1);
      }
    if (props_before && props_before->IsObject())
      for (auto& [name, schema] : props_before->GetObject())
        if (!props_after || !member(*props_after, name.GetString()))
          add(Severity::Warning, "property-removed", pointer_append(pointer + "/properties", name.GetString()),
              "property \"" + std::string(name.GetString()) + "\" removed from " + where);
    if (const auto *items_before = member(before, "items"), *items_after = member(after, "items"); items_before && items_after)
      walk(*items_before, *items_after, pointer + "/items", depth + 1);
  }
};

}  // namespace

std::vector<Finding> diff_json_schema(const rapidjson::Value& before, const rapidjson::Value& after) {
  Differ d;
  d.walk(before, after, "", 0);
  return std::move(d.out);
}

}  // namespace roster::governance
