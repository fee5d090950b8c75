#include "roster/governance/json_schema.hpp"

#include <pthread.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <regex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "roster/base/percent.hpp"
#include "roster/governance/json_document.hpp"

// Without exceptions valijson calls abort() on a schema it cannot parse; roster turns those into problems.
#ifndef VALIJSON_USE_EXCEPTIONS
#define VALIJSON_USE_EXCEPTIONS 1
#endif
#if !VALIJSON_USE_EXCEPTIONS
#error "roster needs valijson built with VALIJSON_USE_EXCEPTIONS=1"
#endif
// RapidJSON is already in (json_schema.hpp) with its usual assert, as in every other roster translation unit, and
// stays so: valijson's throwing RAPIDJSON_ASSERT would make RapidJSON's inline functions differ between them. Hiding
// the macro while valijson's adapter loads only spares its warning; the RapidJSON code it guards is already parsed.
#pragma push_macro("RAPIDJSON_ASSERT")
#undef RAPIDJSON_ASSERT
#include <valijson/adapters/rapidjson_adapter.hpp>
#pragma pop_macro("RAPIDJSON_ASSERT")
#include <valijson/constraint_builder.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validation_visitor.hpp>

namespace roster::governance {
namespace {

using rapidjson::Value;

// The draft-07 metaschema (http://json-schema.org/draft-07/schema#), verbatim.
constexpr std::string_view kDraft07Metaschema = R"json({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "http://json-schema.org/draft-07/schema#",
  "title": "Core schema meta-schema",
  "definitions": {
    "schemaArray": {"type": "array", "minItems": 1, "items": {"$ref": "#"}},
    "nonNegativeInteger": {"type": "integer", "minimum": 0},
    "nonNegativeIntegerDefault0": {"allOf": [{"$ref": "#/definitions/nonNegativeInteger"}, {"default": 0}]},
    "simpleTypes": {"enum": ["array", "boolean", "integer", "null", "number", "object", "string"]},
    "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "default": []}
  },
  "type": ["object", "boolean"],
  "properties": {
    "$id": {"type": "string", "format": "uri-reference"},
    "$schema": {"type": "string", "format": "uri"},
    "$ref": {"type": "string", "format": "uri-reference"},
    "$comment": {"type": "string"},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "default": true,
    "readOnly": {"type": "boolean", "default": false},
    "examples": {"type": "array", "items": true},
    "multipleOf": {"type": "number", "exclusiveMinimum": 0},
    "maximum": {"type": "number"},
    "exclusiveMaximum": {"type": "number"},
    "minimum": {"type": "number"},
    "exclusiveMinimum": {"type": "number"},
    "maxLength": {"$ref": "#/definitions/nonNegativeInteger"},
    "minLength": {"$ref": "#/definitions/nonNegativeIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "additionalItems": {"$ref": "#"},
    "items": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/schemaArray"}], "default": true},
    "maxItems": {"$ref": "#/definitions/nonNegativeInteger"},
    "minItems": {"$ref": "#/definitions/nonNegativeIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": false},
    "contains": {"$ref": "#"},
    "maxProperties": {"$ref": "#/definitions/nonNegativeInteger"},
    "minProperties": {"$ref": "#/definitions/nonNegativeIntegerDefault0"},
    "required": {"$ref": "#/definitions/stringArray"},
    "additionalProperties": {"$ref": "#"},
    "definitions": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "properties": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "patternProperties": {
      "type": "object", "additionalProperties": {"$ref": "#"}, "propertyNames": {"format": "regex"}, "default": {}
    },
    "dependencies": {
      "type": "object", "additionalProperties": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/stringArray"}]}
    },
    "propertyNames": {"$ref": "#"},
    "const": true,
    "enum": {"type": "array", "items": true},
    "type": {
      "anyOf": [
        {"$ref": "#/definitions/simpleTypes"},
        {"type": "array", "items": {"$ref": "#/definitions/simpleTypes"}, "minItems": 1, "uniqueItems": true}
      ]
    },
    "format": {"type": "string"},
    "contentMediaType": {"type": "string"},
    "contentEncoding": {"type": "string"},
    "if": {"$ref": "#"},
    "then": {"$ref": "#"},
    "else": {"$ref": "#"},
    "allOf": {"$ref": "#/definitions/schemaArray"},
    "anyOf": {"$ref": "#/definitions/schemaArray"},
    "oneOf": {"$ref": "#/definitions/schemaArray"},
    "not": {"$ref": "#"}
  },
  "default": true
})json";

// valijson recurses once per instance level and per schema applied to it (about 0.2 KiB each when validating,
// measured). These bounds keep validating and checking under about 1 MiB of stack in an optimised build, so a
// hostile document fails with a problem instead of a crash.
constexpr int kMaxJsonDepth = 128;    // nesting of an instance, or of a schema checked against the metaschema
constexpr int kMaxInPlaceChain = 32;  // schemas applied to one value in a row: allOf/anyOf/oneOf/not/if/$ref...
// Compiling recurses along the longest chain of schemas and $refs, which in a large OpenAPI document runs through
// thousands of schemas at about 1.3 KiB each; so compilation gets a thread of its own with a large stack (address
// space, touched only as used), and the chain is bounded well inside it.
constexpr int kMaxSchemaDepth = 10000;
constexpr size_t kCompileStackBytes = size_t{256} << 20;
// patternProperties regexes run in valijson with std::regex's backtracking matcher, which recurses per character.
constexpr size_t kMaxPatternPropertyName = 256;
// std::regex compiles bounded repeats by copying states, and parses recursively (a frame per character and per
// group); bound both so that a pattern cannot exhaust memory or the stack.
constexpr size_t kMaxRegexStates = 20000;
constexpr size_t kMaxRegexLength = 2048;

// "format" is handed to valijson under this name so that our constraint (not valijson's) checks it.
constexpr const char* kFormatKeyword = "$roster:format";
constexpr std::string_view kEntryUri = "urn:roster:document";

std::string depth_message(int limit) {
  return "nests deeper than " + std::to_string(limit) + " levels";
}

// ---- JSON Pointers and references -------------------------------------------------------------------------------

// The reference tokens of a JSON Pointer ("/a~1b/0" -> "a/b", "0"); nullopt when it is not one.
std::optional<std::vector<std::string>> pointer_tokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') return std::nullopt;
  size_t start = 1;
  for (;;) {
    const size_t end = pointer.find('/', start);
    const std::string_view raw = pointer.substr(start, end == std::string_view::npos ? end : end - start);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token += raw[i];
        continue;
      }
      if (i + 1 == raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1')) return std::nullopt;
      token += raw[++i] == '0' ? '~' : '/';
    }
    tokens.push_back(std::move(token));
    if (end == std::string_view::npos) return tokens;
    start = end + 1;
  }
}

