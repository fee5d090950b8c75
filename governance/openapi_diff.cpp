#include "roster/governance/openapi_diff.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "roster/governance/json_document.hpp"

namespace roster::governance {

namespace {

using rapidjson::SizeType;
using rapidjson::Value;

constexpr std::array<std::string_view, 8> kMethods{"get", "put", "post", "delete", "options", "head", "patch", "trace"};
// Deeper than any real schema; bounds the recursion on hostile input.
constexpr int kMaxDepth = 200;
constexpr uint64_t kMaxBranchPairs = 4096;  // oneOf / anyOf branch pairs matched in one comparison

std::string_view str(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

// member() for the hot path. With a literal key the compare has a constant length, which the
// compiler turns into a load and compare instead of a memcmp call per key scanned.
template <size_t N>
const Value* lookup(const Value& object, const char (&key)[N]) {
  if (!object.IsObject()) return nullptr;
  for (const auto& m : object.GetObject())
    if (m.name.GetStringLength() == N - 1 && std::memcmp(m.name.GetString(), key, N - 1) == 0) return &m.value;
  return nullptr;
}

template <size_t N>
bool is(std::string_view s, const char (&literal)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), literal, N - 1) == 0;
}

const Value* lookup(const Value& object, std::string_view key) {
  if (!object.IsObject()) return nullptr;
  for (const auto& m : object.GetObject()) {
    const char* name = m.name.GetString();
    if (m.name.GetStringLength() == key.size() &&
        (key.empty() || (name[0] == key[0] && std::memcmp(name, key.data(), key.size()) == 0)))
      return &m.value;
  }
  return nullptr;
}

template <size_t N>
const Value* string_member(const Value* object, const char (&key)[N]) {
  const Value* v = object ? lookup(*object, key) : nullptr;
  return v && v->IsString() ? v : nullptr;
}

template <size_t N>
bool flag(const Value* object, const char (&key)[N]) {
  const Value* v = object ? lookup(*object, key) : nullptr;
  return v && v->IsBool() && v->GetBool();
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a == b) return true;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Depth-first search for `target` below `from`, appending the reference tokens on the way.
bool find_path(const Value& from, const Value* target, std::string& out) {
  if (&from == target) return true;
  const size_t mark = out.size();
  if (from.IsObject()) {
    for (const auto& m : from.GetObject()) {
      out += '/';
      out += pointer_escape(str(m.name));
      if (find_path(m.value, target, out)) return true;
      out.resize(mark);
    }
  } else if (from.IsArray()) {
    for (SizeType i = 0; i < from.Size(); ++i) {
      out += '/';
      out += std::to_string(i);
      if (find_path(from[i], target, out)) return true;
      out.resize(mark);
    }
  }
  return false;
}

// Where a value sits: the nearest place whose pointer we know (a path item, a $ref target)
// and the value there. Pointers are spelled out only for findings, by searching below `root`,
// so walking large documents builds no strings.
struct Base {
  std::string_view pointer;
  const Value* root = nullptr;
};

struct Node {
  const Value* v = nullptr;
  Base base;
  const Value* object() const { return v && v->IsObject() ? v : nullptr; }
};

Node child(Node n, std::string_view key) { return {n.v ? lookup(*n.v, key) : nullptr, n.base}; }
template <size_t N>
Node child(Node n, const char (&key)[N]) {
  return {n.v ? lookup(*n.v, key) : nullptr, n.base};
}

// References differ at their end ("#/components/schemas/User17"): hashing the last 16 bytes
// and the length is enough, and much cheaper than hashing every byte.
struct TailHash {
  size_t operator()(std::string_view s) const noexcept {
    if (s.size() < 16) return std::hash<std::string_view>{}(s);
    uint64_t a, b;
    std::memcpy(&a, s.data() + s.size() - 16, 8);
    std::memcpy(&b, s.data() + s.size() - 8, 8);
    return static_cast<size_t>(((a * 0x9e3779b97f4a7c15ull) ^ b) * 0xff51afd7ed558ccdull ^ s.size());
  }
};

// One document: resolves $refs and spells out pointers.
class Side {
 public:
  explicit Side(const Value& root) : root_(root) {}
  const Value& root() const { return root_; }

  // The node a $ref chain ends at (with that target as its base); v == nullptr when a
  // reference dangles or loops. Same 64-hop bound as follow_refs. `followed` tells whether
  // there was a $ref at all.
  Node follow(Node n, bool* followed = nullptr) {
    if (followed) *followed = false;
    for (int hops = 0;; ++hops) {
      if (!n.v) return {};
      const Value* ref = lookup(*n.v, "$ref");
      if (!ref) return n;
      if (!ref->IsString() || hops == 64) return {};
      if (followed) *followed = true;
      const std::string_view target = str(*ref);
      // A few thousand distinct references, each met many times: resolve each text once.
      auto [it, inserted] = refs_.try_emplace(target, nullptr);
      if (inserted) it->second = resolve(target);
      const Value* at = it->second;
      if (!at) return {};
      n = {at, {target.substr(1), at}};
    }
  }

  std::string pointer_of(Node n) const {
    std::string out = fragment_to_pointer(n.base.pointer);  // a $ref fragment may be percent-encoded
    std::string rest;
    if (n.v && n.base.root && find_path(*n.base.root, n.v, rest)) out += rest;
    return out;
  }

 private:
  // resolve_local_ref, but with a hash index for big objects: components/schemas of a large
  // document has thousands of members, and a linear scan per reference dominated the diff.
  const Value* resolve(std::string_view ref) {
    const bool escaped = std::any_of(ref.begin(), ref.end(), [](char c) { return c == '%' || c == '~'; });
    if (ref.empty() || ref[0] != '#' || escaped) return resolve_local_ref(root_, ref);  // the shared decoder
    std::string_view pointer = ref.substr(1);
    const Value* at = &root_;
    while (!pointer.empty()) {
      if (pointer[0] != '/' || !at->IsObject()) return resolve_local_ref(root_, ref);  // arrays, errors
      pointer.remove_prefix(1);
      const size_t end = std::min(pointer.find('/'), pointer.size());
      const std::string_view token = pointer.substr(0, end);
      pointer.remove_prefix(end);
      if (at->MemberCount() < 32) {
        at = lookup(*at, token);
      } else {
        auto [it, inserted] = indexes_.try_emplace(at);
        if (inserted)
          for (const auto& m : at->GetObject()) it->second.try_emplace(str(m.name), &m.value);
        auto found = it->second.find(token);
        at = found == it->second.end() ? nullptr : found->second;
      }
      if (!at) return nullptr;
    }
    return at;
  }

