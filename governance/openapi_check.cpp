#include "roster/governance/openapi_check.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "roster/governance/json_document.hpp"

namespace roster::governance {
namespace {

using rapidjson::Value;

constexpr std::string_view kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
constexpr std::string_view kLocations[] = {"query", "header", "path", "cookie"};

std::string_view text(const Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

bool is_extension(std::string_view key) {
  return key.starts_with("x-");
}

// Response keys: an HTTP status code 100-599, a range 1XX-5XX, or "default".
bool is_response_key(std::string_view key) {
  if (key == "default") return true;
  if (key.size() != 3 || key[0] < '1' || key[0] > '5') return false;
  if (key.substr(1) == "XX") return true;
  return std::isdigit(static_cast<unsigned char>(key[1])) && std::isdigit(static_cast<unsigned char>(key[2]));
}

// The {names} in a path template; nullopt when the braces do not pair up or a name is empty.
std::optional<std::vector<std::string>> path_templates(std::string_view path) {
  std::vector<std::string> names;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '}') return std::nullopt;
    if (path[i] != '{') continue;
    const size_t end = path.find_first_of("{}", i + 1);
    if (end == std::string_view::npos || path[end] != '}' || end == i + 1) return std::nullopt;
    names.emplace_back(path.substr(i + 1, end - i - 1));
    i = end;
  }
  return names;
}

// The walk below recurses per level; real documents nest a few dozen levels (schemas, checked apart, bound their own).
constexpr int kMaxDepth = 256;

struct Parameter {
  std::string name, in, pointer;
};

class Checker {
 public:
  explicit Checker(const Value& doc) : doc_(doc) {}

  std::vector<SchemaProblem> run() {
    if (!doc_.IsObject()) {
      problem("", "an OpenAPI document must be an object");
      return problems_;
    }
    if (deeper_than(doc_, kMaxDepth)) {
      problem("", "document nests deeper than " + std::to_string(kMaxDepth) + " levels; not checked");
      return problems_;
    }
    check_version();
    check_info();
    check_paths();
    check_components();
    walk(doc_, "");
    // A path item, parameter or schema reached more than one way is reported once.
    std::unordered_set<std::string> seen;
    std::vector<SchemaProblem> out;
    for (auto& p : problems_)
      if (seen.insert(p.pointer + '\n' + p.message).second) out.push_back(std::move(p));
    return out;
  }

 private:
  void problem(std::string pointer, std::string message) {
    problems_.push_back({std::move(pointer), std::move(message)});
  }

  // A member that must be a string; reports it missing or mistyped. Returns it when present and a string.
  const Value* required_string(const Value& object, std::string_view key, const std::string& pointer) {
    const Value* value = member(object, key);
    const std::string at = pointer_append(pointer, key);
    if (!value)
      problem(at, "\"" + std::string(key) + "\" is required");
    else if (!value->IsString())
      problem(at, "\"" + std::string(key) + "\" must be a string");
    return value && value->IsString() ? value : nullptr;
  }

  void check_version() {
    const Value* version = required_string(doc_, "openapi", "");
    if (!version) return;
    const std::string_view v = text(*version);
    const bool numbered = v.size() > 4 && v.substr(4).find_first_not_of("0123456789") == std::string_view::npos;
    if (numbered && v.starts_with("3.1."))
      v31_ = true;
    else if (!numbered || !v.starts_with("3.0."))
      problem("/openapi", "unsupported OpenAPI version \"" + std::string(v) + "\" (expected 3.0.x or 3.1.x)");
  }

  void check_info() {
    const Value* info = member(doc_, "info");
    if (!info) return problem("/info", "\"info\" is required");
    if (!info->IsObject()) return problem("/info", "\"info\" must be an object");
    required_string(*info, "title", "/info");
    required_string(*info, "version", "/info");
  }