std::optional<rapidjson::SizeType> array_index(const std::string& token) {
  if (token.empty() || token.size() > 9 || token.find_first_not_of("0123456789") != std::string::npos ||
      (token.size() > 1 && token[0] == '0'))
    return std::nullopt;
  return static_cast<rapidjson::SizeType>(std::stoul(token));
}

template <class V>
V* resolve_tokens(V& root, const std::vector<std::string>& tokens) {
  V* at = &root;
  for (const std::string& token : tokens) {
    if (at->IsObject()) {
      auto it = at->FindMember(token);
      if (it == at->MemberEnd()) return nullptr;
      at = &it->value;
    } else if (at->IsArray()) {
      const auto index = array_index(token);
      if (!index || *index >= at->Size()) return nullptr;
      at = &(*at)[*index];
    } else {
      return nullptr;
    }
  }
  return at;
}

// A location as a "$ref" valijson reads back exactly: it unescapes ~ and then %XX, so only '%' needs encoding.
std::string ref_to(std::string_view location) {
  std::string out = "#";
  for (char c : location) {
    if (c == '%')
      out += "%25";
    else
      out += c;
  }
  return out;
}

struct RefTarget {
  const Value* value = nullptr;
  std::string location;  // JSON Pointer of the target inside the root
};

// The schema a "$ref" names; an error (a schema problem) when it cannot be followed.
Result<RefTarget> resolve_ref(const Value& root, std::string_view ref) {
  const std::string quoted = "\"" + std::string(ref) + "\"";
  auto refuse = [](std::string message) { return fail(ErrorKind::Rejected, "invalid_reference", std::move(message)); };
  if (ref.empty() || ref[0] != '#')
    return refuse("remote reference " + quoted + " is not fetched: only local references (\"#/...\") are supported");
  const auto pointer = base::percent_decode(ref.substr(1), {.allow_nul = true});  // a JSON key may hold NUL
  if (!pointer) return refuse("reference " + quoted + " is not a valid URI fragment");
  const auto tokens = pointer_tokens(*pointer);
  if (!tokens) return refuse("reference " + quoted + " is not a JSON Pointer (plain-name fragments are not supported)");
  RefTarget out;
  out.value = resolve_tokens(root, *tokens);
  if (!out.value) return refuse("reference " + quoted + " does not resolve inside the document");
  if (!out.value->IsObject() && !out.value->IsBool())
    return refuse("reference " + quoted + " points at a " + (out.value->IsArray() ? "list" : "scalar") +
                  ", not a schema");
  for (const std::string& token : *tokens) out.location = pointer_append(out.location, token);
  return out;
}

// ---- Schema structure -------------------------------------------------------------------------------------------

// How a keyword's subschemas apply: to the same value (a loop among these never ends), to parts of it, or not at all.
enum class Applies { InPlace, ToParts, Never };
enum class Shape { One, List, Map };

struct Keyword {
  std::string_view name;
  Shape shape;
  Applies applies;
};

// The draft-07 keywords holding subschemas, plus 2019-09's "$defs" (OpenAPI 3.1 documents use it for definitions).
constexpr Keyword kSubschemaKeywords[] = {
    {"additionalItems", Shape::One, Applies::ToParts},
    {"additionalProperties", Shape::One, Applies::ToParts},
    {"contains", Shape::One, Applies::ToParts},
    {"propertyNames", Shape::One, Applies::ToParts},
    {"items", Shape::One, Applies::ToParts},
    {"not", Shape::One, Applies::InPlace},
    {"if", Shape::One, Applies::InPlace},
    {"then", Shape::One, Applies::InPlace},
    {"else", Shape::One, Applies::InPlace},
    {"allOf", Shape::List, Applies::InPlace},
    {"anyOf", Shape::List, Applies::InPlace},
    {"oneOf", Shape::List, Applies::InPlace},
    {"properties", Shape::Map, Applies::ToParts},
    {"patternProperties", Shape::Map, Applies::ToParts},
    {"dependencies", Shape::Map, Applies::InPlace},
    {"definitions", Shape::Map, Applies::Never},
    {"$defs", Shape::Map, Applies::Never},
};

// Calls visit(child, suffix, applies) for every object subschema `schema` holds directly; `suffix` is the child's
// pointer relative to `schema`. Boolean subschemas need no work and malformed ones are the metaschema's business.
template <class V, class F>
void for_each_subschema(V& schema, F&& visit) {
  if (!schema.IsObject()) return;
  for (auto& member : schema.GetObject()) {
    const std::string_view key(member.name.GetString(), member.name.GetStringLength());
    const auto keyword = std::find_if(std::begin(kSubschemaKeywords), std::end(kSubschemaKeywords),
                                      [&](const Keyword& k) { return k.name == key; });
    if (keyword == std::end(kSubschemaKeywords)) continue;
    const std::string base = pointer_append("", key);
    auto& value = member.value;
    const Shape shape = key == "items" && value.IsArray() ? Shape::List : keyword->shape;
    if (shape == Shape::One) {
      if (value.IsObject()) visit(value, base, keyword->applies);
    } else if (shape == Shape::List) {
      if (!value.IsArray()) continue;
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i)
        if (value[i].IsObject()) visit(value[i], pointer_append(base, i), keyword->applies);
    } else if (value.IsObject()) {
      for (auto& entry : value.GetObject())
        if (entry.value.IsObject())
          visit(entry.value, pointer_append(base, {entry.name.GetString(), entry.name.GetStringLength()}),
                keyword->applies);
    }
  }
}

// ---- Regular expressions ----------------------------------------------------------------------------------------