  const Value& root_;
  std::unordered_map<std::string_view, const Value*, TailHash> refs_;
  std::unordered_map<const Value*, std::unordered_map<std::string_view, const Value*>> indexes_;
};

// ---- schema views ------------------------------------------------------------------------

enum TypeBits : uint8_t { kNull = 1, kBoolean = 2, kInteger = 4, kNumber = 8, kString = 16, kArray = 32, kObject = 64 };
constexpr std::array<std::pair<std::string_view, uint8_t>, 7> kTypeNames{{{"null", kNull},
                                                                          {"boolean", kBoolean},
                                                                          {"integer", kInteger},
                                                                          {"number", kNumber},
                                                                          {"string", kString},
                                                                          {"array", kArray},
                                                                          {"object", kObject}}};

uint8_t type_bit(std::string_view t) {
  switch (t.size()) {
    case 4: return is(t, "null") ? kNull : 0;
    case 5: return is(t, "array") ? kArray : 0;
    case 6: return is(t, "string") ? kString : is(t, "object") ? kObject : is(t, "number") ? kNumber : 0;
    case 7: return is(t, "integer") ? kInteger : is(t, "boolean") ? kBoolean : 0;
    default: return 0;
  }
}

uint8_t parse_types(const Value& type) {
  if (type.IsString()) return type_bit(str(type));
  uint8_t mask = 0;
  if (type.IsArray())
    for (const auto& e : type.GetArray())
      if (e.IsString()) mask |= type_bit(str(e));
  return mask;
}

std::string type_names(uint8_t mask) {
  std::string out;
  for (const auto& [name, bit] : kTypeNames) {
    if (!(mask & bit)) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out;
}

// Every integer is a number: a side that accepts numbers accepts integers too.
uint8_t widened(uint8_t mask) { return mask & kNumber ? mask | kInteger : mask; }

struct Composition {
  std::string_view keyword;  // oneOf, anyOf or not
  Node owner;
  const Value* value;
};

// The numeric bounds a schema may set, judged by one piece of code. A request bound may only
// loosen (what clients send must still pass), a response bound may only tighten.
struct BoundKeyword {
  std::string_view keyword;
  bool upper;                     // smaller is tighter
  bool zero_default;              // minLength / minItems: absent means 0, so 0 adds nothing
  std::string_view request_id;    // tightened: Breaking
  std::string_view response_id;   // loosened: Warning (clients rarely enforce bounds, unlike enums)
};
enum BoundIndex : uint8_t { kMaxLength, kMinLength, kMaximum, kMinimum, kMaxItems, kMinItems, kBoundCount };
constexpr std::array<BoundKeyword, kBoundCount> kBounds{{
    {"maxLength", true, false, "request-max-length-decreased", "response-max-length-increased"},
    {"minLength", false, true, "request-min-length-increased", "response-min-length-decreased"},
    {"maximum", true, false, "request-maximum-decreased", "response-maximum-increased"},
    {"minimum", false, false, "request-minimum-increased", "response-minimum-decreased"},
    {"maxItems", true, false, "request-max-items-decreased", "response-max-items-increased"},
    {"minItems", false, true, "request-min-items-increased", "response-min-items-decreased"},
}};

// An effective bound: maximum / minimum fold in OpenAPI 3.0's boolean and 3.1's numeric
// exclusiveMaximum / exclusiveMinimum.
struct Bound {
  const Value* value = nullptr;  // the number as written; nullptr: not declared
  double number = 0;
  bool exclusive = false;
};

// A schema with its allOf branches merged in: what an instance must look like, in the terms
// this comparison uses. The schema's own keywords win over its branches'. Reused across
// schemas (see Differ::views_), so walking allocates only while the buffers grow.
struct View {
  Node node;
  std::vector<const Value*> seen;  // schemas merged so far
  uint8_t types = 0;               // 0: not declared
  std::string_view format;
  bool has_enum = false;
  std::vector<const Value*> enum_values;
  std::vector<std::pair<std::string_view, Node>> properties;  // in document order, names unique
  std::vector<uint32_t> by_name;                              // property indexes by name, for big objects
  std::vector<std::string_view> required;
  std::vector<std::string_view> required_sorted;  // for big lists only
  Node items, additional;
  bool closed = false;  // additionalProperties / unevaluatedProperties: false
  bool nullable = false;
  std::vector<Composition> compositions;
  uint8_t bound_mask = 0;                // bit i: bounds[i] is declared (the rest are stale)
  std::array<Bound, kBoundCount> bounds;  // by BoundIndex
  const Value* pattern = nullptr;         // a string
  Node discriminator;                     // an object

  void reset(Node n) {
    node = n;
    seen.clear();
    types = 0;
    format = {};
    has_enum = false;
    enum_values.clear();
    properties.clear();
    by_name.clear();
    required.clear();
    required_sorted.clear();
    items = additional = {};
    closed = nullable = false;
    compositions.clear();
    bound_mask = 0;
    pattern = nullptr;
    discriminator = {};
  }
  bool may_be(uint8_t bit) const { return !types || (types & bit); }
  bool is_required(std::string_view name) const {
    if (!required_sorted.empty()) return std::binary_search(required_sorted.begin(), required_sorted.end(), name);
    return std::find(required.begin(), required.end(), name) != required.end();
  }
  // The index of property `name`, or -1. `hint` is tried first: two versions of a schema
  // usually list their properties in the same order.
  long index_of(std::string_view name, size_t hint) const {
    if (hint < properties.size() && properties[hint].first == name) return static_cast<long>(hint);
    if (by_name.empty()) {
      for (size_t i = 0; i < properties.size(); ++i)
        if (properties[i].first == name) return static_cast<long>(i);
      return -1;
    }
    auto it = std::lower_bound(by_name.begin(), by_name.end(), name,
                               [&](uint32_t i, std::string_view n) { return properties[i].first < n; });
    return it != by_name.end() && properties[*it].first == name ? static_cast<long>(*it) : -1;
  }
};

// `limit` (maximum / minimum, or any other bound keyword) with its exclusive keyword: 3.0's
// `true` makes the limit exclusive, 3.1's number is a bound of its own; the tighter one counts.
// Non-numeric values are ignored.
Bound effective_bound(const Value* limit, const Value* exclusive, bool upper) {
  Bound out;
  if (limit && limit->IsNumber()) {
    out = {limit, limit->GetDouble(), exclusive && exclusive->IsBool() && exclusive->GetBool()};
  }
  if (exclusive && exclusive->IsNumber()) {
    const double x = exclusive->GetDouble();
    if (!out.value || (upper ? x <= out.number : x >= out.number)) out = {exclusive, x, true};
  }
  return out;
}

void absorb(Side& side, Node n, View& view) {
  // allOf may reach the same branch twice, or itself: merge each schema once.
  if (std::find(view.seen.begin(), view.seen.end(), n.v) != view.seen.end() || view.seen.size() > kMaxDepth) return;
  view.seen.push_back(n.v);
  const Value *all_of = nullptr, *const_value = nullptr;
  bool own_enum = false;
  // This schema's own bound keywords; folded into the view after the pass (first schema wins).
  std::array<const Value*, kBoundCount> own_bounds{};
  const Value *exclusive_max = nullptr, *exclusive_min = nullptr;
  bool any_bound = false;  // most schemas have none: skip folding them
  auto bound = [&](BoundIndex i, const Value& v) {
    own_bounds[i] = &v;
    any_bound = true;
  };
  // One pass over the keywords (a lookup per keyword would rescan the object each time).
  for (const auto& m : n.v->GetObject()) {
    const std::string_view key = str(m.name);
    const Value& v = m.value;
    switch (key.size()) {
      case 3:
        if (is(key, "not")) view.compositions.push_back({"not", n, &v});
        break;
      case 4:
        if (is(key, "type") && !view.types) {
          view.types = parse_types(v);
        } else if (is(key, "enum") && v.IsArray() && !view.has_enum) {
          own_enum = view.has_enum = true;
          for (const auto& e : v.GetArray()) view.enum_values.push_back(&e);
        }
        break;
      case 5:
        if (is(key, "items")) {
          if (v.IsObject() && !view.items.v) view.items = {&v, n.base};
        } else if (is(key, "allOf")) {
          all_of = &v;
        } else if (is(key, "oneOf")) {
          view.compositions.push_back({"oneOf", n, &v});
        } else if (is(key, "anyOf")) {
          view.compositions.push_back({"anyOf", n, &v});
        } else if (is(key, "const")) {
          const_value = &v;
        }
        break;
      case 6:
        if (is(key, "format") && v.IsString() && view.format.empty()) view.format = str(v);
        break;
      case 7:
        if (is(key, "maximum")) {
          bound(kMaximum, v);
        } else if (is(key, "minimum")) {
          bound(kMinimum, v);
        } else if (is(key, "pattern") && v.IsString() && !view.pattern) {
          view.pattern = &v;
        }
        break;
      case 8:
        if (is(key, "required") && v.IsArray()) {
          for (const auto& r : v.GetArray())
            if (r.IsString()) view.required.push_back(str(r));
        } else if (is(key, "nullable")) {
          view.nullable |= v.IsBool() && v.GetBool();
        } else if (is(key, "maxItems")) {
          bound(kMaxItems, v);
        } else if (is(key, "minItems")) {
          bound(kMinItems, v);
        }
        break;
      case 9:
        if (is(key, "maxLength"))
          bound(kMaxLength, v);
        else if (is(key, "minLength"))
          bound(kMinLength, v);
        break;
      case 10:
        if (is(key, "properties") && v.IsObject())
          for (const auto& p : v.GetObject()) view.properties.emplace_back(str(p.name), Node{&p.value, n.base});
        break;
      case 13:
        if (is(key, "discriminator") && v.IsObject() && !view.discriminator.v) view.discriminator = {&v, n.base};
        break;
      case 16:
        if (is(key, "exclusiveMaximum")) {
          exclusive_max = &v;
          any_bound = true;
        } else if (is(key, "exclusiveMinimum")) {
          exclusive_min = &v;
          any_bound = true;
        }
        break;
      case 20:
        if (is(key, "additionalProperties")) {
          if (v.IsBool() && !v.GetBool()) view.closed = true;
          if (v.IsObject() && !view.additional.v) view.additional = {&v, n.base};
        }
        break;
      case 21:
        if (is(key, "unevaluatedProperties") && v.IsBool() && !v.GetBool()) view.closed = true;
        break;
      default: break;
    }
  }
  for (size_t i = 0; any_bound && i < kBoundCount; ++i) {
    if (view.bound_mask & (1u << i)) continue;
    const Value* exclusive = i == kMaximum ? exclusive_max : i == kMinimum ? exclusive_min : nullptr;
    view.bounds[i] = effective_bound(own_bounds[i], exclusive, kBounds[i].upper);
    if (view.bounds[i].value) view.bound_mask |= static_cast<uint8_t>(1u << i);
  }
  if (const_value && !view.has_enum && !own_enum) {
    view.has_enum = true;
    view.enum_values.push_back(const_value);
  }
  if (all_of && all_of->IsArray())
    for (const auto& branch : all_of->GetArray()) {
      const Node b = side.follow({&branch, n.base});
      if (b.object()) absorb(side, b, view);
    }
}

void build_view(Side& side, Node n, View& view) {
  view.reset(n);
  absorb(side, n, view);
  if (!view.types) {
    // No declared type: infer from the keywords, so {properties} compares equal to {type: object}.
    if (!view.properties.empty() || lookup(*n.v, "properties")) view.types = kObject;
    if (view.items.v) view.types = kArray;
  }
  if (view.types && view.nullable) view.types |= kNull;
  auto& props = view.properties;
  // Small objects are searched linearly (cheaper than sorting them); big ones get an index.
  constexpr size_t kLinear = 32;
  if (props.size() > kLinear || view.seen.size() > 1) {
    view.by_name.resize(props.size());
    for (uint32_t i = 0; i < props.size(); ++i) view.by_name[i] = i;
    std::stable_sort(view.by_name.begin(), view.by_name.end(),
                     [&](uint32_t a, uint32_t b) { return props[a].first < props[b].first; });
    if (view.seen.size() > 1) {
      // Merged allOf branches may repeat a name: the first one (the schema's own) wins.
      std::vector<bool> drop(props.size());
      for (size_t i = 1; i < view.by_name.size(); ++i)
        if (props[view.by_name[i]].first == props[view.by_name[i - 1]].first) drop[view.by_name[i]] = true;
      size_t kept = 0;
      for (size_t i = 0; i < props.size(); ++i)
        if (!drop[i]) props[kept++] = props[i];
      props.resize(kept);
      view.by_name.clear();
      if (props.size() > kLinear) {
        view.by_name.resize(props.size());
        for (uint32_t i = 0; i < props.size(); ++i) view.by_name[i] = i;
        std::sort(view.by_name.begin(), view.by_name.end(),
                  [&](uint32_t a, uint32_t b) { return props[a].first < props[b].first; });
      }
    }
  }
  if (view.required.size() > kLinear) {
    view.required_sorted = view.required;
    std::sort(view.required_sorted.begin(), view.required_sorted.end());
  }
}

// The enum values of `from` that `in` lacks (all of them when `in` is null), as JSON text.
std::vector<std::string> enum_missing(const View& from, const View* in) {
  auto texts = [](const View& v) {
    std::vector<std::string> out;
    for (const Value* e : v.enum_values) out.push_back(to_json_text(*e));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  std::vector<std::string> out;
  if (in && from.enum_values.size() * in->enum_values.size() > 4096) {
    // Big enums: compare as sorted text instead of pairwise.
    const auto a = texts(from), b = texts(*in);
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
    return out;
  }
  for (const Value* v : from.enum_values)
    if (!in || std::none_of(in->enum_values.begin(), in->enum_values.end(), [&](const Value* w) { return *v == *w; }))
      out.push_back(to_json_text(*v));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string join_values(const std::vector<std::string>& values) {
  constexpr size_t kShown = 8;  // keep messages one line
  std::string out;
  for (size_t i = 0; i < values.size() && i < kShown; ++i) out += (i ? ", " : "") + values[i];
  if (values.size() > kShown) out += " and " + std::to_string(values.size() - kShown) + " more";
  return out;
}

// ---- schema equivalence (for oneOf / anyOf / not, which are only flagged) ---------------

bool annotation(std::string_view key) {
  static constexpr std::array<std::string_view, 8> kKeys{"description", "title",        "summary",  "example",
                                                         "examples",    "externalDocs", "$comment", "deprecated"};
  return key.starts_with("x-") || std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
}

enum class Shape { Schema, SchemaMap, SchemaList, OrderedSchemaList, UnorderedData, Data };

Shape shape_of(std::string_view keyword) {
  if (keyword == "properties" || keyword == "patternProperties" || keyword == "$defs" || keyword == "definitions" ||
      keyword == "dependentSchemas")
    return Shape::SchemaMap;
  if (keyword == "allOf" || keyword == "anyOf" || keyword == "oneOf") return Shape::SchemaList;
  if (keyword == "prefixItems") return Shape::OrderedSchemaList;
  if (keyword == "items" || keyword == "additionalProperties" || keyword == "not" || keyword == "contains" ||
      keyword == "propertyNames" || keyword == "if" || keyword == "then" || keyword == "else" ||
      keyword == "unevaluatedProperties" || keyword == "unevaluatedItems" || keyword == "additionalItems")
    return Shape::Schema;
  if (keyword == "required" || keyword == "type") return Shape::UnorderedData;
  return Shape::Data;
}

class Equivalence {
 public:
  Equivalence(Side& old_side, Side& new_side) : old_(old_side), new_(new_side) {}

  bool same(const Value& a, const Value& b, Shape shape, int depth = 0) {
    // Past the budget (or depth) we call it changed: the finding is only a warning.
    if (--budget_ < 0 || depth > kMaxDepth) return false;
    switch (shape) {
      case Shape::Schema: return same_schema(a, b, depth);
      case Shape::SchemaMap: {
        if (!a.IsObject() || !b.IsObject()) return a == b;
        if (a.MemberCount() != b.MemberCount()) return false;
        for (const auto& m : a.GetObject()) {
          const Value* other = lookup(b, str(m.name));
          if (!other || !same(m.value, *other, Shape::Schema, depth + 1)) return false;
        }
        return true;
      }
      case Shape::OrderedSchemaList: {
        if (!a.IsArray() || !b.IsArray()) return same(a, b, Shape::Schema, depth + 1);
        if (a.Size() != b.Size()) return false;
        for (SizeType i = 0; i < a.Size(); ++i)
          if (!same(a[i], b[i], Shape::Schema, depth + 1)) return false;
        return true;
      }
      case Shape::SchemaList:
      case Shape::UnorderedData: return same_unordered(a, b, shape, depth);
      case Shape::Data: return a == b;
    }
    return false;
  }

 private:
  bool same_unordered(const Value& a, const Value& b, Shape shape, int depth) {
    if (!a.IsArray() || !b.IsArray()) return a == b;
    if (a.Size() != b.Size()) return false;
    std::vector<bool> used(b.Size());
    for (const auto& x : a.GetArray()) {
      bool found = false;
      for (SizeType j = 0; j < b.Size() && !found; ++j) {
        if (used[j]) continue;
        found = shape == Shape::SchemaList ? same(x, b[j], Shape::Schema, depth + 1) : x == b[j];
        if (found) used[j] = true;
      }
      if (!found) return false;
    }
    return true;
  }

  bool same_schema(const Value& a, const Value& b, int depth) {
    const Node ra = old_.follow({&a, {}}), rb = new_.follow({&b, {}});
    if (!ra.v || !rb.v) return a == b;  // a dangling reference equals only the same reference
    if (!ra.v->IsObject() || !rb.v->IsObject()) return *ra.v == *rb.v;
    // A pair already being compared is assumed equal: recursive schemas compare coinductively.
    const std::pair<const Value*, const Value*> pair{ra.v, rb.v};
    if (std::find(assumed_.begin(), assumed_.end(), pair) != assumed_.end()) return true;
    assumed_.push_back(pair);
    bool equal = true;
    size_t counted = 0;
    for (const auto& m : ra.v->GetObject()) {
      const std::string_view key = str(m.name);
      if (annotation(key)) continue;
      ++counted;
      const Value* other = lookup(*rb.v, key);
      if (!other || !same(m.value, *other, shape_of(key), depth + 1)) {
        equal = false;
        break;
      }
    }
    if (equal) {
      size_t other_count = 0;
      for (const auto& m : rb.v->GetObject()) other_count += annotation(str(m.name)) ? 0 : 1;
      equal = counted == other_count;
    }
    assumed_.pop_back();
    return equal;
  }

  Side& old_;
  Side& new_;
  int budget_ = 100'000;
  std::vector<std::pair<const Value*, const Value*>> assumed_;
};

// ---- the comparison ----------------------------------------------------------------------

// What a client sends (requests, parameters) may only widen; what it receives may only narrow.
// Directions are bits: one walk over a schema pair judges it both ways.
enum class Dir : uint8_t { Request = 1, Response = 2 };
constexpr uint8_t kBothDirs = 3;
constexpr std::array<Dir, 2> kDirs{Dir::Request, Dir::Response};
constexpr uint8_t bit(Dir d) { return static_cast<uint8_t>(d); }

// A change inside a schema pair, relative to where that comparison started; whoever compared
// a body or a parameter turns it into a Finding in its own words.
struct SchemaChange {
  Dir dir;
  Severity severity;
  std::string_view id;
  std::string where;  // property path from the compared root: "items[].owner.name"
  std::string pointer;
  std::string detail;  // "was removed", "type changed from integer to string"
};

struct PairKey {
  const Value* old_schema;
  const Value* new_schema;
  uint8_t dirs;  // the directions judged (readOnly / writeOnly properties drop one)
  bool operator==(const PairKey&) const = default;
};
struct PairHash {
  size_t operator()(const PairKey& k) const noexcept {
    const size_t a = std::hash<const void*>{}(k.old_schema), b = std::hash<const void*>{}(k.new_schema);
    return a ^ (b * 0x9e3779b97f4a7c15ull) ^ k.dirs;
  }
};

struct Param {
  std::string_view name, in;
  std::string_view match_name;  // the name to match: an old path parameter's is the new placeholder's
  Node node;
  bool required = false;

  // The same parameter: same place, same name (header names ignore case, as HTTP does).
  bool matches(const Param& other) const {
    return in == other.in && (in == "header" ? iequals(match_name, other.match_name) : match_name == other.match_name);
  }
};

// What a schema comparison is about: a request body, a response or a parameter.
struct Subject {
  enum Kind { Request, Response, Parameter, Header } kind;
  std::string_view status;       // of a response (or a response header)
  const Param* param = nullptr;  // of a parameter
  std::string_view header = {};  // of a response header
};

struct PathEntry {
  std::string shape;  // the template with every {name} emptied: /users/{}
  std::string_view tmpl;
  const Value* item;
};

struct Operation {
  std::string method;  // upper case
  std::string_view path;
  Node old_item, new_item, old_op, new_op;
  std::vector<std::pair<std::string_view, std::string_view>> renames;  // old path placeholder → new
};

// One alternative of a security requirement: schemes (sorted) with their scopes.
using Requirement = std::vector<std::pair<std::string_view, std::vector<std::string_view>>>;
using Security = std::vector<Requirement>;

std::string template_shape(std::string_view tmpl) {
  std::string out;
  bool inside = false;
  for (char c : tmpl) {
    if (c == '{') inside = true;
    if (!inside) out += c;
    if (c == '}') {
      inside = false;
      out += "{}";
    }
  }
  return out;
}

std::vector<std::string_view> placeholders(std::string_view tmpl) {
  std::vector<std::string_view> out;
  for (size_t open = tmpl.find('{'); open != std::string_view::npos; open = tmpl.find('{', open + 1)) {
    const size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) break;
    out.emplace_back(tmpl.substr(open + 1, close - open - 1));
  }
  return out;
}

std::vector<PathEntry> collect_paths(const Value& doc) {
  std::vector<PathEntry> out;
  const Value* paths = lookup(doc, "paths");
  if (!paths || !paths->IsObject()) return out;
  for (const auto& m : paths->GetObject()) {
    const std::string_view tmpl = str(m.name);
    if (tmpl.starts_with("x-")) continue;
    out.push_back({template_shape(tmpl), tmpl, &m.value});
  }
  // Sorted through an index: moving the entries themselves cost more than comparing them.
  std::vector<uint32_t> order(out.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return std::tie(out[a].shape, out[a].tmpl) < std::tie(out[b].shape, out[b].tmpl);
  });
  std::vector<PathEntry> sorted;
  sorted.reserve(out.size());
  for (uint32_t i : order)
    // Two templates of one shape are invalid OpenAPI; compare the first, deterministically.
    if (sorted.empty() || sorted.back().shape != out[i].shape) sorted.push_back(std::move(out[i]));
  return sorted;
}

Security parse_security(const Value& list) {
  Security out;
  for (const auto& alt : list.GetArray()) {
    if (!alt.IsObject()) continue;
    Requirement req;
    for (const auto& scheme : alt.GetObject()) {
      std::vector<std::string_view> scopes;
      if (scheme.value.IsArray())
        for (const auto& s : scheme.value.GetArray())
          if (s.IsString()) scopes.push_back(str(s));
      std::sort(scopes.begin(), scopes.end());
      req.emplace_back(str(scheme.name), std::move(scopes));
    }
    std::sort(req.begin(), req.end());
    out.push_back(std::move(req));
  }
  if (out.empty()) out.emplace_back();  // [] (or nothing usable) means no authentication
  return out;
}

// Whether credentials satisfying `have` also satisfy `need`.
bool satisfies(const Requirement& have, const Requirement& need) {
  for (const auto& [scheme, scopes] : need) {
    auto it = std::find_if(have.begin(), have.end(), [&, &scheme = scheme](const auto& h) { return h.first == scheme; });
    if (it == have.end() || !std::includes(it->second.begin(), it->second.end(), scopes.begin(), scopes.end()))
      return false;
  }
  return true;
}

bool accepted_by(const Requirement& have, const Security& security) {
  return std::any_of(security.begin(), security.end(), [&](const auto& need) { return satisfies(have, need); });
}

bool same_schemes(const Requirement& a, const Requirement& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return x.first == y.first; });
}

