#include "pact_reads.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "roster/governance/json_document.hpp"

namespace roster::governance {

namespace {

using rapidjson::Value;

// Past this depth (of the example, or of $refs and combinators), the walk stops; and one value is
// described by at most this many schemas (combinators that branch at every level, as a hostile
// document can nest them, would otherwise multiply without end).
constexpr int kMaxDepth = 64;
constexpr size_t kMaxLeaves = 256;

std::string json_type(const Value& v) {
  if (v.IsObject()) return "object";
  if (v.IsArray()) return "array";
  if (v.IsString()) return "string";
  if (v.IsBool()) return "boolean";
  if (v.IsNull()) return "null";
  // 1.0 reads as an integer, as JSON Schema counts it (and no cast of a huge double to an integer).
  if (v.IsInt64() || v.IsUint64() || (std::isfinite(v.GetDouble()) && std::floor(v.GetDouble()) == v.GetDouble()))
    return "integer";
  return "number";
}

struct Reader {
  const Value& doc;
  const std::map<std::string, std::string>& rules;
  std::vector<ReadProblem> out;

  // The schemas that together describe a value: `schema` itself, with its $ref followed and its
  // allOf / anyOf / oneOf branches expanded (a field is documented when any of them documents it).
  void leaves(const Value& schema, std::vector<const Value*>& into, int depth) const {
    if (depth > kMaxDepth || into.size() >= kMaxLeaves) return;
    const Value* s = follow_refs(doc, schema, nullptr);
    // A schema reached twice (the same $ref in two branches) is described once.
    if (!s || !s->IsObject() || std::find(into.begin(), into.end(), s) != into.end()) return;
    into.push_back(s);
    for (const char* combinator : {"allOf", "anyOf", "oneOf"})
      if (const Value* list = member(*s, combinator); list && list->IsArray())
        for (const Value& branch : list->GetArray()) leaves(branch, into, depth + 1);
  }

  // The types the schemas allow; empty when none of them says (anything goes).
  static std::set<std::string> allowed_types(const std::vector<const Value*>& schemas) {
    std::set<std::string> types;
    for (const Value* s : schemas) {
      if (const Value* t = member(*s, "type")) {
        if (t->IsString()) types.insert(t->GetString());
        if (t->IsArray())
          for (const Value& e : t->GetArray())
            if (e.IsString()) types.insert(e.GetString());
      }
      if (const Value* n = member(*s, "nullable"); n && n->IsTrue()) types.insert("null");
    }
    return types;
  }

  static bool allows(const std::set<std::string>& types, const std::string& type) {
    return types.empty() || types.count(type) || (type == "integer" && types.count("number"));
  }

  void mismatch(const std::string& pointer, const std::string& path, const std::string& reads,
                const std::set<std::string>& types) {
    std::string documented;
    for (auto& t : types) documented += (documented.empty() ? "" : " or ") + t;
    out.push_back({"response-field-type-mismatch", pointer,
                   "the consumer reads " + path + " as " + reads + ", which the response schema documents as " + documented});
  }

  void walk(const Value& schema, const Value& example, const std::string& pointer, const std::string& path, int depth) {
    if (depth > kMaxDepth) return;
    std::vector<const Value*> schemas;
    leaves(schema, schemas, 0);
    if (schemas.empty()) return;  // `true`, `{}` or an unresolved $ref (reported when the schema is compiled)
    const auto types = allowed_types(schemas);
    // What the consumer relies on: the example's type, as its matching rule sharpens it.
    std::string reads = json_type(example);
    if (auto rule = rules.find(path); rule != rules.end()) {
      if (rule->second == "integer") reads = "integer";
      else if (rule->second == "decimal") reads = "number";
      else if (rule->second == "regex" || rule->second == "include") reads = "string";
    }
    const bool ok = reads == "number" ? types.empty() || types.count("number") : allows(types, reads);
    if (!ok) return mismatch(pointer, path, reads, types);

    if (example.IsObject()) {
      for (auto& [name, value] : example.GetObject()) {
        const std::string key(name.GetString(), name.GetStringLength());
        const Value* property = nullptr;
        const Value* additional = nullptr;
        for (const Value* s : schemas) {
          if (const Value* props = member(*s, "properties"); props && props->IsObject())
            if (auto it = props->FindMember(name); it != props->MemberEnd()) property = &it->value;
          if (const Value* a = member(*s, "additionalProperties"); a && a->IsObject()) additional = a;
          if (property) break;
        }
        const std::string at = pointer_append(pointer, key), field = path + "." + key;
        if (const Value* documented = property ? property : additional)
          walk(*documented, value, at, field, depth + 1);
        else
          out.push_back({"response-field-undocumented", at,
                         "the consumer reads " + field + ", which the response schema does not document"});
      }
    } else if (example.IsArray()) {
      const Value* items = nullptr;
      for (const Value* s : schemas)
        if ((items = member(*s, "items"))) break;
      if (!items) return;
      // Every element is read the same way (the rules name them "[*]"); a pact's examples are short.
      for (rapidjson::SizeType k = 0; k < example.Size(); ++k) walk(*items, example[k], pointer_append(pointer, k), path + "[*]", depth + 1);
    }
  }
};

}  // namespace

std::vector<ReadProblem> check_reads(const Value& openapi, const Value& schema, const Value& example,
                                     const std::map<std::string, std::string>& rules) {
  Reader r{openapi, rules, {}};
  r.walk(schema, example, "", "$.body", 0);
  return std::move(r.out);
}

}  // namespace roster::governance