// A rough count of the states std::regex builds: bounded repeats copy their operand, so "(a{1000}){1000}" is 1e6.
size_t regex_states(std::string_view pattern) {
  std::vector<size_t> group_sizes{0};  // one running total per open group
  size_t last_atom = 0;                // size of the atom a following quantifier repeats
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
      last_atom = 1;
    } else if (c == '[') {
      while (++i < pattern.size() && pattern[i] != ']')
        if (pattern[i] == '\\') ++i;
      last_atom = 1;
    } else if (c == '(') {
      group_sizes.push_back(0);
      continue;
    } else if (c == ')') {
      if (group_sizes.size() == 1) return SIZE_MAX;  // unbalanced; std::regex rejects it anyway
      last_atom = group_sizes.back() + 1;
      group_sizes.pop_back();
    } else if (c == '{') {
      size_t bound = 0, number = 0, j = i + 1;
      for (; j < pattern.size() && (std::isdigit(static_cast<unsigned char>(pattern[j])) || pattern[j] == ','); ++j) {
        number = pattern[j] == ',' ? 0 : std::min<size_t>(number * 10 + (pattern[j] - '0'), kMaxRegexStates + 1);
        bound = std::max(bound, number);
      }
      if (j < pattern.size() && pattern[j] == '}') {
        const size_t repeated = last_atom * std::max<size_t>(bound, 1);
        group_sizes.back() += repeated - std::min(repeated, last_atom);
        if (group_sizes.back() > kMaxRegexStates) return group_sizes.back();
        i = j;
        continue;
      }
      last_atom = 1;
    } else {
      last_atom = 1;
    }
    group_sizes.back() += last_atom;
    if (group_sizes.back() > kMaxRegexStates) return group_sizes.back();
  }
  return group_sizes.front();
}

// Compiles a "pattern", when `polynomial` for matching in polynomial time: libstdc++'s default matcher backtracks and
// recurses once per character, so a long string would overflow the stack. An error (a schema problem) when it cannot.
Result<std::regex> compile_pattern(const std::string& pattern, bool polynomial) {
  auto refuse = [](std::string message) { return fail(ErrorKind::Rejected, "invalid_pattern", std::move(message)); };
  if (pattern.size() > kMaxRegexLength)
    return refuse("regular expression is longer than " + std::to_string(kMaxRegexLength) + " characters");
  if (regex_states(pattern) > kMaxRegexStates)
    return refuse("regular expression is too large (more than " + std::to_string(kMaxRegexStates) + " states)");
  // std::regex reports a pattern it refuses only by throwing; that stops here.
  try {
    auto flags = std::regex::ECMAScript;
    if (polynomial) flags |= std::regex_constants::__polynomial;
    return std::regex(pattern, flags);
  } catch (const std::regex_error& e) {
    if (polynomial && e.code() == std::regex_constants::error_complexity)
      return refuse("regular expression uses back-references, which roster cannot match in bounded time");
    return refuse(std::string("not a valid regular expression: ") + e.what());
  }
}

// ---- Formats ----------------------------------------------------------------------------------------------------

bool digits(std::string_view s, size_t at, size_t n, int* value) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}

// RFC 3339 full-date: YYYY-MM-DD, a real day of that month.
bool is_date(std::string_view s) {
  int year, month, day;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 0, 4, &year) || !digits(s, 5, 2, &month) ||
      !digits(s, 8, 2, &day) || month < 1 || month > 12 || day < 1)
    return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

// RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM), leap second allowed.
bool is_time(std::string_view s) {
  int h, m, sec;
  if (s.size() < 9 || s[2] != ':' || s[5] != ':' || !digits(s, 0, 2, &h) || !digits(s, 3, 2, &m) ||
      !digits(s, 6, 2, &sec) || h > 23 || m > 59 || sec > 60)
    return false;
  size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    const size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  const std::string_view zone = s.substr(i);
  if (zone == "Z" || zone == "z") return true;
  int zh, zm;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' && digits(zone, 1, 2, &zh) &&
         digits(zone, 4, 2, &zm) && zh <= 23 && zm <= 59;
}

bool is_date_time(std::string_view s) {
  return s.size() > 11 && (s[10] == 'T' || s[10] == 't') && is_date(s.substr(0, 10)) && is_time(s.substr(11));
}

// "format" for date, time and date-time, as valijson asserts them, without its backtracking regexes (a long string
// would overflow the stack) and without its habit of reading non-strings as strings. Other formats are annotations.
class FormatAssertion : public valijson::constraints::PolyConstraint {
 public:
  explicit FormatAssertion(std::string format) : format_(std::move(format)) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    std::string value;
    if (!target.isString() || !target.getString(value)) return true;
    bool ok = true;
    if (format_ == "date")
      ok = is_date(value);
    else if (format_ == "time")
      ok = is_time(value);
    else if (format_ == "date-time")
      ok = is_date_time(value);
    if (!ok && results) results->pushError(context, "String is not a valid " + format_ + " (RFC 3339).");
    return ok;
  }

 private:
  valijson::constraints::Constraint* cloneInto(void* memory) const override {
    return new (memory) FormatAssertion(*this);
  }
  size_t sizeOf() const override { return sizeof(FormatAssertion); }

  std::string format_;
};

class FormatBuilder : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& node) const override {
    std::string format;
    node.getString(format);
    return new FormatAssertion(std::move(format));
  }
};

// ---- Analysis: everything reachable from a schema, and what is wrong with it ------------------------------------

// Whether `location` is `outer` or inside it.
bool within(std::string_view location, std::string_view outer) {
  return location.starts_with(outer) && (location.size() == outer.size() || location[outer.size()] == '/');
}

struct Analysis {
  std::vector<SchemaProblem> problems;  // inside the schema, or loops its own "$ref"s lead into
  std::vector<SchemaProblem> beyond;    // in the schemas its "$ref"s reach, at their own locations
  // (location holding "$ref", target location); no target for one leaving the schema when only it is analysed
  std::vector<std::pair<std::string, std::optional<std::string>>> refs;
  std::vector<std::string> roots;                       // the entry and every $ref target it takes along
  std::unordered_map<std::string, std::regex> regexes;  // "pattern"s, compiled for polynomial matching
  bool has_pattern_properties = false;
};