// The scopes `more` asks for beyond `fewer`, scheme by scheme (schemes with none left out).
Requirement extra_scopes(const Requirement& more, const Requirement& fewer) {
  Requirement out;
  for (size_t i = 0; i < more.size() && i < fewer.size(); ++i) {
    std::vector<std::string_view> extra;
    std::set_difference(more[i].second.begin(), more[i].second.end(), fewer[i].second.begin(), fewer[i].second.end(),
                        std::back_inserter(extra));
    if (!extra.empty()) out.emplace_back(more[i].first, std::move(extra));
  }
  return out;
}

size_t scope_count(const Requirement& req) {
  size_t n = 0;
  for (const auto& [scheme, scopes] : req) n += scopes.size();
  return n;
}

// When the alternative `have` fails `security` only for scopes (an alternative with the same
// schemes exists), the fewest scopes it lacks; empty otherwise.
Requirement missing_scopes(const Requirement& have, const Security& security) {
  Requirement best;
  for (const Requirement& need : security) {
    if (!same_schemes(have, need)) continue;
    Requirement missing = extra_scopes(need, have);
    if (!missing.empty() && (best.empty() || scope_count(missing) < scope_count(best))) best = std::move(missing);
  }
  return best;
}

std::string describe(const Requirement& req) {
  if (req.empty()) return "no authentication";
  std::string out;
  for (const auto& [scheme, scopes] : req) {
    if (!out.empty()) out += " + ";
    out += scheme;
    if (scopes.empty()) continue;
    out += '[';
    for (size_t i = 0; i < scopes.size(); ++i) out += (i ? "," : "") + std::string(scopes[i]);
    out += ']';
  }
  return out;
}