  void check_paths() {
    const Value* paths = member(doc_, "paths");
    if (!paths) {
      if (!v31_)
        problem("/paths", "\"paths\" is required");
      else if (!member(doc_, "webhooks") && !member(doc_, "components"))
        problem("/paths", "an OpenAPI 3.1 document needs \"paths\", \"webhooks\" or \"components\"");
    } else if (!paths->IsObject()) {
      problem("/paths", "\"paths\" must be an object");
    } else {
      for (const auto& m : paths->GetObject()) {
        const std::string_view path = text(m.name);
        if (is_extension(path)) continue;
        const std::string pointer = pointer_append("/paths", path);
        if (!path.starts_with("/")) problem(pointer, "path \"" + std::string(path) + "\" must start with \"/\"");
        const auto templates = path_templates(path);
        if (!templates) problem(pointer, "path \"" + std::string(path) + "\" has unpaired braces or an empty {}");
        check_path_item(m.value, pointer, templates ? &*templates : nullptr);
      }
    }
    if (const Value* webhooks = member(doc_, "webhooks"); webhooks && webhooks->IsObject())
      for (const auto& m : webhooks->GetObject())
        check_path_item(m.value, pointer_append("/webhooks", text(m.name)), nullptr);
  }

  // Components are checked where they are, so a problem in one is reported once however many places use it.
  void check_components() {
    const Value* components = member(doc_, "components");
    if (!components || !components->IsObject()) return;
    auto each = [&](std::string_view kind, auto&& check) {
      const Value* entries = member(*components, kind);
      if (!entries || !entries->IsObject()) return;
      for (const auto& m : entries->GetObject())
        if (!member(m.value, "$ref")) check(m.value, pointer_append(pointer_append("/components", kind), text(m.name)));
    };
    each("parameters", [&](const Value& v, const std::string& p) { check_parameter(v, p); });
    each("responses", [&](const Value& v, const std::string& p) { check_response(v, p); });
    each("requestBodies", [&](const Value& v, const std::string& p) { check_request_body(v, p); });
    each("pathItems", [&](const Value& v, const std::string& p) { check_path_item(v, p, nullptr); });
  }

  // `templates` is null where the key is no path template (webhooks, callbacks) or could not be read.
  void check_path_item(const Value& item, const std::string& pointer, const std::vector<std::string>* templates) {
    if (member(item, "$ref")) {
      // A referenced path item is checked against this path's templates; an unresolved reference is the walk's.
      std::string target_pointer;
      if (const Value* target = follow_refs(doc_, item, &target_pointer); target && target != &item)
        check_path_item(*target, target_pointer, templates);
      return;
    }
    if (!item.IsObject()) return problem(pointer, "a path item must be an object");
    const auto shared = check_parameters(member(item, "parameters"), pointer_append(pointer, "parameters"));
    if (templates) {
      for (const Parameter& p : shared)
        if (p.in == "path" && std::find(templates->begin(), templates->end(), p.name) == templates->end())
          problem(p.pointer, "path parameter \"" + p.name + "\" is not in the path template");
    }
    for (std::string_view method : kMethods) {
      const Value* operation = member(item, method);
      if (!operation) continue;
      const std::string at = pointer_append(pointer, method);
      if (!operation->IsObject())
        problem(at, "operation \"" + std::string(method) + "\" must be an object");
      else
        check_operation(*operation, at, shared, templates);
    }
  }

  void check_operation(const Value& operation, const std::string& pointer, const std::vector<Parameter>& shared,
                       const std::vector<std::string>* templates) {
    const Value* responses = member(operation, "responses");
    if (responses)
      check_responses(*responses, pointer_append(pointer, "responses"));
    else if (!v31_)  // 3.1 made responses optional
      problem(pointer_append(pointer, "responses"), "\"responses\" is required");

    const auto own = check_parameters(member(operation, "parameters"), pointer_append(pointer, "parameters"));
    if (templates) {
      for (const std::string& name : *templates) {
        auto declares = [&](const Parameter& p) { return p.in == "path" && p.name == name; };
        if (std::none_of(own.begin(), own.end(), declares) && std::none_of(shared.begin(), shared.end(), declares))
          problem(pointer, "path template {" + name +
                               "} has no path parameter (\"in\": \"path\") on the operation "
                               "or its path item");
      }
      for (const Parameter& p : own)
        if (p.in == "path" && std::find(templates->begin(), templates->end(), p.name) == templates->end())
          problem(p.pointer, "path parameter \"" + p.name + "\" is not in the path template");
    }

    if (const Value* body = member(operation, "requestBody"))
      check_request_body(*body, pointer_append(pointer, "requestBody"));

    if (const Value* id = member(operation, "operationId")) {
      const std::string at = pointer_append(pointer, "operationId");
      if (!id->IsString()) {
        problem(at, "\"operationId\" must be a string");
      } else if (auto [first, added] = operation_ids_.emplace(std::string(text(*id)), at);
                 !added && first->second != at) {  // the same operation reached twice (a referenced path item)
        problem(at, "operationId \"" + first->first + "\" is already used at " + first->second);
      }
    }

    // Callbacks hold path items keyed by runtime expressions, not path templates.
    if (const Value* callbacks = member(operation, "callbacks"); callbacks && callbacks->IsObject()) {
      for (const auto& callback : callbacks->GetObject()) {
        if (!callback.value.IsObject() || member(callback.value, "$ref")) continue;
        const std::string at = pointer_append(pointer_append(pointer, "callbacks"), text(callback.name));
        for (const auto& m : callback.value.GetObject())
          if (!is_extension(text(m.name))) check_path_item(m.value, pointer_append(at, text(m.name)), nullptr);
      }
    }
  }