// Walks the schema at `entry_location` and, when `whole`, everything its $refs reach (what compiling it takes); else
// beyond the schema only what is applied to the same value, to find loops. Problems inside the schema are reported at
// base_pointer + their path inside it; a loop closed beyond the schema, at the "$ref" in it that leads there.
Analysis analyse(const Value& root, const std::string& entry_location, std::string_view base_pointer, bool whole) {
  Analysis out;
  const Value* entry = resolve_tokens(root, *pointer_tokens(entry_location));
  auto inside = [&](const std::string& location) { return within(location, entry_location); };

  struct Edge {
    size_t to;
    std::string pointer;   // where the keyword or "$ref" is written, as reported
    std::string location;  // ... and where it really is
  };
  struct Item {
    const Value* value;
    std::string location;
    std::string blame;  // the "$ref" in the schema through which a node beyond it was reached
    int depth;
    std::optional<size_t> from;  // the node applying this one to the same value, for loop detection
    std::string edge_pointer, edge_location;
  };
  std::vector<std::vector<Edge>> in_place;  // per node reached
  std::unordered_map<const Value*, size_t> index;
  std::vector<Item> stack{{entry, entry_location, std::string(base_pointer), 0, std::nullopt, {}, {}}};

  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    auto [known, added] = index.emplace(item.value, in_place.size());
    const size_t id = known->second;
    if (item.from) in_place[*item.from].push_back({id, item.edge_pointer, item.edge_location});
    if (!added) continue;
    in_place.emplace_back();

    const bool in = inside(item.location);
    const bool loops_only = !in && !whole;  // another schema's business but for loops through it
    const std::string here = in ? std::string(base_pointer) + item.location.substr(entry_location.size()) : item.blame;
    auto at = [&](std::string_view suffix) { return in ? here + std::string(suffix) : here; };
    auto report = [&](std::string_view suffix, std::string message) {
      (in ? out.problems : out.beyond).push_back({in ? at(suffix) : item.location + std::string(suffix), message});
    };
    if (item.depth > kMaxSchemaDepth) {
      if (!loops_only) report("", "schema " + depth_message(kMaxSchemaDepth) + " (counting $refs)");
      continue;
    }

    std::vector<Item> next;  // what this node leads to, in document order
    const Value* ref = member(*item.value, "$ref");
    if (ref && ref->IsString()) {
      const auto target = resolve_ref(root, {ref->GetString(), ref->GetStringLength()});
      if (!target) {
        if (!loops_only) report("/$ref", target.error().message);
      } else {
        if (!loops_only) {
          const bool taken = whole || inside(target->location);
          out.refs.emplace_back(item.location, taken ? std::optional(target->location) : std::nullopt);
          if (taken) out.roots.push_back(target->location);
        }
        if (target->value->IsObject())
          next.push_back(
              {target->value, target->location, at("/$ref"), item.depth + 1, id, at("/$ref"), item.location + "/$ref"});
      }
    }
    if (loops_only) {
      for_each_subschema(*item.value, [&](const Value& child, const std::string& suffix, Applies applies) {
        if (applies == Applies::InPlace && !(ref && ref->IsString()))
          next.push_back({&child, item.location + suffix, here, item.depth + 1, id, here, item.location + suffix});
      });
      stack.insert(stack.end(), std::make_move_iterator(next.rbegin()), std::make_move_iterator(next.rend()));
      continue;
    }
    if (const Value* pattern = member(*item.value, "pattern"); pattern && pattern->IsString()) {
      const std::string text(pattern->GetString(), pattern->GetStringLength());
      if (auto re = compile_pattern(text, true); !re)
        report("/pattern", re.error().message);
      else
        out.regexes.emplace(text, std::move(*re));
    }
    if (const Value* patterns = member(*item.value, "patternProperties"); patterns && patterns->IsObject()) {
      out.has_pattern_properties = true;
      for (const auto& m : patterns->GetObject()) {
        const std::string text(m.name.GetString(), m.name.GetStringLength());
        if (auto re = compile_pattern(text, false); !re)
          report(pointer_append("/patternProperties", text), re.error().message);
      }
    }
    // valijson ignores the siblings of "$ref" (as draft-07 says), so they apply nothing in place; still check them.
    const bool applies_siblings = !(ref && ref->IsString());
    for_each_subschema(*item.value, [&](const Value& child, const std::string& suffix, Applies applies) {
      const bool same_value = applies_siblings && applies == Applies::InPlace;
      next.push_back({&child, item.location + suffix, here, item.depth + 1,
                      same_value ? std::optional(id) : std::nullopt, at(suffix), item.location + suffix});
    });
    stack.insert(stack.end(), std::make_move_iterator(next.rbegin()), std::make_move_iterator(next.rend()));
  }

  // A loop of schemas applied to the same value (A = allOf[$ref A]) makes valijson recurse until the stack ends.
  std::vector<int> state(in_place.size(), 0);  // 0 new, 1 on the current path, 2 done
  std::vector<int> chain(in_place.size(), 1);  // longest run of in-place applications starting here
  bool looped = false;
  for (size_t start = 0; start < in_place.size(); ++start) {
    if (state[start]) continue;
    std::vector<std::pair<size_t, size_t>> path{{start, 0}};  // (node, next edge)
    state[start] = 1;
    while (!path.empty()) {
      const size_t node = path.back().first;
      if (path.back().second == in_place[node].size()) {
        for (const Edge& edge : in_place[node]) chain[node] = std::max(chain[node], chain[edge.to] + 1);
        state[node] = 2;
        path.pop_back();
        continue;
      }
      const Edge& edge = in_place[node][path.back().second++];
      if (state[edge.to] == 1) {
        looped = true;
        std::string message =
            "schema applies itself to the same value again (through $ref, allOf, anyOf, oneOf, "
            "not, if/then/else or dependencies), so validation would never end";
        if (!inside(edge.location)) message += "; the loop closes at " + edge.location;
        out.problems.push_back({edge.pointer, message});
      } else if (state[edge.to] == 0) {
        state[edge.to] = 1;
        path.emplace_back(edge.to, 0);
      }
    }
  }
  if (!looped && !chain.empty() && *std::max_element(chain.begin(), chain.end()) > kMaxInPlaceChain)
    out.problems.push_back({std::string(base_pointer), "more than " + std::to_string(kMaxInPlaceChain) +
                                                           " schemas apply to one value in a row ($ref, allOf, ...)"});
  out.roots.push_back(entry_location);
  std::sort(out.roots.begin(), out.roots.end());
  out.roots.erase(std::unique(out.roots.begin(), out.roots.end()), out.roots.end());
  return out;
}