std::string describe(const Security& security) {
  std::string out;
  for (const auto& req : security) out += (out.empty() ? "" : " or ") + describe(req);
  return out;
}

// "application/json; charset=utf-8" → "application/json" (compared without case).
std::string_view media_type(std::string_view media) {
  media = media.substr(0, media.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return media;
}

// application/json, application/problem+json, text/json...: compared by schema.
bool is_json(std::string_view media) {
  media = media_type(media);
  const size_t slash = media.find('/');
  return slash != std::string_view::npos && media.size() - slash > 4 && iequals(media.substr(media.size() - 4), "json");
}

// Which members of an object were matched; no allocation for the usual handful.
class Marks {
 public:
  explicit Marks(size_t n) {
    if (n > 64) big_.resize(n);
  }
  void set(size_t i) {
    if (big_.empty())
      bits_ |= uint64_t{1} << i;
    else
      big_[i] = true;
  }
  bool test(size_t i) const { return big_.empty() ? (bits_ >> i) & 1 : big_[i]; }

 private:
  uint64_t bits_ = 0;
  std::vector<bool> big_;
};

class Differ {
 public:
  Differ(const Value& old_doc, const Value& new_doc) : old_(old_doc), new_(new_doc) {
    if (const Value* s = lookup(old_doc, "security"); s && s->IsArray()) old_global_ = parse_security(*s);
    if (const Value* s = lookup(new_doc, "security"); s && s->IsArray()) new_global_ = parse_security(*s);
  }

  std::vector<Finding> run() {
    diff_paths();
    std::sort(findings_.begin(), findings_.end(), [](const Finding& a, const Finding& b) {
      return std::tie(a.path, a.method, a.pointer, a.id, a.message, a.severity) <
             std::tie(b.path, b.method, b.pointer, b.id, b.message, b.severity);
    });
    findings_.erase(std::unique(findings_.begin(), findings_.end()), findings_.end());
    return std::move(findings_);
  }

 private:
  void add(Severity severity, std::string_view id, std::string_view method, std::string_view path, std::string pointer,
           std::string message) {
    findings_.push_back(
        {severity, std::string(id), std::string(method), std::string(path), std::move(pointer), std::move(message)});
  }

  // ---- paths and operations ----

  void diff_paths() {
    const auto olds = collect_paths(old_.root()), news = collect_paths(new_.root());
    size_t i = 0, j = 0;
    while (i < olds.size() || j < news.size()) {
      if (j == news.size() || (i < olds.size() && olds[i].shape < news[j].shape)) {
        const auto& p = olds[i++];
        add(Severity::Breaking, "path-removed", "", p.tmpl, pointer_append("/paths", p.tmpl),
            "path " + quoted(p.tmpl) + " was removed");
      } else if (i == olds.size() || news[j].shape < olds[i].shape) {
        const auto& p = news[j++];
        add(Severity::Info, "path-added", "", p.tmpl, pointer_append("/paths", p.tmpl),
            "path " + quoted(p.tmpl) + " was added");
      } else {
        diff_path_item(olds[i++], news[j++]);
      }
    }
  }

  void diff_path_item(const PathEntry& o, const PathEntry& n) {
    const std::string old_ptr = pointer_append("/paths", o.tmpl), new_ptr = pointer_append("/paths", n.tmpl);
    const Node old_item = old_.follow({o.item, {old_ptr, o.item}}), new_item = new_.follow({n.item, {new_ptr, n.item}});
    if (!old_item.object() || !new_item.object()) return;
    Operation op;
    op.path = n.tmpl;
    op.old_item = old_item;
    op.new_item = new_item;
    // Path parameters are positional: {id} → {userId} renames nothing a client sends.
    const auto old_names = placeholders(o.tmpl), new_names = placeholders(n.tmpl);
    for (size_t k = 0; k < old_names.size() && k < new_names.size(); ++k)
      op.renames.emplace_back(old_names[k], new_names[k]);
    for (std::string_view method : kMethods) {
      const Node old_op = child(old_item, method), new_op = child(new_item, method);
      if (!old_op.object() && !new_op.object()) continue;
      op.method = upper(method);
      if (!new_op.object()) {
        add(Severity::Breaking, "operation-removed", op.method, n.tmpl, old_.pointer_of(old_op),
            "operation " + op.method + " was removed");
      } else if (!old_op.object()) {
        add(Severity::Info, "operation-added", op.method, n.tmpl, new_.pointer_of(new_op),
            "operation " + op.method + " was added");
      } else {
        op.old_op = old_op;
        op.new_op = new_op;
        diff_operation(op);
      }
    }
  }

  void diff_operation(const Operation& op) {
    if (!flag(op.old_op.v, "deprecated") && flag(op.new_op.v, "deprecated"))
      add(Severity::Info, "operation-deprecated", op.method, op.path, new_.pointer_of(child(op.new_op, "deprecated")),
          "operation is now deprecated");
    diff_parameters(op);
    diff_request_body(op);
    diff_responses(op);
    diff_security(op);
  }

  // ---- parameters ----

  std::vector<Param> collect_params(Side& side, const Operation& op, bool old_side) {
    std::vector<Param> out;
    auto take = [&](Node list) {
      if (!list.v || !list.v->IsArray()) return;
      for (const auto& entry : list.v->GetArray()) {
        const Node p = side.follow({&entry, list.base});
        const Value* name = string_member(p.object(), "name");
        const Value* in = string_member(p.object(), "in");
        if (!name || !in) continue;
        Param param{str(*name), str(*in), str(*name), p, false};
        if (param.in == "path" && old_side)
          for (const auto& [from, to] : op.renames)
            if (from == param.name) param.match_name = to;
        param.required = param.in == "path" || flag(p.v, "required");
        // An operation's parameter overrides the path item's one with the same name and place.
        auto same = std::find_if(out.begin(), out.end(), [&](const Param& q) { return q.matches(param); });
        if (same != out.end())
          *same = param;
        else
          out.push_back(param);
      }
    };
    take(child(old_side ? op.old_item : op.new_item, "parameters"));
    take(child(old_side ? op.old_op : op.new_op, "parameters"));
    return out;
  }

  static std::string param_label(const Param& p) {
    return "parameter " + quoted(p.name) + " (" + std::string(p.in) + ")";
  }

  // The schema of a parameter or a header.
  static Node param_schema(Node p) {
    if (const Node s = child(p, "schema"); s.v) return s;
    // A parameter may carry its schema in `content` (one media type) instead.
    const Node content = child(p, "content");
    if (!content.object() || content.v->MemberCount() == 0) return {};
    return child({&content.v->MemberBegin()->value, content.base}, "schema");
  }

  void diff_parameters(const Operation& op) {
    const auto olds = collect_params(old_, op, true), news = collect_params(new_, op, false);
    std::vector<bool> matched(news.size());
    std::vector<const Param*> removed;
    for (const Param& o : olds) {
      auto it = std::find_if(news.begin(), news.end(), [&](const Param& n) { return n.matches(o); });
      if (it == news.end()) {
        removed.push_back(&o);
        continue;
      }
      matched[it - news.begin()] = true;
      diff_parameter(op, o, *it);
    }
    // A parameter gone and another of the same `in` new: most likely a rename.
    for (const Param* o : removed) {
      size_t k = 0;
      while (k < news.size() && (matched[k] || news[k].in != o->in)) ++k;
      if (k < news.size()) {
        matched[k] = true;
        add(Severity::Breaking, "parameter-renamed", op.method, op.path, new_.pointer_of(news[k].node),
            param_label(*o) + " was renamed to " + quoted(news[k].name));
      } else {
        add(Severity::Breaking, "parameter-removed", op.method, op.path, old_.pointer_of(o->node),
            param_label(*o) + " was removed");
      }
    }
    const bool deprecated = flag(op.new_op.v, "deprecated");
    for (size_t k = 0; k < news.size(); ++k) {
      if (matched[k]) continue;
      const Param& n = news[k];
      if (n.required)
        add(Severity::Breaking, "parameter-added-required", op.method, op.path, new_.pointer_of(n.node),
            "new required " + param_label(n));
      else if (deprecated)
        add(Severity::Warning, "parameter-added-to-deprecated", op.method, op.path, new_.pointer_of(n.node),
            "new optional " + param_label(n) + " on a deprecated operation");
      else
        add(Severity::Info, "parameter-added", op.method, op.path, new_.pointer_of(n.node),
            "new optional " + param_label(n));
    }
  }

  void diff_parameter(const Operation& op, const Param& o, const Param& n) {
    if (!o.required && n.required)
      add(Severity::Breaking, "parameter-made-required", op.method, op.path, new_.pointer_of(n.node),
          param_label(n) + " is now required");
    else if (o.required && !n.required)
      add(Severity::Info, "parameter-made-optional", op.method, op.path, new_.pointer_of(n.node),
          param_label(n) + " is no longer required");
    diff_serialization(op, o, n);
    const Node os = param_schema(o.node), ns = param_schema(n.node);
    if (os.v && ns.v) emit(op, compare(os, ns, Dir::Request), {Subject::Parameter, {}, &n});
  }

  // How a parameter is written on the wire, with OpenAPI's defaults: style form for query and
  // cookie, simple for path and header; explode only with form. A change means the server
  // reads what old clients write differently. A parameter with `content` has neither.
  void diff_serialization(const Operation& op, const Param& o, const Param& n) {
    if (child(o.node, "content").v || child(n.node, "content").v) return;
    auto style = [](const Param& p) -> std::string_view {
      if (const Value* s = string_member(p.node.object(), "style")) return str(*s);
      return p.in == "query" || p.in == "cookie" ? "form" : "simple";
    };
    auto explode = [](const Param& p, std::string_view style) {
      const Value* e = p.node.object() ? lookup(*p.node.v, "explode") : nullptr;
      return e && e->IsBool() ? e->GetBool() : style == "form";
    };
    auto at = [&](std::string_view key) {
      const Node member = child(n.node, key);
      return new_.pointer_of(member.v ? member : n.node);
    };
    const std::string_view os = style(o), ns = style(n);
    if (os != ns) {
      // Reported alone: a new style brings its own explode default.
      add(Severity::Breaking, "parameter-style-changed", op.method, op.path, at("style"),
          param_label(n) + " style changed from " + std::string(os) + " to " + std::string(ns));
      return;
    }
    const bool oe = explode(o, os), ne = explode(n, ns);
    if (oe == ne) return;
    // explode only changes how arrays and objects are written; a declared scalar reads the same.
    const Node schema = new_.follow(param_schema(n.node));
    const Value* type = schema.object() ? lookup(*schema.v, "type") : nullptr;
    if (const uint8_t types = type ? parse_types(*type) : 0; types && !(types & (kArray | kObject))) return;
    add(Severity::Breaking, "parameter-explode-changed", op.method, op.path, at("explode"),
        param_label(n) + " explode changed from " + (oe ? "true" : "false") + " to " + (ne ? "true" : "false"));
  }

  // ---- bodies and responses ----

  void diff_request_body(const Operation& op) {
    const Node o = old_.follow(child(op.old_op, "requestBody")), n = new_.follow(child(op.new_op, "requestBody"));
    if (!o.object() && !n.object()) return;
    const bool new_required = flag(n.object(), "required");
    if (!o.object()) {
      if (new_required)
        add(Severity::Breaking, "request-body-required", op.method, op.path, new_.pointer_of(n),
            "a required request body was added");
      else
        add(Severity::Info, "request-body-added", op.method, op.path, new_.pointer_of(n),
            "an optional request body was added");
      return;
    }
    if (!n.object()) {
      add(Severity::Warning, "request-body-removed", op.method, op.path, old_.pointer_of(o),
          "request body was removed");
      return;
    }
    if (!flag(o.v, "required") && new_required)
      add(Severity::Breaking, "request-body-required", op.method, op.path, new_.pointer_of(n),
          "request body is now required");
    diff_content(op, o, n, {Subject::Request, {}, nullptr});
  }

  void diff_responses(const Operation& op) {
    const Node old_list = child(op.old_op, "responses"), new_list = child(op.new_op, "responses");
    const Value* news = new_list.object();
    // Status keys compare without case (2XX == 2xx); returns the member index, or -1.
    auto find_status = [&](std::string_view key) -> long {
      long k = 0;
      if (news)
        for (auto it = news->MemberBegin(); it != news->MemberEnd(); ++it, ++k)
          if (iequals(str(it->name), key)) return k;
      return -1;
    };
    Marks matched(news ? news->MemberCount() : 0);
    if (const Value* olds = old_list.object()) {
      for (const auto& m : olds->GetObject()) {
        const std::string_view key = str(m.name);
        if (key.starts_with("x-")) continue;
        long k = find_status(key);
        // 200 is still answered when the new document declares the 2XX range instead.
        if (k < 0 && key.size() == 3 && key[1] != 'X' && key[1] != 'x') k = find_status(std::string{key[0], 'X', 'X'});
        const Node old_response{&m.value, old_list.base};
        if (k < 0) {
          if (key.starts_with('2'))
            add(Severity::Breaking, "response-success-removed", op.method, op.path, old_.pointer_of(old_response),
                "success response " + std::string(key) + " was removed");
          else
            add(Severity::Info, "response-status-removed", op.method, op.path, old_.pointer_of(old_response),
                "response " + std::string(key) + " was removed");
          continue;
        }
        matched.set(static_cast<size_t>(k));
        const auto& nm = news->MemberBegin()[k];
        const Node ro = old_.follow(old_response), rn = new_.follow({&nm.value, new_list.base});
        if (ro.object() && rn.object()) {
          diff_content(op, ro, rn, {Subject::Response, str(nm.name), nullptr});
          diff_headers(op, ro, rn, str(nm.name));
        }
      }
    }
    if (!news) return;
    size_t k = 0;
    for (auto it = news->MemberBegin(); it != news->MemberEnd(); ++it, ++k)
      if (!matched.test(k) && !str(it->name).starts_with("x-"))
        add(Severity::Info, "response-status-added", op.method, op.path, new_.pointer_of({&it->value, new_list.base}),
            "response " + std::string(str(it->name)) + " was added");
  }

  // Response headers: names compare without case, as HTTP does; Content-Type is ignored, as
  // OpenAPI says (`content` describes it). A header a client may rely on must stay, and its
  // schema may only narrow.
  void diff_headers(const Operation& op, Node ro, Node rn, std::string_view status) {
    const Node old_list = child(ro, "headers"), new_list = child(rn, "headers");
    const Value *olds = old_list.object(), *news = new_list.object();
    if (!olds && !news) return;
    auto skipped = [](std::string_view name) { return iequals(name, "content-type"); };
    auto label = [&](std::string_view name) { return "response " + std::string(status) + " header " + quoted(name); };
    Marks matched(news ? news->MemberCount() : 0);
    if (olds) {
      for (const auto& m : olds->GetObject()) {
        const std::string_view name = str(m.name);
        if (skipped(name)) continue;
        long k = -1, at = 0;
        if (news)
          for (auto it = news->MemberBegin(); it != news->MemberEnd() && k < 0; ++it, ++at)
            if (iequals(str(it->name), name)) k = at;
        const Node oh = old_.follow({&m.value, old_list.base});
        const bool was_required = flag(oh.object(), "required");
        if (k < 0) {
          add(was_required ? Severity::Breaking : Severity::Warning, "response-header-removed", op.method, op.path,
              old_.pointer_of({&m.value, old_list.base}),
              label(name) + (was_required ? " (required) was removed" : " was removed"));
          continue;
        }
        matched.set(static_cast<size_t>(k));
        const auto& nm = news->MemberBegin()[k];
        const Node nh = new_.follow({&nm.value, new_list.base});
        if (!oh.object() || !nh.object()) continue;
        if (was_required && !flag(nh.v, "required"))
          add(Severity::Breaking, "response-header-made-optional", op.method, op.path, new_.pointer_of(nh),
              label(str(nm.name)) + " is no longer required");
        const Node os = param_schema(oh), ns = param_schema(nh);
        if (os.v && ns.v) emit(op, compare(os, ns, Dir::Response), {Subject::Header, status, nullptr, str(nm.name)});
      }
    }
    if (!news) return;
    size_t k = 0;
    for (auto it = news->MemberBegin(); it != news->MemberEnd(); ++it, ++k)
      if (!matched.test(k) && !skipped(str(it->name)))
        add(Severity::Info, "response-header-added", op.method, op.path, new_.pointer_of({&it->value, new_list.base}),
            label(str(it->name)) + " was added");
  }

  void diff_content(const Operation& op, Node o, Node n, const Subject& subject) {
    const Node old_content = child(o, "content"), new_content = child(n, "content");
    auto find_media = [](const Value* content, std::string_view media) -> const Value* {
      if (content)
        for (const auto& m : content->GetObject())
          if (iequals(media_type(str(m.name)), media_type(media))) return &m.value;
      return nullptr;
    };
    const bool request = subject.kind == Subject::Request;
    auto what = [&] {
      return request ? std::string("request media type ") : "response " + std::string(subject.status) + " media type ";
    };
    if (const Value* olds = old_content.object()) {
      for (const auto& m : olds->GetObject()) {
        const Value* match = find_media(new_content.object(), str(m.name));
        if (!match) {
          add(Severity::Breaking, request ? "request-media-type-removed" : "response-media-type-removed", op.method,
              op.path, old_.pointer_of({&m.value, old_content.base}), what() + quoted(str(m.name)) + " was removed");
          continue;
        }
        if (!is_json(str(m.name))) continue;  // other media types: presence only
        const Node os = child({&m.value, old_content.base}, "schema"), ns = child({match, new_content.base}, "schema");
        if (os.v && ns.v) emit(op, compare(os, ns, request ? Dir::Request : Dir::Response), subject);
      }
    }
    if (const Value* news = new_content.object())
      for (const auto& m : news->GetObject())
        if (!find_media(old_content.object(), str(m.name)))
          add(Severity::Info, request ? "request-media-type-added" : "response-media-type-added", op.method, op.path,
              new_.pointer_of({&m.value, new_content.base}), what() + quoted(str(m.name)) + " was added");
  }

  void emit(const Operation& op, const std::vector<SchemaChange>& changes, const Subject& subject) {
    for (const SchemaChange& c : changes) {
      std::string message;
      std::string_view id = c.id;
      switch (subject.kind) {
        case Subject::Request:
          message = c.where.empty() ? "request body " : "request property " + quoted(c.where) + " ";
          break;
        case Subject::Response:
          message = "response " + std::string(subject.status) +
                    (c.where.empty() ? " body " : " property " + quoted(c.where) + " ");
          break;
        case Subject::Parameter:
          message = param_label(*subject.param) + (c.where.empty() ? " " : " property " + quoted(c.where) + " ");
          if (id == "request-property-type-changed") id = "parameter-type-changed";
          break;
        case Subject::Header:
          message = "response " + std::string(subject.status) + " header " + quoted(subject.header) +
                    (c.where.empty() ? " " : " property " + quoted(c.where) + " ");
          if (id == "response-property-type-changed") id = "response-header-type-changed";
          break;
      }
      add(c.severity, id, op.method, op.path, c.pointer, message + c.detail);
    }
  }

  // ---- security ----

  // The operation's own requirement overrides the global one; neither means no authentication.
  const Security& effective_security(Node op, const Security& global, Security& own) const {
    if (const Value* s = lookup(*op.v, "security"); s && s->IsArray()) return own = parse_security(*s);
    return global.empty() ? no_auth_ : global;
  }

  void diff_security(const Operation& op) {
    Security old_own, new_own;
    const Security& olds = effective_security(op.old_op, old_global_, old_own);
    const Security& news = effective_security(op.new_op, new_global_, new_own);
    // Where the new document states the effective requirement (spelled out only when needed).
    auto pointer = [&]() -> std::string {
      if (const Value* s = lookup(*op.new_op.v, "security"); s && s->IsArray())
        return new_.pointer_of(child(op.new_op, "security"));
      return new_global_.empty() ? new_.pointer_of(op.new_op) : "/security";
    };
    // Breaking when credentials that satisfied an old alternative satisfy no new one.
    for (const Requirement& have : olds) {
      if (accepted_by(have, news)) continue;
      // The same schemes, more scopes: name what the old credentials now lack.
      if (const Requirement missing = missing_scopes(have, news); !missing.empty())
        add(Severity::Breaking, "security-scopes-added", op.method, op.path, pointer(),
            "credentials for " + describe(have) + " now also need the scopes " + describe(missing));
      else
        add(Severity::Breaking, "security-requirement-added", op.method, op.path, pointer(),
            have.empty()
                ? "authentication is now required: " + describe(news)
                : "credentials for " + describe(have) + " are no longer enough; now required: " + describe(news));
      break;
    }
    for (const Requirement& offered : news) {
      if (accepted_by(offered, olds)) continue;
      // An old alternative with the same schemes and a superset of the scopes: scopes dropped.
      const Requirement* narrowed = nullptr;
      for (const Requirement& was : olds)
        if (same_schemes(offered, was) && satisfies(was, offered) &&
            (!narrowed || scope_count(was) < scope_count(*narrowed)))
          narrowed = &was;
      if (narrowed)
        add(Severity::Info, "security-scopes-removed", op.method, op.path, pointer(),
            "scopes no longer required: " + describe(extra_scopes(*narrowed, offered)) + " (was: " +
                describe(*narrowed) + ")");
      else
        add(Severity::Info, "security-requirement-removed", op.method, op.path, pointer(),
            "operation now accepts " + describe(offered) + " (was: " + describe(olds) + ")");
      break;
    }
  }

  // ---- schemas ----

  // The changes between two schemas, judged in one direction. The walk judges both (and is
  // memoized for both), so a component used in requests and responses is walked once.
  std::vector<SchemaChange> compare(Node o, Node n, Dir dir) {
    std::vector<SchemaChange> all;
    where_.clear();
    where_base_ = 0;
    expanded_.clear();
    low_ = SIZE_MAX;
    tainted_ = false;
    compare_schema(o, n, kBothDirs, all, 0);
    std::vector<SchemaChange> out;
    for (SchemaChange& c : all)
      if (c.dir == dir) out.push_back(std::move(c));
    // A shared or recursive schema is reached along several property paths: report each
    // change once, at the shortest path (ties: the first in text order).
    auto shorter = [](const SchemaChange& a, const SchemaChange& b) {
      return std::tuple(a.pointer, a.id, a.where.size(), a.where) <
             std::tuple(b.pointer, b.id, b.where.size(), b.where);
    };
    std::sort(out.begin(), out.end(), shorter);
    out.erase(std::unique(out.begin(), out.end(),
                          [](const auto& a, const auto& b) { return a.pointer == b.pointer && a.id == b.id; }),
              out.end());
    return out;
  }

  // The property path relative to the comparison that will own the change (see compare_schema).
  std::string where() const { return where_.substr(where_base_); }

  std::string where_with(std::string_view segment) const {
    std::string out = where();
    if (!out.empty() && segment != "[]") out += '.';
    return out += segment;
  }

  // Descends into `segment` of the property path; returns the length to restore.
  size_t enter(std::string_view segment) {
    const size_t mark = where_.size();
    if (where_.size() > where_base_ && segment != "[]") where_ += '.';
    where_ += segment;
    return mark;
  }

  void push_change(std::vector<SchemaChange>& out, Dir dir, Severity severity, std::string_view id, std::string where,
                   std::string pointer, std::string detail) {
    out.push_back({dir, severity, id, std::move(where), std::move(pointer), std::move(detail)});
  }

  void compare_schema(Node o, Node n, uint8_t dirs, std::vector<SchemaChange>& out, int depth) {
    if (depth > kMaxDepth || !o.v || !n.v || !dirs) return;
    bool old_ref = false, new_ref = false;
    const Node ro = old_.follow(o, &old_ref), rn = new_.follow(n, &new_ref);
    // Dangling references and boolean schemas: nothing to compare.
    if (!ro.object() || !rn.object()) return;
    if (!old_ref && !new_ref) {
      compare_resolved(ro, rn, dirs, out, depth);
      return;
    }
    // Referenced pairs are shared (and may recurse): compare each once, reuse the result.
    const PairKey key{ro.v, rn.v, dirs};
    if (auto it = memo_.find(key); it != memo_.end()) {
      append(it->second, out);
      return;
    }
    for (size_t level = 0; level < stack_.size(); ++level) {
      if (stack_[level] == key) {  // a cycle: the outer comparison of this pair reports it
        low_ = std::min(low_, level);
        return;
      }
    }
    if (!expanded_.insert(key).second) {
      // Compared earlier in this walk but not memoized (it sat on a cycle): already reported,
      // and whatever contains it now is incomplete on its own, so it must not be memoized.
      tainted_ = true;
      return;
    }
    const size_t level = stack_.size();
    stack_.push_back(key);
    const size_t outer_low = std::exchange(low_, SIZE_MAX);
    // Changes found below are relative to this pair: reusable wherever the pair shows up again.
    const size_t outer_base = std::exchange(where_base_, where_.size());
    std::vector<SchemaChange> local;
    compare_resolved(ro, rn, dirs, local, depth + 1);
    where_base_ = outer_base;
    stack_.pop_back();
    // Memoize only results that do not depend on a comparison still in progress above.
    const bool complete = low_ >= level && !tainted_;
    low_ = std::min(outer_low, complete ? SIZE_MAX : low_);
    append(local, out);
    if (complete) memo_.emplace(key, std::move(local));
  }

  void append(const std::vector<SchemaChange>& changes, std::vector<SchemaChange>& out) const {
    for (const SchemaChange& c : changes) {
      SchemaChange copy = c;
      if (where_.size() > where_base_) {
        const std::string prefix = where();
        copy.where = c.where.empty() ? prefix : c.where.starts_with("[") ? prefix + c.where : prefix + "." + c.where;
      }
      out.push_back(std::move(copy));
    }
  }

  void compare_resolved(Node o, Node n, uint8_t dirs, std::vector<SchemaChange>& out, int depth) {
    // Depth grows strictly along the recursion, so each level owns its two views.
    while (views_.size() < 2 * static_cast<size_t>(depth) + 2) views_.push_back(std::make_unique<View>());
    View& ov = *views_[2 * depth];
    View& nv = *views_[2 * depth + 1];
    build_view(old_, o, ov);
    build_view(new_, n, nv);
    for (Dir dir : kDirs) {
      if (!(dirs & bit(dir))) continue;
      const bool request = dir == Dir::Request;
      const std::string_view type_id = request ? "request-property-type-changed" : "response-property-type-changed";
      if (ov.types && nv.types) {
        // A request may accept more types than before, a response may return fewer.
        const uint8_t extra = request ? ov.types & ~widened(nv.types) : nv.types & ~widened(ov.types);
        if (extra) {
          push_change(out, dir, Severity::Breaking, type_id, where(), new_.pointer_of(n),
                      "type changed from " + type_names(ov.types) + " to " + type_names(nv.types));
          continue;  // the format and enum of another type say nothing more
        }
      }
      if (!ov.format.empty() && !nv.format.empty() && ov.format != nv.format)
        push_change(out, dir, Severity::Breaking, type_id, where(), new_.pointer_of(n),
                    "format changed from " + std::string(ov.format) + " to " + std::string(nv.format));
      compare_enums(ov, nv, dir, out);
      compare_bounds(ov, nv, dir, out);
      compare_patterns(ov, nv, dir, out);
    }
    compare_compositions(ov, nv, dirs, out, depth);
    compare_discriminators(ov, nv, dirs, out);
    if (ov.may_be(kObject) && nv.may_be(kObject)) compare_properties(ov, nv, dirs, out, depth);
    if (ov.items.v && nv.items.v && ov.may_be(kArray) && nv.may_be(kArray)) {
      const size_t mark = enter("[]");
      compare_schema(ov.items, nv.items, dirs, out, depth + 1);
      where_.resize(mark);
    }
    if (ov.additional.v && nv.additional.v) {
      const size_t mark = enter("*");
      compare_schema(ov.additional, nv.additional, dirs, out, depth + 1);
      where_.resize(mark);
    }
  }

  void compare_enums(const View& ov, const View& nv, Dir dir, std::vector<SchemaChange>& out) {
    if (!ov.has_enum && !nv.has_enum) return;
    auto pointer = [&] { return new_.pointer_of(nv.node); };
    if (dir == Dir::Request) {
      if (!nv.has_enum) return;
      if (!ov.has_enum) {
        push_change(out, dir, Severity::Breaking, "request-enum-narrowed", where(), pointer(),
                    "now accepts only " + join_values(enum_missing(nv, nullptr)));
      } else if (const auto gone = enum_missing(ov, &nv); !gone.empty()) {
        push_change(out, dir, Severity::Breaking, "request-enum-narrowed", where(), pointer(),
                    "no longer accepts " + join_values(gone));
      }
      return;
    }
    if (!ov.has_enum) return;
    if (!nv.has_enum) {
      push_change(out, dir, Severity::Breaking, "response-enum-widened", where(), pointer(),
                  "is no longer limited to " + join_values(enum_missing(ov, nullptr)));
    } else if (const auto added = enum_missing(nv, &ov); !added.empty()) {
      push_change(out, dir, Severity::Breaking, "response-enum-widened", where(), pointer(),
                  "may now hold " + join_values(added));
    }
  }

  // A request bound that is new or tighter refuses payloads that passed; a response bound that
  // is gone or looser lets through values clients never saw. The other directions are fine.
  void compare_bounds(const View& ov, const View& nv, Dir dir, std::vector<SchemaChange>& out) {
    const uint8_t declared = ov.bound_mask | nv.bound_mask;
    if (!declared) return;
    const bool request = dir == Dir::Request;
    const Bound none{}, zero{nullptr, 0, false};
    for (size_t i = 0; i < kBoundCount; ++i) {
      if (!(declared & (1u << i))) continue;
      const BoundKeyword& k = kBounds[i];
      const Bound& o = ov.bound_mask & (1u << i) ? ov.bounds[i] : none;
      const Bound& n = nv.bound_mask & (1u << i) ? nv.bounds[i] : none;
      // What each side enforces (an absent minLength is minLength 0); unbounded: no value.
      const Bound* eo = o.value ? &o : k.zero_default ? &zero : nullptr;
      const Bound* en = n.value ? &n : k.zero_default ? &zero : nullptr;
      // For requests the new bound must not be tighter than the old one; for responses the old
      // must not be tighter than the new one.
      const Bound* strict = request ? en : eo;
      const Bound* loose = request ? eo : en;
      if (!strict || (loose && !tighter(*strict, *loose, k.upper))) continue;
      const std::string kw(k.keyword);
      std::string detail;
      if (request && !o.value) {
        detail = kw + " " + bound_text(n) + " was added";
      } else if (!request && !n.value) {
        detail = kw + " " + bound_text(o) + " was removed";
      } else if (eo->number == en->number) {
        detail = kw + " " + number_text(*en) + (en->exclusive ? " is now exclusive" : " is no longer exclusive");
      } else {
        detail = kw + (en->number < eo->number ? " decreased from " : " increased from ") + bound_text(*eo) + " to " +
                 bound_text(*en);
      }
      push_change(out, dir, request ? Severity::Breaking : Severity::Warning, request ? k.request_id : k.response_id,
                  where(), new_.pointer_of(nv.node), std::move(detail));
    }
  }

  // Whether `a` admits fewer values than `b` (at one value, the exclusive bound is tighter).
  static bool tighter(const Bound& a, const Bound& b, bool upper) {
    if (a.number != b.number) return upper ? a.number < b.number : a.number > b.number;
    return a.exclusive && !b.exclusive;
  }

  static std::string number_text(const Bound& b) { return b.value ? to_json_text(*b.value) : "0"; }
  static std::string bound_text(const Bound& b) { return number_text(b) + (b.exclusive ? " (exclusive)" : ""); }

  // Regular expressions cannot be compared: a new request pattern is breaking, a changed one a
  // warning either way, a dropped one only matters to clients reading responses.
  void compare_patterns(const View& ov, const View& nv, Dir dir, std::vector<SchemaChange>& out) {
    if (!ov.pattern && !nv.pattern) return;
    if (ov.pattern && nv.pattern && *ov.pattern == *nv.pattern) return;
    const bool request = dir == Dir::Request;
    auto text = [](const Value* p) { return to_json_text(*p); };
    if (ov.pattern && nv.pattern)
      push_change(out, dir, Severity::Warning, request ? "request-pattern-changed" : "response-pattern-changed",
                  where(), new_.pointer_of(nv.node),
                  "pattern changed from " + text(ov.pattern) + " to " + text(nv.pattern));
    else if (request && nv.pattern)
      push_change(out, dir, Severity::Breaking, "request-pattern-added", where(), new_.pointer_of(nv.node),
                  "pattern " + text(nv.pattern) + " was added");
    else if (!request && ov.pattern)
      push_change(out, dir, Severity::Warning, "response-pattern-removed", where(), new_.pointer_of(nv.node),
                  "pattern " + text(ov.pattern) + " was removed");
  }

  // oneOf / anyOf branches are matched old ↔ new and compared like any schema (see
  // compare_branches). A whole oneOf / anyOf added or removed, or any change to `not`, is not
  // judged: a warning to look at.
  void compare_compositions(const View& ov, const View& nv, uint8_t dirs, std::vector<SchemaChange>& out,
                            int depth) {
    if (ov.compositions.empty() && nv.compositions.empty()) return;
    auto warn = [&](std::string pointer, std::string detail) {
      for (Dir dir : kDirs)
        if (dirs & bit(dir))
          push_change(out, dir, Severity::Warning, "schema-composition-changed", where(), pointer, detail);
    };
    for (std::string_view kw : {"oneOf", "anyOf", "not"}) {
      std::vector<const Composition*> olds, news;
      for (const auto& c : ov.compositions)
        if (c.keyword == kw) olds.push_back(&c);
      for (const auto& c : nv.compositions)
        if (c.keyword == kw) news.push_back(&c);
      for (size_t k = 0; k < std::max(olds.size(), news.size()); ++k) {
        const std::string kw_text(kw);
        if (k >= olds.size()) {
          warn(new_.pointer_of(child(news[k]->owner, kw)), kw_text + " was added");
        } else if (k >= news.size()) {
          warn(old_.pointer_of(child(olds[k]->owner, kw)), kw_text + " was removed");
        } else {
          Equivalence eq(old_, new_);
          const Value &was = *olds[k]->value, &now = *news[k]->value;
          const bool list = kw != "not" && was.IsArray() && now.IsArray();
          // Branches are matched pairwise: past a bound on the pairs, only identical text counts
          // as unchanged, and a change is a warning (a hostile document cannot make this quadratic).
          // Lists within the bound go to compare_branches, which finds equivalent ones unchanged.
          const bool pairwise = !list || uint64_t{was.Size()} * now.Size() <= kMaxBranchPairs;
          if (list && pairwise) {
            compare_branches(*olds[k], *news[k], eq, dirs, out, depth);
          } else if (list ? was != now : !eq.same(was, now, kw == "not" ? Shape::Schema : Shape::SchemaList)) {
            warn(new_.pointer_of(child(news[k]->owner, kw)), kw_text + " changed");
          }
        }
      }
    }
  }

  // "oneOf branch "#/components/schemas/Cat"", or "anyOf branch 1 (integer)" for an inline one.
  std::string branch_label(Side& side, const Composition& c, SizeType index) {
    const Value& branch = (*c.value)[index];
    std::string out = std::string(c.keyword) + " branch ";
    if (const Value* ref = string_member(&branch, "$ref")) return out + quoted(str(*ref));
    out += std::to_string(index);
    const Node resolved = side.follow({&branch, c.owner.base});
    if (const Value* type = resolved.object() ? lookup(*resolved.v, "type") : nullptr)
      if (const uint8_t types = parse_types(*type)) out += " (" + type_names(types) + ")";
    return out;
  }

  // Branches pair up by the same $ref text, then by equivalence (reordered, or inlined as
  // the same shape), then the remaining inline ones by position, same declared types first.
  // Pairs are compared recursively, so a change inside a branch reads like any other. What is
  // left over is a shape a client can no longer send, or may now receive.
  void compare_branches(const Composition& oc, const Composition& nc, Equivalence& eq, uint8_t dirs,
                        std::vector<SchemaChange>& out, int depth) {
    const Value &olds = *oc.value, &news = *nc.value;
    constexpr SizeType kNone = ~SizeType{0};
    std::vector<SizeType> pair(olds.Size(), kNone);
    std::vector<bool> taken(news.Size()), equivalent(olds.Size());
    auto ref_of = [](const Value& b) { return string_member(&b, "$ref"); };
    auto match = [&](auto&& accept) {
      for (SizeType i = 0; i < olds.Size(); ++i)
        for (SizeType j = 0; j < news.Size() && pair[i] == kNone; ++j)
          if (!taken[j] && accept(i, j)) {
            pair[i] = j;
            taken[j] = true;
          }
    };
    match([&](SizeType i, SizeType j) {
      const Value *ra = ref_of(olds[i]), *rb = ref_of(news[j]);
      return ra && rb && *ra == *rb;
    });
    match([&](SizeType i, SizeType j) { return equivalent[i] = eq.same(olds[i], news[j], Shape::Schema); });
    auto declared = [](const Value& b) {
      const Value* type = lookup(b, "type");
      return type ? parse_types(*type) : uint8_t{0};
    };
    auto inline_pair = [&](SizeType i, SizeType j) { return !ref_of(olds[i]) && !ref_of(news[j]); };
    match([&](SizeType i, SizeType j) { return inline_pair(i, j) && declared(olds[i]) == declared(news[j]); });
    match(inline_pair);

    for (SizeType i = 0; i < olds.Size(); ++i)
      if (pair[i] != kNone && !equivalent[i])
        compare_schema({&olds[i], oc.owner.base}, {&news[pair[i]], nc.owner.base}, dirs, out, depth + 1);
    for (SizeType i = 0; i < olds.Size(); ++i) {
      if (pair[i] != kNone) continue;
      const std::string pointer = old_.pointer_of({&olds[i], oc.owner.base});
      const std::string detail = branch_label(old_, oc, i) + " was removed";
      // A payload of that shape is now refused; a response simply no longer takes it.
      if (dirs & bit(Dir::Request))
        push_change(out, Dir::Request, Severity::Breaking, "request-schema-branch-removed", where(), pointer, detail);
      if (dirs & bit(Dir::Response))
        push_change(out, Dir::Response, Severity::Info, "response-schema-branch-removed", where(), pointer, detail);
    }
    for (SizeType j = 0; j < news.Size(); ++j) {
      if (taken[j]) continue;
      const std::string pointer = new_.pointer_of({&news[j], nc.owner.base});
      const std::string detail = branch_label(new_, nc, j) + " was added";
      // A client may meet a shape it does not know; a request may simply send one more.
      if (dirs & bit(Dir::Response))
        push_change(out, Dir::Response, Severity::Warning, "response-schema-branch-added", where(), pointer, detail);
      if (dirs & bit(Dir::Request))
        push_change(out, Dir::Request, Severity::Info, "request-schema-branch-added", where(), pointer, detail);
    }
  }

  // The discriminator says which branch a payload is: its property must not move, a value
  // clients send must stay known, and a value they receive must not be new to them. Mappings
  // are compared only when both sides spell one out (implicit ones are the schema names).
  void compare_discriminators(const View& ov, const View& nv, uint8_t dirs, std::vector<SchemaChange>& out) {
    const Value *od = ov.discriminator.v, *nd = nv.discriminator.v;
    if (!od && !nd) return;
    if (!od || !nd) {
      const std::string pointer = od ? old_.pointer_of(ov.discriminator) : new_.pointer_of(nv.discriminator);
      for (Dir dir : kDirs)
        if (dirs & bit(dir))
          push_change(out, dir, Severity::Warning, "schema-composition-changed", where(), pointer,
                      od ? "discriminator was removed" : "discriminator was added");
      return;
    }
    const Value *op = string_member(od, "propertyName"), *np = string_member(nd, "propertyName");
    if (op && np && *op != *np) {
      const std::string pointer = new_.pointer_of(child(nv.discriminator, "propertyName"));
      for (Dir dir : kDirs)
        if (dirs & bit(dir))
          push_change(out, dir, Severity::Breaking, "discriminator-property-changed", where(), pointer,
                      "discriminator property changed from " + quoted(str(*op)) + " to " + quoted(str(*np)));
      return;  // the mappings are about another property now
    }
    const Node om = child(ov.discriminator, "mapping"), nm = child(nv.discriminator, "mapping");
    if (!om.object() || !nm.object()) return;
    if (dirs & bit(Dir::Request))
      for (const auto& m : om.v->GetObject())
        if (!lookup(*nm.v, str(m.name)))
          push_change(out, Dir::Request, Severity::Breaking, "request-discriminator-mapping-removed", where(),
                      old_.pointer_of({&m.value, om.base}),
                      "discriminator value " + quoted(str(m.name)) + " was removed");
    if (dirs & bit(Dir::Response))
      for (const auto& m : nm.v->GetObject())
        if (!lookup(*om.v, str(m.name)))
          push_change(out, Dir::Response, Severity::Warning, "response-discriminator-mapping-added", where(),
                      new_.pointer_of({&m.value, nm.base}),
                      "discriminator value " + quoted(str(m.name)) + " was added");
  }

  // The directions in which a property does not count: readOnly ones are not sent by clients,
  // writeOnly ones are not returned to them. Marked on the property or on what it references.
  uint8_t ignored_dirs(Side& side, Node prop) {
    if (!prop.v || !prop.v->IsObject()) return 0;
    uint8_t dirs = 0;
    const Value* ref = nullptr;
    auto scan = [&](const Value& schema) {
      for (const auto& m : schema.GetObject()) {
        const std::string_view key = str(m.name);
        const bool set = m.value.IsBool() && m.value.GetBool();
        if (is(key, "readOnly") && set) dirs |= bit(Dir::Request);
        if (is(key, "writeOnly") && set) dirs |= bit(Dir::Response);
        if (is(key, "$ref")) ref = &m.value;
      }
    };
    scan(*prop.v);
    if (ref)
      if (const Value* target = side.follow(prop).object()) scan(*target);
    return dirs;
  }

  void compare_properties(const View& ov, const View& nv, uint8_t dirs, std::vector<SchemaChange>& out, int depth) {
    constexpr uint8_t kRequest = bit(Dir::Request), kResponse = bit(Dir::Response);
    Marks matched(nv.properties.size());
    for (size_t i = 0; i < ov.properties.size(); ++i) {
      const auto& [name, old_prop] = ov.properties[i];
      const long k = nv.index_of(name, i);
      if (k < 0) {
        const uint8_t live = dirs & ~ignored_dirs(old_, old_prop);
        if (live & kResponse)
          push_change(out, Dir::Response, Severity::Breaking, "response-property-removed", where_with(name),
                      old_.pointer_of(old_prop), "was removed");
        if ((live & kRequest) && nv.closed)
          push_change(out, Dir::Request, Severity::Breaking, "request-property-removed-closed", where_with(name),
                      old_.pointer_of(old_prop), "was removed and the schema no longer accepts unknown properties");
        else if (live & kRequest)
          push_change(out, Dir::Request, Severity::Warning, "request-property-removed", where_with(name),
                      old_.pointer_of(old_prop), "was removed");
        continue;
      }
      matched.set(static_cast<size_t>(k));
      const Node new_prop = nv.properties[k].second;
      const uint8_t live = dirs & ~ignored_dirs(new_, new_prop);
      if (!live) continue;
      if ((live & kRequest) && !ov.is_required(name) && nv.is_required(name))
        push_change(out, Dir::Request, Severity::Breaking, "request-property-made-required", where_with(name),
                    new_.pointer_of(new_prop), "is now required");
      if ((live & kResponse) && ov.is_required(name) && !nv.is_required(name))
        push_change(out, Dir::Response, Severity::Breaking, "response-property-made-optional", where_with(name),
                    new_.pointer_of(new_prop), "is no longer required");
      const size_t mark = enter(name);
      compare_schema(old_prop, new_prop, live, out, depth + 1);
      where_.resize(mark);
    }
    for (size_t k = 0; k < nv.properties.size(); ++k) {
      if (matched.test(k)) continue;
      const auto& [name, prop] = nv.properties[k];
      const uint8_t live = dirs & ~ignored_dirs(new_, prop);
      if ((live & kRequest) && nv.is_required(name))
        push_change(out, Dir::Request, Severity::Breaking, "request-property-added-required", where_with(name),
                    new_.pointer_of(prop), "was added as required");
      else if (live & kRequest)
        push_change(out, Dir::Request, Severity::Info, "request-property-added", where_with(name),
                    new_.pointer_of(prop), "was added");
      if ((live & kResponse) && ov.closed)
        push_change(out, Dir::Response, Severity::Warning, "response-property-added-closed", where_with(name),
                    new_.pointer_of(prop), "was added to a schema that allowed no other properties");
      else if (live & kResponse)
        push_change(out, Dir::Response, Severity::Info, "response-property-added", where_with(name),
                    new_.pointer_of(prop), "was added");
    }
    // Names required without a property schema on either side.
    auto schemaless = [&](std::string_view name) { return ov.index_of(name, 0) < 0 && nv.index_of(name, 0) < 0; };
    if (dirs & kRequest)
      for (std::string_view name : nv.required) {
        if (ov.is_required(name) || !schemaless(name)) continue;
        const Node list = child(nv.node, "required");
        push_change(out, Dir::Request, Severity::Breaking, "request-property-added-required", where_with(name),
                    new_.pointer_of(list.v ? list : nv.node), "is now required");
      }
    if (dirs & kResponse)
      for (std::string_view name : ov.required) {
        if (nv.is_required(name) || !schemaless(name)) continue;
        push_change(out, Dir::Response, Severity::Breaking, "response-property-made-optional", where_with(name),
                    new_.pointer_of(nv.node), "is no longer required");
      }
  }

  Side old_, new_;
  Security old_global_, new_global_;  // empty: the document declares none
  const Security no_auth_{Requirement{}};
  std::vector<Finding> findings_;
  std::string where_;      // property path inside the schema comparison under way
  size_t where_base_ = 0;  // where the innermost referenced pair's own path starts in where_
  std::unordered_map<PairKey, std::vector<SchemaChange>, PairHash> memo_;
  std::unordered_set<PairKey, PairHash> expanded_;  // pairs compared in the current walk
  std::vector<PairKey> stack_;                      // referenced pairs being compared
  std::vector<std::unique_ptr<View>> views_;        // two per recursion depth, reused
  size_t low_ = SIZE_MAX;                           // shallowest stack level the current result depends on
  bool tainted_ = false;                            // a repeat was skipped: memoize nothing more this walk
};

}  // namespace

bool OpenApiDiff::breaking() const { return needs_major_bump(findings); }

bool needs_major_bump(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Severity::Breaking; });
}

OpenApiDiff diff_openapi(const rapidjson::Value& old_doc, const rapidjson::Value& new_doc) {
  return {Differ(old_doc, new_doc).run()};
}

}  // namespace roster::governance