  void check_responses(const Value& responses, const std::string& pointer) {
    if (!responses.IsObject()) return problem(pointer, "\"responses\" must be an object");
    size_t count = 0;
    for (const auto& m : responses.GetObject()) {
      const std::string_view key = text(m.name);
      if (is_extension(key)) continue;
      ++count;
      const std::string at = pointer_append(pointer, key);
      if (!is_response_key(key))
        problem(at, "\"" + std::string(key) + "\" is not a response code (100-599, 1XX-5XX or default)");
      if (!member(m.value, "$ref")) check_response(m.value, at);
    }
    if (count == 0) problem(pointer, "\"responses\" must declare at least one response");
  }

  void check_response(const Value& response, const std::string& pointer) {
    if (!response.IsObject()) return problem(pointer, "a response must be an object");
    required_string(response, "description", pointer);
  }

  void check_request_body(const Value& body, const std::string& pointer) {
    if (member(body, "$ref")) return;
    if (!body.IsObject()) return problem(pointer, "\"requestBody\" must be an object");
    const Value* content = member(body, "content");
    if (!content)
      problem(pointer_append(pointer, "content"), "\"content\" is required");
    else if (!content->IsObject())
      problem(pointer_append(pointer, "content"), "\"content\" must be an object");
  }

  // The parameters of one list, with their (name, in) for the template and duplicate checks; references followed.
  std::vector<Parameter> check_parameters(const Value* list, const std::string& pointer) {
    std::vector<Parameter> out;
    if (!list) return out;
    if (!list->IsArray()) {
      problem(pointer, "\"parameters\" must be a list");
      return out;
    }
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      const Value& entry = (*list)[i];
      const std::string at = pointer_append(pointer, static_cast<size_t>(i));
      const Value* parameter = &entry;
      if (member(entry, "$ref")) {
        parameter = follow_refs(doc_, entry);  // checked where it is; an unresolved one is the walk's problem
        if (!parameter) continue;
      } else {
        check_parameter(entry, at);
      }
      const Value* name = member(*parameter, "name");
      const Value* in = member(*parameter, "in");
      if (!name || !name->IsString() || !in || !in->IsString()) continue;
      Parameter p{std::string(text(*name)), std::string(text(*in)), at};
      const auto same =
          std::find_if(out.begin(), out.end(), [&](const Parameter& q) { return q.name == p.name && q.in == p.in; });
      if (same != out.end())
        problem(at, "parameter \"" + p.name + "\" in " + p.in + " is already declared at " + same->pointer);
      else
        out.push_back(std::move(p));
    }
    return out;
  }

  void check_parameter(const Value& parameter, const std::string& pointer) {
    if (!parameter.IsObject()) return problem(pointer, "a parameter must be an object");
    required_string(parameter, "name", pointer);
    if (const Value* in = required_string(parameter, "in", pointer)) {
      if (std::find(std::begin(kLocations), std::end(kLocations), text(*in)) == std::end(kLocations))
        problem(pointer_append(pointer, "in"), "\"in\" must be query, header, path or cookie");
      const Value* required = member(parameter, "required");
      if (text(*in) == "path" && (!required || !required->IsTrue()))
        problem(pointer_append(pointer, "required"), "a path parameter must have \"required\": true");
    }
    const bool schema = member(parameter, "schema"), content = member(parameter, "content");
    if (schema == content)
      problem(pointer, schema ? "a parameter has \"schema\" or \"content\", not both"
                              : "a parameter needs \"schema\" or \"content\"");
  }

  // ---- References and schemas, wherever they are ------------------------------------------------------------