// The locations not inside another of them (`sorted` is, so each one's insides follow it).
std::vector<std::string> outermost(const std::vector<std::string>& sorted) {
  std::vector<std::string> out;
  for (const std::string& location : sorted)
    if (out.empty() || !within(location, out.back())) out.push_back(location);
  return out;
}

// ---- Compilation ------------------------------------------------------------------------------------------------

// A document holding copies of the given subtrees of `root` at their own locations, and nothing else: valijson
// resolves "#/..." against it exactly as against `root`, without copying a whole OpenAPI document per schema.
rapidjson::Document skeleton_of(const Value& root, const std::vector<std::string>& locations) {
  rapidjson::Document doc;
  auto& alloc = doc.GetAllocator();
  for (const std::string& location : outermost(locations)) {
    const Value* from = &root;
    Value* to = &doc;
    const auto tokens = pointer_tokens(location);
    for (const std::string& token : *tokens) {
      if (from->IsObject()) {
        if (!to->IsObject()) to->SetObject();
        from = &from->FindMember(token)->value;
        auto it = to->FindMember(token);
        if (it == to->MemberEnd()) {
          to->AddMember(Value(token, alloc), Value(), alloc);
          it = to->MemberEnd() - 1;
        }
        to = &it->value;
      } else {
        const rapidjson::SizeType index = *array_index(token);
        if (!to->IsArray()) to->SetArray();
        while (to->Size() <= index) to->PushBack(Value(), alloc);
        from = &(*from)[index];
        to = &(*to)[index];
      }
    }
    to->CopyFrom(*from, alloc);
  }
  return doc;
}

// Runs `populate` (valijson parsing a schema) on a thread with a kCompileStackBytes stack. valijson throws on a
// schema it cannot read (VALIJSON_USE_EXCEPTIONS): that stops here, as an error. Anything else thrown is a bug, and
// is rethrown.
Result<void> populate_with_big_stack(const std::function<void()>& populate) {
  struct Task {
    const std::function<void()>* populate;
    Result<void> result;
    std::exception_ptr bug;
  } task{&populate, {}, nullptr};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, kCompileStackBytes);
  pthread_t thread;
  const int failed = pthread_create(
      &thread, &attr,
      [](void* argument) -> void* {
        auto* t = static_cast<Task*>(argument);
        try {
          (*t->populate)();
        } catch (const std::exception& e) {
          t->result =
              fail(ErrorKind::Rejected, "invalid_schema", std::string("schema cannot be compiled: ") + e.what());
        } catch (...) {
          t->bug = std::current_exception();
        }
        return nullptr;
      },
      &task);
  pthread_attr_destroy(&attr);
  if (failed)
    return fail(ErrorKind::Unavailable, "no_compile_thread",
                "schema cannot be compiled: no thread to compile on: " + std::string(std::strerror(failed)));
  pthread_join(thread, nullptr);
  if (task.bug) std::rethrow_exception(task.bug);
  return task.result;
}

// Rewrites one schema object into what valijson reads as roster means it.
void normalise(Value& schema, bool openapi30, rapidjson::Document::AllocatorType& alloc) {
  // valijson reads draft-3/4's "id" and "divisibleBy" even in draft-07, where they are unknown keywords.
  schema.RemoveMember("id");
  schema.RemoveMember("divisibleBy");
  schema.RemoveMember(kFormatKeyword);
  if (auto it = schema.FindMember("format"); it != schema.MemberEnd() && it->value.IsString())
    it->name.SetString(rapidjson::StringRef(kFormatKeyword));
  // OpenAPI 3.0: nullable adds "null" to an explicit type (3.0.3 clarified that it does nothing without one).
  // Honoured everywhere: draft-07 does not know the keyword, so only an OpenAPI author would write it.
  const Value* nullable = member(schema, "nullable");
  if (auto type = schema.FindMember("type"); nullable && nullable->IsTrue() && type != schema.MemberEnd()) {
    if (type->value.IsString() && std::string_view(type->value.GetString()) != "null") {
      Value types(rapidjson::kArrayType);
      types.PushBack(type->value, alloc).PushBack("null", alloc);
      type->value = types;
    } else if (type->value.IsArray() &&
               std::none_of(type->value.Begin(), type->value.End(), [](const Value& t) { return t == "null"; })) {
      type->value.PushBack("null", alloc);
    }
  }
  if (openapi30) {
    // OpenAPI 3.0 keeps draft-04's boolean exclusiveMinimum/exclusiveMaximum, which modify minimum/maximum.
    for (auto [exclusive, bound] :
         {std::pair{"exclusiveMinimum", "minimum"}, std::pair{"exclusiveMaximum", "maximum"}}) {
      auto flag = schema.FindMember(exclusive);
      if (flag == schema.MemberEnd() || !flag->value.IsBool()) continue;
      auto limit = schema.FindMember(bound);
      if (flag->value.IsTrue() && limit != schema.MemberEnd() && limit->value.IsNumber()) {
        flag->value.CopyFrom(limit->value, alloc);
        schema.RemoveMember(bound);
      } else {
        schema.RemoveMember(exclusive);
      }
    }
  }
}

bool is_openapi30(const Value& root) {
  const Value* version = member(root, "openapi");
  return version && version->IsString() && std::string_view(version->GetString()).starts_with("3.0");
}

// A JSON Pointer for valijson's context path: "<root>", "[users]", "[0]" -> "/users/0".
std::string context_pointer(const std::vector<std::string>& context) {
  std::string pointer;
  for (size_t i = 1; i < context.size(); ++i) {
    const std::string& part = context[i];
    pointer = pointer_append(pointer, part.size() >= 2 ? std::string_view(part).substr(1, part.size() - 2) : part);
  }
  return pointer;
}

// valijson follows a failing child with a summary at the parent ("Failed to validate item #0 in array."); the
// child's own problems say more and point further in, so the summary goes when they exist.
bool is_summary(const std::string& message) {
  return message.starts_with("Failed to validate item #") ||
         message.starts_with("Failed to validate against additional properties schema") ||
         message.starts_with("Failed to validate against schema associated with property name") ||
         message.starts_with("Failed to validate against schema associated with pattern");
}