  void check_reference(const Value& object, const std::string& pointer) {
    const Value* ref = member(object, "$ref");
    if (!ref) return;
    const std::string at = pointer_append(pointer, "$ref");
    if (!ref->IsString()) return problem(at, "\"$ref\" must be a string");
    const std::string quoted = "\"" + std::string(text(*ref)) + "\"";
    if (!text(*ref).starts_with("#"))
      problem(at, "remote reference " + quoted + " is not fetched: only local references (\"#/...\") are supported");
    else if (!resolve_local_ref(doc_, text(*ref)))
      problem(at, "reference " + quoted + " does not resolve inside the document");
    else if (!follow_refs(doc_, object))
      problem(at, "reference " + quoted + " starts a chain of references that loops or does not resolve");
  }

  void check_schema(const Value& schema, const std::string& pointer) {
    auto found = check_json_schema(doc_, schema, pointer);
    problems_.insert(problems_.end(), std::make_move_iterator(found.begin()), std::make_move_iterator(found.end()));
  }

  // Members whose keys are names (of paths, headers, media types, components...), not OpenAPI fields; `extensions`
  // says whether "x-" keys there are extensions rather than names.
  void walk_named(const Value& map, const std::string& pointer, bool extensions) {
    if (!map.IsObject()) return;
    for (const auto& m : map.GetObject()) {
      if (extensions && is_extension(text(m.name))) continue;
      walk(m.value, pointer_append(pointer, text(m.name)));
    }
  }

  // Reference Objects only: the rest of an example or a link is data.
  void walk_references(const Value& map, const std::string& pointer) {
    if (!map.IsObject()) return;
    for (const auto& m : map.GetObject()) check_reference(m.value, pointer_append(pointer, text(m.name)));
  }

  // Callbacks by name, each a reference or path items keyed by runtime expressions.
  void walk_callbacks(const Value& callbacks, const std::string& pointer) {
    if (!callbacks.IsObject()) return;
    for (const auto& callback : callbacks.GetObject()) {
      const std::string at = pointer_append(pointer, text(callback.name));
      check_reference(callback.value, at);
      if (!member(callback.value, "$ref")) walk_named(callback.value, at, true);
    }
  }

  // Walks an OpenAPI object (fixed field names) for "$ref"s and schemas.
  void walk(const Value& value, const std::string& pointer) {
    if (value.IsArray()) {
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i)
        walk(value[i], pointer_append(pointer, static_cast<size_t>(i)));
      return;
    }
    if (!value.IsObject()) return;
    check_reference(value, pointer);
    for (const auto& m : value.GetObject()) {
      const std::string_view key = text(m.name);
      const std::string at = pointer_append(pointer, key);
      if (is_extension(key) || key == "$ref" || key == "example" || key == "security") continue;
      if (key == "schema") {
        check_schema(m.value, at);
      } else if (key == "examples" || key == "links") {
        walk_references(m.value, at);
      } else if (key == "paths" || key == "responses") {
        walk_named(m.value, at, true);
      } else if (key == "webhooks" || key == "headers" || key == "content" || key == "encoding" || key == "variables") {
        walk_named(m.value, at, false);
      } else if (key == "callbacks") {
        walk_callbacks(m.value, at);
      } else if (key == "components" && pointer.empty() && m.value.IsObject()) {
        for (const auto& kind : m.value.GetObject()) {
          const std::string_view name = text(kind.name);
          const std::string kind_at = pointer_append(at, name);
          if (is_extension(name)) continue;
          if (name == "schemas") {
            if (kind.value.IsObject())
              for (const auto& s : kind.value.GetObject()) check_schema(s.value, pointer_append(kind_at, text(s.name)));
          } else if (name == "examples" || name == "links") {
            walk_references(kind.value, kind_at);
          } else if (name == "callbacks") {
            walk_callbacks(kind.value, kind_at);
          } else {
            walk_named(kind.value, kind_at, false);
          }
        }
      } else {
        walk(m.value, at);
      }
    }
  }

  const Value& doc_;
  bool v31_ = false;
  std::vector<SchemaProblem> problems_;
  std::map<std::string, std::string> operation_ids_;  // operationId -> pointer of its first use
};

}  // namespace

std::vector<SchemaProblem> check_openapi(const Value& doc) {
  return Checker(doc).run();
}

}  // namespace roster::governance