// Every proper ancestor of the problems' pointers: a problem there has a more precise one inside it.
std::unordered_set<std::string> enclosing(const std::vector<SchemaProblem>& problems) {
  std::unordered_set<std::string> out;
  for (const SchemaProblem& p : problems) {
    for (size_t slash = p.pointer.size(); slash > 0;) {
      slash = p.pointer.rfind('/', slash - 1);
      if (slash == std::string::npos || !out.insert(p.pointer.substr(0, slash)).second) break;
    }
  }
  return out;
}

std::vector<SchemaProblem> tidy(const std::vector<SchemaProblem>& problems) {
  const auto deeper = enclosing(problems);
  std::unordered_set<std::string> plain;  // pointers with a problem of their own, not a summary
  for (const SchemaProblem& p : problems)
    if (!is_summary(p.message)) plain.insert(p.pointer);
  std::unordered_set<std::string> seen;
  std::vector<SchemaProblem> out;
  for (const SchemaProblem& p : problems) {
    if (!seen.insert(p.pointer + '\n' + p.message).second) continue;
    // Most summaries stand at the parent; the one for an item of a "items" list stands at the item itself.
    if (is_summary(p.message) &&
        (deeper.count(p.pointer) ||
         (p.message.ends_with("against corresponding item schema.") && plain.count(p.pointer))))
      continue;
    out.push_back(p);
  }
  return out;
}

// A property name too long for valijson's patternProperties matcher (see kMaxPatternPropertyName), if any.
std::optional<std::string> long_property_name(const Value& value, const std::string& pointer) {
  if (value.IsObject()) {
    for (const auto& m : value.GetObject()) {
      const std::string child = pointer_append(pointer, {m.name.GetString(), m.name.GetStringLength()});
      if (m.name.GetStringLength() > kMaxPatternPropertyName) return child;
      if (auto found = long_property_name(m.value, child)) return found;
    }
  } else if (value.IsArray()) {
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i)
      if (auto found = long_property_name(value[i], pointer_append(pointer, i))) return found;
  }
  return std::nullopt;
}

class Compiled {
 public:
  // Compiles the schema at `entry_location` in `root`; `analysis` (analyse()'s, whole) must be free of problems.
  // Fails as populate_with_big_stack does: what valijson refuses is an "invalid_schema" error.
  static Result<std::unique_ptr<Compiled>> make(const Value& root, const std::string& entry_location,
                                                Analysis analysis, bool openapi30) {
    std::unique_ptr<Compiled> compiled(new Compiled(root, std::move(analysis), openapi30));
    if (auto populated = compiled->populate(entry_location); !populated) return fail(populated.error());
    return compiled;
  }

 private:
  // Copies what the analysis reached into the skeleton, rewritten as valijson reads it (see normalise).
  Compiled(const Value& root, Analysis analysis, bool openapi30)
      : skeleton_(skeleton_of(root, analysis.roots)),
        regexes_(std::move(analysis.regexes)),
        pattern_properties_(analysis.has_pattern_properties) {
    auto& alloc = skeleton_.GetAllocator();
    // References leaving a schema analysed on its own go to a stub; the others to their canonical form.
    std::unordered_map<std::string, std::string> refs;
    std::optional<std::string> stub;
    for (const auto& [location, target] : analysis.refs) {
      if (!target && !stub) stub = add_stub();
      refs.emplace(location, ref_to(target ? *target : *stub));
    }
    // Every schema the analysis reached, walked again in the copies from where it started.
    std::unordered_set<const Value*> seen;
    std::vector<std::pair<Value*, std::string>> todo;
    for (const std::string& location : analysis.roots)
      if (Value* node = resolve_tokens(static_cast<Value&>(skeleton_), *pointer_tokens(location)))
        todo.emplace_back(node, location);
    while (!todo.empty()) {
      auto [node, location] = std::move(todo.back());
      todo.pop_back();
      if (!node->IsObject() || !seen.insert(node).second) continue;
      // Before listing the children: normalising moves members of this object only, never those inside them.
      normalise(*node, openapi30, alloc);
      if (auto ref = refs.find(location); ref != refs.end())
        node->FindMember("$ref")->value.SetString(ref->second, alloc);
      for_each_subschema(*node, [&, &location = location](Value& child, const std::string& suffix, Applies) {
        todo.emplace_back(&child, location + suffix);
      });
    }
  }

  // valijson parses the skeleton from the schema at `entry_location` into schema_.
  Result<void> populate(const std::string& entry_location) {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    parser.addConstraintBuilder(kFormatKeyword, new FormatBuilder);
    if (entry_location.empty())
      return populate_with_big_stack(
          [&] { parser.populateSchema(valijson::adapters::RapidJsonAdapter(skeleton_), schema_); });
    // The entry is a reference into the skeleton, fetched as a "remote" document: nested "#/..." references then
    // resolve against the skeleton, and nothing is added to it that a schema might refer to.
    rapidjson::Document entry;
    entry.SetObject();
    entry.AddMember("$ref", Value(std::string(kEntryUri) + ref_to(entry_location), entry.GetAllocator()),
                    entry.GetAllocator());
    using Functions = valijson::SchemaParser::FunctionPtrs<valijson::adapters::RapidJsonAdapter>;
    Functions::FetchDoc fetch = [this](const std::string& uri) -> const rapidjson::Document* {
      return uri == kEntryUri ? &skeleton_ : nullptr;
    };
    Functions::FreeDoc release = [](const rapidjson::Document*) {};  // the skeleton is ours
    return populate_with_big_stack(
        [&] { parser.populateSchema(valijson::adapters::RapidJsonAdapter(entry), schema_, fetch, release); });
  }

  // An empty schema beside the copies, for a trial compilation of one schema without what it refers to.
  std::string add_stub() {
    auto& alloc = skeleton_.GetAllocator();
    if (skeleton_.IsArray()) {
      skeleton_.PushBack(Value(rapidjson::kObjectType), alloc);
      return pointer_append("", static_cast<size_t>(skeleton_.Size() - 1));
    }
    if (!skeleton_.IsObject()) skeleton_.SetObject();
    skeleton_.AddMember("$roster:stub", Value(rapidjson::kObjectType), alloc);
    return "/$roster:stub";
  }

 public:
  std::vector<SchemaProblem> validate(const Value& instance) const {
    if (deeper_than(instance, kMaxJsonDepth))
      return {{"", "value " + depth_message(kMaxJsonDepth) + "; not validated"}};
    if (pattern_properties_) {
      if (auto name = long_property_name(instance, ""))
        return {{*name, "property name is longer than " + std::to_string(kMaxPatternPropertyName) +
                            " bytes; not matched against patternProperties"}};
    }
    valijson::ValidationResults results;
    // valijson adds any regex it lacks to this cache; a copy per call keeps validate() const and thread-safe
    // (copies of a std::regex share its compiled automaton, so this is cheap).
    auto regexes = regexes_;
    const valijson::adapters::RapidJsonAdapter target(instance);
    valijson::ValidationVisitor<valijson::adapters::RapidJsonAdapter> visitor(target, {"<root>"}, true, &results,
                                                                              regexes);
    bool ok = false;
    try {
      ok = visitor.validateSchema(schema_);
    } catch (const std::exception& e) {
      return {{"", std::string("could not be validated: ") + e.what()}};
    }
    std::vector<SchemaProblem> problems;
    for (const auto& error : results) problems.push_back({context_pointer(error.context), error.description});
    problems = tidy(problems);
    // A false schema rejects without a message.
    if (!ok && problems.empty()) problems.push_back({"", "Value is not allowed here (the schema is false)."});
    return problems;
  }

 private:
  rapidjson::Document skeleton_;
  std::unordered_map<std::string, std::regex> regexes_;
  bool pattern_properties_;
  valijson::Schema schema_;
};

const Compiled& metaschema() {
  static const rapidjson::Document document = [] {
    rapidjson::Document d;
    d.Parse(kDraft07Metaschema.data(), kDraft07Metaschema.size());
    return d;
  }();
  // roster's own constant: should it not compile, that is a bug, and value() throws.
  static const std::unique_ptr<Compiled> compiled =
      Compiled::make(document, "", analyse(document, "", "", true), false).value();
  return *compiled;
}

// Draft-07 with OpenAPI 3.0's boolean exclusiveMinimum/exclusiveMaximum read the 3.0 way.
std::vector<SchemaProblem> draft07_problems(const Value& schema, bool openapi30) {
  if (!openapi30) return metaschema().validate(schema);
  rapidjson::Document copy;
  copy.CopyFrom(schema, copy.GetAllocator());
  std::vector<Value*> todo{&copy};
  while (!todo.empty()) {
    Value* node = todo.back();
    todo.pop_back();
    if (!node->IsObject()) continue;
    // A number in place of the boolean passes as the 3.0 form does; every other keyword stays as written.
    for (const char* key : {"exclusiveMinimum", "exclusiveMaximum"})
      if (auto it = node->FindMember(key); it != node->MemberEnd() && it->value.IsBool()) it->value.SetInt(0);
    for_each_subschema(*node, [&](Value& child, const std::string&, Applies) { todo.push_back(&child); });
  }
  return metaschema().validate(copy);
}

// Where `schema` sits inside `root`, found by address: base_pointer when it names it, else by search.
std::optional<std::string> locate(const Value& root, const Value& schema, std::string_view base_pointer) {
  if (&root == &schema) return "";
  if (auto tokens = pointer_tokens(base_pointer); tokens && resolve_tokens(root, *tokens) == &schema)
    return std::string(base_pointer);
  std::vector<std::pair<const Value*, std::string>> todo{{&root, ""}};
  while (!todo.empty()) {
    auto [value, pointer] = std::move(todo.back());
    todo.pop_back();
    if (value == &schema) {
      // An object may hold a name twice (JSON allows it): a pointer names the first member of that
      // name, so a schema under a later one has no pointer to it and is checked on its own.
      if (auto tokens = pointer_tokens(pointer); tokens && resolve_tokens(root, *tokens) == &schema) return pointer;
      return std::nullopt;
    }
    if (value->IsObject()) {
      for (const auto& m : value->GetObject())
        todo.emplace_back(&m.value, pointer_append(pointer, {m.name.GetString(), m.name.GetStringLength()}));
    } else if (value->IsArray()) {
      for (rapidjson::SizeType i = 0; i < value->Size(); ++i)
        todo.emplace_back(&(*value)[i], pointer_append(pointer, i));
    }
  }
  return std::nullopt;
}

// Every way the schema at `location` in `root` fails the metaschema, reported at base_pointer + its path inside it.
// What the metaschema wants of each keyword, said plainly: valijson's own words ("Failed to validate against child
// schema #1.") name neither the keyword nor what it should be.
constexpr std::pair<std::string_view, std::string_view> kKeywordForms[] = {
    {"type",
     "must be a type name (array, boolean, integer, null, number, object or string) or a non-empty list of "
     "distinct type names"},
    {"enum", "must be a list"},
    {"examples", "must be a list"},
    {"required", "must be a list of distinct strings"},
    {"multipleOf", "must be a number greater than 0"},
    {"maximum", "must be a number"},
    {"minimum", "must be a number"},
    {"exclusiveMaximum", "must be a number"},
    {"exclusiveMinimum", "must be a number"},
    {"maxLength", "must be a non-negative integer"},
    {"minLength", "must be a non-negative integer"},
    {"maxItems", "must be a non-negative integer"},
    {"minItems", "must be a non-negative integer"},
    {"maxProperties", "must be a non-negative integer"},
    {"minProperties", "must be a non-negative integer"},
    {"uniqueItems", "must be a boolean"},
    {"readOnly", "must be a boolean"},
    {"items", "must be a schema or a non-empty list of schemas"},
    {"allOf", "must be a non-empty list of schemas"},
    {"anyOf", "must be a non-empty list of schemas"},
    {"oneOf", "must be a non-empty list of schemas"},
    {"properties", "must be an object whose members are schemas"},
    {"patternProperties", "must be an object whose members are schemas"},
    {"definitions", "must be an object whose members are schemas"},
    {"dependencies", "must be an object whose members are schemas or lists of distinct strings"},
};

// The problem the metaschema found at `pointer` (relative to the schema), told by what sits there.
std::string metaschema_message(std::string_view pointer) {
  const auto tokens = pointer_tokens(pointer);
  if (!tokens || tokens->empty()) return "a schema must be an object or a boolean";
  enum class At { Schema, Members, Value } at = At::Schema;
  std::string keyword;
  for (size_t i = 0; i < tokens->size(); ++i) {
    const std::string& token = (*tokens)[i];
    if (at == At::Members) {
      at = At::Schema;
      // A dependency is a schema or a list of names; the metaschema's complaint is about the whole of it.
      const bool list_item = i + 1 < tokens->size() && array_index((*tokens)[i + 1]).has_value();
      if (keyword == "dependencies" && (i + 1 == tokens->size() || list_item))
        return "\"dependencies\" members must be schemas or lists of distinct strings";
      continue;
    }
    if (at == At::Value) break;  // inside a keyword's value: the keyword's form says what is wrong
    keyword = token;
    const auto sub = std::find_if(std::begin(kSubschemaKeywords), std::end(kSubschemaKeywords),
                                  [&](const Keyword& k) { return k.name == keyword; });
    if (sub == std::end(kSubschemaKeywords))
      at = At::Value;
    else if (sub->shape != Shape::One || keyword == "items")
      at = At::Members;
    else if (i + 1 == tokens->size())
      return "\"" + keyword + "\" must be a schema (an object or a boolean)";
  }
  if (at == At::Schema) return "must be a schema (an object or a boolean)";
  for (const auto& [name, form] : kKeywordForms)
    if (name == keyword) return "\"" + keyword + "\" " + std::string(form);
  return "\"" + keyword + "\" must be a string";  // every other keyword the metaschema constrains is a string
}

// Every way `schema` fails the metaschema, one problem per place, at base_pointer + its path inside the schema.
std::vector<SchemaProblem> metaschema_problems(const Value& schema, bool openapi30, std::string_view base_pointer) {
  if (deeper_than(schema, kMaxJsonDepth))
    return {{std::string(base_pointer), "schema " + depth_message(kMaxJsonDepth) + "; not checked"}};
  const auto found = draft07_problems(schema, openapi30);
  // A failure inside a value also fails the anyOf around it ("items": [3] fails at /items/0 and at /items); the
  // innermost place is the one to fix.
  const auto deeper = enclosing(found);
  std::unordered_set<std::string> seen;
  std::vector<SchemaProblem> problems;
  for (const SchemaProblem& p : found) {
    if (deeper.count(p.pointer) || !seen.insert(p.pointer).second) continue;
    // valijson's words name neither the keyword nor what it should be; the place says both.
    problems.push_back({std::string(base_pointer) + p.pointer, metaschema_message(p.pointer)});
  }
  return problems;
}

}  // namespace

std::vector<SchemaProblem> check_json_schema(const Value& root, const Value& schema, std::string_view base_pointer) {
  // A schema that is not inside `root` is checked on its own: its references resolve against itself.
  const auto location = locate(root, schema, base_pointer);
  const Value& refs_root = location ? root : schema;
  const bool openapi30 = is_openapi30(root);
  std::vector<SchemaProblem> problems = metaschema_problems(schema, openapi30, base_pointer);
  if (!problems.empty() && problems.front().message.ends_with("not checked")) return problems;
  Analysis analysis = analyse(refs_root, location.value_or(""), base_pointer, false);
  problems.insert(problems.end(), analysis.problems.begin(), analysis.problems.end());
  // The schemas the "$ref"s reach are checked where they are; only one that is fine can be compiled.
  if (problems.empty() && analysis.beyond.empty()) {
    // Anything valijson still refuses is a problem too: a schema that passes here must compile.
    if (auto trial = Compiled::make(refs_root, location.value_or(""), std::move(analysis), openapi30); !trial)
      problems.push_back({std::string(base_pointer), trial.error().message});
  }
  return problems;
}

struct CompiledSchema::Impl {
  std::unique_ptr<Compiled> compiled;
};

CompiledSchema::CompiledSchema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<CompiledSchema> CompiledSchema::compile(const Value& root, std::string_view pointer) {
  const auto tokens = pointer_tokens(pointer);
  if (!tokens) return fail(ErrorKind::Invalid, "invalid_pointer", "not a JSON Pointer", std::string(pointer));
  const Value* schema = resolve_tokens(root, *tokens);
  if (!schema) return fail(ErrorKind::NotFound, "schema_not_found", "no schema at this pointer", std::string(pointer));
  std::string location;
  for (const std::string& token : *tokens) location = pointer_append(location, token);

  std::vector<SchemaProblem> problems = metaschema_problems(*schema, is_openapi30(root), location);
  Analysis analysis;
  if (problems.empty()) {
    analysis = analyse(root, location, location, true);
    problems = std::move(analysis.problems);
    problems.insert(problems.end(), analysis.beyond.begin(), analysis.beyond.end());
    // Schemas reached through "$ref" must pass the metaschema too, or valijson may refuse them without a pointer.
    for (const std::string& target : outermost(analysis.roots)) {
      if (within(target, location)) continue;
      const auto more = metaschema_problems(*resolve_tokens(root, *pointer_tokens(target)), is_openapi30(root), target);
      problems.insert(problems.end(), more.begin(), more.end());
    }
  }
  if (!problems.empty()) {
    std::string message = problems.front().message;
    if (problems.size() > 1) message += " (and " + std::to_string(problems.size() - 1) + " more problems)";
    return fail(ErrorKind::Rejected, "invalid_schema", std::move(message), problems.front().pointer);
  }
  auto compiled = Compiled::make(root, location, std::move(analysis), is_openapi30(root));
  if (!compiled) {
    Error error = std::move(compiled).error();
    error.where = location;
    return fail(std::move(error));
  }
  return CompiledSchema(std::unique_ptr<Impl>(new Impl{std::move(*compiled)}));
}

CompiledSchema::~CompiledSchema() = default;
CompiledSchema::CompiledSchema(CompiledSchema&&) noexcept = default;
CompiledSchema& CompiledSchema::operator=(CompiledSchema&&) noexcept = default;

std::vector<SchemaProblem> CompiledSchema::validate(const Value& instance) const {
  if (!impl_) return {{"", "schema was moved from"}};
  return impl_->compiled->validate(instance);
}

}  // namespace roster::governance
