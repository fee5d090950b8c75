#include "roster/governance/schema_compat.hpp"

#include <pthread.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <unordered_map>
#include <utility>

#include <rapidjson/pointer.h>

#include "roster/governance/json_document.hpp"

namespace roster::governance {

namespace {

using rapidjson::SizeType;
using rapidjson::Value;

// A comparison walks every pair of subschemas at most once per walker, but `anyOf` probes and recursive
// schemas multiply pairs; past these limits it stops and reports that it could not finish.
constexpr long kBudget = 200000;
constexpr int kMaxDepth = 4000;          // a backstop: the stack check below usually stops first
constexpr size_t kMaxConjunction = 512;  // schemas one allOf expansion may gather
// std::regex recurses as it compiles and matches: longer patterns or subjects are not evaluated.
constexpr size_t kMaxRegexLength = 1000;

// The lowest stack address the comparison may recurse down to: a quarter of what the calling thread has left is
// kept for the rest of its work (frame sizes differ a lot between release, debug and sanitizer builds).
std::uintptr_t stack_floor() {
  const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  std::uintptr_t available = 256 * 1024;  // when the thread's stack cannot be found
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* low = nullptr;
    size_t size = 0;
    if (pthread_attr_getstack(&attr, &low, &size) == 0 && here > reinterpret_cast<std::uintptr_t>(low))
      available = here - reinterpret_cast<std::uintptr_t>(low);
    pthread_attr_destroy(&attr);
  }
  return here - available / 4 * 3;
}

// ---- Types: "number" is integers plus the rest, so integer ⊂ number falls out of set inclusion.
enum : unsigned {
  kNull = 1,
  kBoolean = 2,
  kObject = 4,
  kArray = 8,
  kInteger = 16,
  kFraction = 32,
  kString = 64,
  kAnyType = 127
};
constexpr unsigned kNumber = kInteger | kFraction;

std::string_view text(const Value& s) { return {s.GetString(), s.GetStringLength()}; }
std::string shown(std::string_view pointer) { return "#" + std::string(pointer); }

unsigned type_bits(std::string_view name) {
  if (name == "null") return kNull;
  if (name == "boolean") return kBoolean;
  if (name == "object") return kObject;
  if (name == "array") return kArray;
  if (name == "integer") return kInteger;
  if (name == "number") return kNumber;
  if (name == "string") return kString;
  return kAnyType;  // not a draft-07 type: constrains nothing we can name
}

unsigned value_type(const Value& v) {
  if (v.IsNull()) return kNull;
  if (v.IsBool()) return kBoolean;
  if (v.IsObject()) return kObject;
  if (v.IsArray()) return kArray;
  if (v.IsString()) return kString;
  if (v.IsInt64() || v.IsUint64()) return kInteger;
  const double d = v.GetDouble();
  return std::isfinite(d) && d == std::floor(d) ? kInteger : kFraction;  // draft-07: 1.0 is an integer
}

std::string type_names(unsigned bits) {
  std::string out;
  auto add = [&](unsigned bit, const char* name) {
    if ((bits & bit) != bit) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(kNull, "null");
  add(kBoolean, "boolean");
  add(kObject, "object");
  add(kArray, "array");
  if ((bits & kNumber) == kNumber)
    add(kNumber, "number");
  else if (bits & kInteger)
    add(kInteger, "integer");
  else
    add(kFraction, "non-integer number");
  add(kString, "string");
  return out.empty() ? "nothing" : out;
}

// The "type" keyword of a schema object (plus OpenAPI 3.0's `nullable`); every type when absent.
unsigned declared_types(const Value& node) {
  const Value* type = member(node, "type");
  if (!type) return kAnyType;
  unsigned bits = 0;
  if (type->IsString()) {
    bits = type_bits(text(*type));
  } else if (type->IsArray()) {
    for (const Value& t : type->GetArray())
      if (t.IsString()) bits |= type_bits(text(t));
  } else {
    return kAnyType;
  }
  if (const Value* nullable = member(node, "nullable"); nullable && nullable->IsBool() && nullable->GetBool())
    bits |= kNull;
  return bits;
}

std::optional<double> number_of(const Value& node, std::string_view keyword) {
  const Value* v = member(node, keyword);
  if (!v || !v->IsNumber()) return std::nullopt;
  return v->GetDouble();
}

// Keywords that do not constrain instances (OpenAPI's and "x-" extensions included).
bool is_annotation(std::string_view k) {
  static constexpr std::string_view kAnnotations[] = {
      "title",     "description", "default",       "examples",    "example",     "$comment",
      "$id",       "id",          "$schema",       "definitions", "$defs",       "readOnly",
      "writeOnly", "deprecated",  "discriminator", "xml",         "externalDocs"};
  return k.starts_with("x-") ||
         std::find(std::begin(kAnnotations), std::end(kAnnotations), k) != std::end(kAnnotations);
}

// JSON equality (numbers by value, members in any order) that gives up past a depth RapidJSON's own recursive
// operator== could not handle: `unknown` is the answer then, chosen by each caller to err on the cautious side.
bool equal(const Value& a, const Value& b, bool unknown, int depth = 0) {
  if (depth > 128) return unknown;
  if (a.IsObject() && b.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) return false;
    for (const auto& m : a.GetObject()) {
      const Value* other = member(b, text(m.name));
      if (!other || !equal(m.value, *other, unknown, depth + 1)) return false;
    }
    return true;
  }
  if (a.IsArray() && b.IsArray()) {
    if (a.Size() != b.Size()) return false;
    for (SizeType i = 0; i < a.Size(); ++i)
      if (!equal(a[i], b[i], unknown, depth + 1)) return false;
    return true;
  }
  if (a.IsObject() || a.IsArray() || b.IsObject() || b.IsArray()) return false;
  return a == b;  // scalars: RapidJSON compares numbers by value
}

// A value for a message: short, and never deep (to_json_text recurses); nested containers are only named.
std::string value_text(const Value& v) {
  auto nested = [](const Value& x) { return x.IsObject() || x.IsArray(); };
  if (v.IsObject() && std::any_of(v.MemberBegin(), v.MemberEnd(), [&](const auto& m) { return nested(m.value); }))
    return "an object";
  if (v.IsArray() && std::any_of(v.Begin(), v.End(), nested)) return "an array";
  std::string out = to_json_text(v);
  return out.size() > 80 ? out.substr(0, 77) + "..." : out;
}

bool has_ref(const Value& v, int depth) {
  if (depth > 256) return true;  // too deep to tell: assume it may
  if (v.IsObject()) {
    for (const auto& m : v.GetObject())
      if (text(m.name) == "$ref" || has_ref(m.value, depth + 1)) return true;
  } else if (v.IsArray()) {
    for (const Value& e : v.GetArray())
      if (has_ref(e, depth + 1)) return true;
  }
  return false;
}

bool is_true(const Value* v) { return v && v->IsBool() && v->GetBool(); }
bool is_false(const Value* v) { return v && v->IsBool() && !v->GetBool(); }

std::string number_text(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  std::string s = std::to_string(d);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  return s;
}

size_t code_points(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

bool is_multiple(double x, double of) {
  const double q = x / of;
  return std::isfinite(q) && std::fabs(q - std::round(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
}

// ---- Numeric bounds: `maximum` (with draft-04's boolean exclusiveMaximum) and draft-06+ numeric exclusiveMaximum.
struct Bound {
  double value = 0;
  bool exclusive = false;
  std::string_view keyword;
};

// Is `a` at least as tight as `b`, for upper (`upper`) or lower bounds?
bool tighter(const Bound& a, const Bound& b, bool upper) {
  if (a.value != b.value) return upper ? a.value < b.value : a.value > b.value;
  return a.exclusive || !b.exclusive;
}

std::optional<Bound> bound_of(const Value& node, bool upper) {
  const char* inclusive_kw = upper ? "maximum" : "minimum";
  const char* exclusive_kw = upper ? "exclusiveMaximum" : "exclusiveMinimum";
  std::optional<Bound> out;
  if (auto v = number_of(node, inclusive_kw)) out = Bound{*v, is_true(member(node, exclusive_kw)), inclusive_kw};
  if (auto v = number_of(node, exclusive_kw)) {
    const Bound b{*v, true, exclusive_kw};
    if (!out || tighter(b, *out, upper)) out = b;
  }
  return out;
}

std::string bound_text(const Bound& b, bool upper) {
  return std::string(upper ? (b.exclusive ? "< " : "<= ") : (b.exclusive ? "> " : ">= ")) + number_text(b.value);
}

// ---- The two sides of a comparison.
struct Node {
  const Value* value;   // a schema object, "$ref"s followed
  std::string pointer;  // where it is in its document
};

// The writer side: every instance satisfies all `nodes` and one branch of each of `choices`.
struct Conj {
  std::string at;  // where the comparison stands in the writer's document
  std::vector<Node> nodes;
  std::vector<Node> choices;            // anyOf / oneOf arrays not yet split into branches
  std::vector<std::string> unresolved;  // "$ref"s that did not resolve, by location
  std::vector<const Value*> seen;       // schemas already expanded into this conjunction
  const Value* origin = nullptr;        // the schema it was built from, while there is only one
  int sources = 0;
  unsigned types = kAnyType;   // narrowed when the writer is split by type
  bool empty = false;          // a false schema: accepts nothing
  std::vector<Node> excluded;  // the other branches of a oneOf this one was split from: instances match none
};

std::string where(const Conj& c) { return c.nodes.empty() ? c.at : c.nodes.front().pointer; }

// Where the writer states `keyword` (for a finding's writer location), else where it stands.
std::string writer_at(const Conj& w, std::string_view keyword) {
  for (const Node& n : w.nodes)
    if (member(*n.value, keyword)) return pointer_append(n.pointer, keyword);
  return where(w);
}

bool writer_has(const Conj& w, std::string_view keyword) {
  return std::any_of(w.nodes.begin(), w.nodes.end(), [&](const Node& n) { return member(*n.value, keyword); });
}

// Tightest value of a numeric keyword over the writer's nodes: the smallest for max-like keywords.
std::optional<double> writer_tightest(const Conj& w, std::string_view keyword, bool smallest) {
  std::optional<double> out;
  for (const Node& n : w.nodes)
    if (auto v = number_of(*n.value, keyword)) out = !out ? *v : smallest ? std::min(*out, *v) : std::max(*out, *v);
  return out;
}

std::optional<Bound> writer_bound(const Conj& w, bool upper) {
  std::optional<Bound> out;
  for (const Node& n : w.nodes)
    if (auto b = bound_of(*n.value, upper); b && (!out || tighter(*b, *out, upper))) out = b;
  return out;
}

// What the writer's nodes say about its instances as a whole.
struct Facts {
  unsigned types = kAnyType;
  bool finite = false;  // enum / const: the writer allows only `values`
  std::vector<const Value*> values;
};

Facts facts_of(const Conj& w) {
  Facts f;
  f.types = w.types;
  auto intersect = [&](std::vector<const Value*> allowed) {
    if (!f.finite) {
      f.values = std::move(allowed);
      f.finite = true;
      return;
    }
    std::erase_if(f.values, [&](const Value* v) {
      // Too deep to compare: keep the value, so the writer is never made to look narrower than it is.
      return std::none_of(allowed.begin(), allowed.end(), [&](const Value* a) { return equal(*a, *v, true); });
    });
  };
  for (const Node& n : w.nodes) {
    f.types &= declared_types(*n.value);
    if (const Value* c = member(*n.value, "const")) intersect({c});
    if (const Value* e = member(*n.value, "enum"); e && e->IsArray()) {
      std::vector<const Value*> allowed;
      for (const Value& v : e->GetArray()) allowed.push_back(&v);
      intersect(std::move(allowed));
    }
  }
  if (f.finite) {
    std::erase_if(f.values, [&](const Value* v) { return (value_type(*v) & f.types) == 0; });
    unsigned seen = 0;
    for (const Value* v : f.values) seen |= value_type(*v);
    f.types &= seen;
  }
  return f;
}

Facts restricted(const Facts& f, unsigned types) {
  Facts out = f;
  out.types &= types;
  std::erase_if(out.values, [&](const Value* v) { return (value_type(*v) & out.types) == 0; });
  return out;
}

struct Issue {
  std::string id, reader_at, writer_at, message;
};

// State every walker of one comparison shares: probes and swapped walkers included.
struct Shared {
  explicit Shared(const CompatibilityOptions& o) : options(o), floor(stack_floor()) {}
  const CompatibilityOptions& options;
  long budget = kBudget;
  std::uintptr_t floor;  // see stack_floor()
  bool exhausted = false;
  // Pairs being compared further up the call chain. A recursive schema meets its own pair again; assuming the
  // pair compatible there is sound because instances are finite, so the recursion must bottom out elsewhere.
  std::set<std::string> in_progress;
  // Outcomes of finished pairs, so probes (anyOf branches, `not`, if/then/else) do not walk them again. A pass
  // that leaned on an in-progress assumption is kept too: should that assumption fail, its failure is reported,
  // so the comparison as a whole still fails.
  struct Outcome {
    bool ok;
    std::string id, message;  // the first issue, when not ok
  };
  std::unordered_map<std::string, Outcome> outcomes;
  std::map<std::string, std::optional<std::regex>, std::less<>> regexes;

  // JSON Schema patterns are ECMA 262 and unanchored; nullopt when std::regex cannot evaluate it.
  std::optional<bool> search(std::string_view pattern, std::string_view subject) {
    if (pattern.size() > kMaxRegexLength || subject.size() > kMaxRegexLength) return std::nullopt;
    auto it = regexes.find(pattern);
    if (it == regexes.end()) {
      std::optional<std::regex> re;
      try {
        re.emplace(pattern.begin(), pattern.end(), std::regex::ECMAScript);
      } catch (const std::exception&) {
      }
      it = regexes.emplace(std::string(pattern), std::move(re)).first;
    }
    if (!it->second) return std::nullopt;
    try {
      return std::regex_search(subject.begin(), subject.end(), *it->second);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
};

// Compares a writer against a reader, collecting issues with locations on both sides.
class Walker {
 public:
  Walker(const Value& writer_root, const Value& reader_root, Shared& shared)
      : wroot_(writer_root), rroot_(reader_root), shared_(shared) {}

  std::vector<Issue> issues;

  Conj writer_conj(const Value& schema, const std::string& pointer) {
    Conj c;
    c.at = pointer;
    add_source(c, schema, pointer);
    return c;
  }

  // Adds one more schema the writer's instances satisfy.
  void add_source(Conj& c, const Value& schema, const std::string& pointer) {
    c.origin = ++c.sources == 1 ? &schema : nullptr;
    add(c, schema, pointer, true);
  }

  // The very same schema, or an equal one whose meaning cannot depend on its document (no "$ref" inside).
  bool same_schema(const Value& writer, const Value& reader) const {
    if (&writer == &reader) return &wroot_ == &rroot_;
    return equal(writer, reader, false) && !has_ref(writer, 0);
  }

  void compare(Conj w, const Value& reader, const std::string& rptr, int depth);

  // Whether `reader` provably accepts all of `w`, without reporting; `why` gets the first reason when not.
  bool accepts(const Conj& w, const Value& reader, const std::string& rptr, int depth, std::string* why = nullptr) {
    Walker probe(wroot_, rroot_, shared_);
    probe.probe_ = true;
    probe.compare(w, reader, rptr, depth);
    if (probe.failures_ == 0) return true;
    if (why) *why = probe.issues.front().message;
    return false;
  }

 private:
  // Adds `schema` (following "$ref"s and expanding allOf) to `c`; writer-side nodes keep anyOf/oneOf as choices.
  void add(Conj& c, const Value& schema, const std::string& pointer, bool writer) {
    std::string fragment;
    const Value* s = follow_refs(writer ? wroot_ : rroot_, schema, &fragment);
    const std::string at = member(schema, "$ref") && s ? fragment_to_pointer(fragment) : pointer;
    if (!s) {
      c.unresolved.push_back(pointer);
      return;
    }
    if (s->IsBool()) {
      c.empty = c.empty || !s->GetBool();
      return;
    }
    if (!s->IsObject()) return;  // not a schema: constrains nothing we know of
    if (std::find(c.seen.begin(), c.seen.end(), s) != c.seen.end()) return;  // allOf reaching itself again
    if (c.seen.size() >= kMaxConjunction) {
      shared_.exhausted = true;
      return;
    }
    c.seen.push_back(s);
    // A node that only combines others (once its allOf is expanded and, for a writer, its unions split) adds no
    // constraint; leaving it out keeps a pair's identity the same wherever the pair is reached from.
    const bool combines_only = std::all_of(s->MemberBegin(), s->MemberEnd(), [&](const auto& m) {
      const std::string_view k = text(m.name);
      return k == "allOf" || (writer && (k == "anyOf" || k == "oneOf")) || is_annotation(k);
    });
    if (!combines_only) c.nodes.push_back({s, at});
    if (const Value* all = member(*s, "allOf"); all && all->IsArray())
      for (SizeType i = 0; i < all->Size(); ++i) add(c, (*all)[i], pointer_append(at + "/allOf", i), writer);
    if (!writer) return;
    for (const char* keyword : {"anyOf", "oneOf"})
      if (const Value* any = member(*s, keyword); any && any->IsArray() && !any->Empty())
        c.choices.push_back({any, pointer_append(at, keyword)});
  }

  void report(std::string id, std::string reader_at, std::string writer_at, std::string message) {
    ++failures_;
    issues.push_back({std::move(id), std::move(reader_at), std::move(writer_at), std::move(message)});
  }

  bool tick(int depth) {
    if (shared_.exhausted) return false;
    const auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    if (--shared_.budget < 0 || depth > kMaxDepth || sp < shared_.floor) {
      shared_.exhausted = true;  // the entry point reports it once
      return false;
    }
    return true;
  }

  std::string pair_key(const Conj& w, unsigned writer_types, const Conj& r) const {
    auto addresses = [](const std::vector<Node>& nodes) {
      std::vector<std::uintptr_t> out;
      for (const Node& n : nodes) out.push_back(reinterpret_cast<std::uintptr_t>(n.value));
      std::sort(out.begin(), out.end());
      return out;
    };
    std::string key = "w";
    for (auto a : addresses(w.nodes)) key += std::to_string(a) + ",";
    key += "c";
    for (auto a : addresses(w.choices)) key += std::to_string(a) + ",";
    key += "x";
    for (auto a : addresses(w.excluded)) key += std::to_string(a) + ",";
    key += "t" + std::to_string(writer_types) + "r";
    for (auto a : addresses(r.nodes)) key += std::to_string(a) + ",";
    return key;
  }

  void check_node(const Conj& w, const Facts& f, const Node& r, int depth);
  void check_values(const Conj& w, const Facts& f, const Node& r);
  void check_string(const Conj& w, const Facts& f, const Node& r);
  void check_number(const Conj& w, const Facts& f, const Node& r);
  void check_array(const Conj& w, const Node& r, int depth);
  void check_object(const Conj& w, const Node& r, int depth);
  void check_undeclared_properties(const Conj& w, const Node& r, int depth);
  void check_dependencies(const Conj& w, const Node& r, int depth);
  void check_sum(const Conj& w, const Node& r, int depth);
  void check_not(const Conj& w, const Node& r, int depth);
  void check_conditional(const Conj& w, const Node& r, int depth);
  Conj writer_element(const Conj& w, std::optional<size_t> index);
  struct WriterProperty {
    Conj conj;
    bool declared = false;  // by name, not only through patternProperties / additionalProperties
    bool partial = false;   // a patternProperties or additionalProperties schema applies
  };
  WriterProperty writer_property(const Conj& w, const std::string& name);
  bool disjoint(const Conj& w, const Value& schema, const std::string& at, int depth);
  std::optional<size_t> corresponding_branch(const Conj& w, const Value& branches, const std::string& at);

  const Value& wroot_;
  const Value& rroot_;
  Shared& shared_;
  bool probe_ = false;                          // only asked whether the reader accepts: a known outcome is enough
  size_t failures_ = 0;                         // issues reported, plus pairs met again that are known to fail
  std::unordered_map<std::string, bool> done_;  // pairs this walker finished, and whether they passed
};

void Walker::compare(Conj w, const Value& reader, const std::string& rptr, int depth) {
  for (const std::string& u : w.unresolved)
    report("reference-unresolvable", rptr, u, "the writer's $ref at " + shown(u) + " does not resolve");
  w.unresolved.clear();
  if (w.empty || !tick(depth)) return;
  if (w.origin && same_schema(*w.origin, reader)) return;  // also spares what cannot be proven (not, if) in it
  if (!w.choices.empty()) {                                // the writer is a union: the reader must accept each branch
    const Node choice = w.choices.back();
    w.choices.pop_back();
    for (SizeType i = 0; i < choice.value->Size(); ++i) {
      Conj branch = w;
      if (choice.pointer.ends_with("/oneOf"))
        for (SizeType j = 0; j < choice.value->Size(); ++j)
          if (j != i) branch.excluded.push_back({&(*choice.value)[j], pointer_append(choice.pointer, j)});
      add_source(branch, (*choice.value)[i], pointer_append(choice.pointer, i));
      compare(std::move(branch), reader, rptr, depth + 1);
    }
    return;
  }
  Conj r;
  r.at = rptr;
  add(r, reader, rptr, false);
  for (const std::string& u : r.unresolved)
    report("reference-unresolvable", u, where(w), "the reader's $ref at " + shown(u) + " does not resolve");
  const Facts f = facts_of(w);
  if (f.types == 0) return;  // the writer accepts nothing
  if (r.empty) {
    report("type-narrowed", where(r), where(w),
           "the reader accepts nothing (a false schema) but the writer allows " + type_names(f.types));
    return;
  }
  const std::string key = pair_key(w, f.types, r);
  if (shared_.in_progress.count(key)) return;
  if (auto it = done_.find(key); it != done_.end()) {  // already reported here if it failed
    failures_ += it->second ? 0 : 1;
    return;
  }
  if (auto it = shared_.outcomes.find(key); it != shared_.outcomes.end() && (it->second.ok || probe_)) {
    if (!it->second.ok) report(it->second.id, where(r), where(w), it->second.message);
    return;
  }
  const size_t failures_before = failures_, issues_before = issues.size();
  shared_.in_progress.insert(key);
  for (const Node& n : r.nodes) check_node(w, f, n, depth);
  shared_.in_progress.erase(key);
  const bool ok = failures_ == failures_before;
  done_.emplace(key, ok);
  Shared::Outcome outcome{ok, "", ""};
  if (!ok && issues.size() > issues_before) {
    outcome.id = issues[issues_before].id;
    outcome.message = issues[issues_before].message;
  } else if (!ok) {
    outcome.id = "type-narrowed";  // failed only through pairs reported elsewhere
    outcome.message = "the reader rejects data the writer allows (see the other findings)";
  }
  shared_.outcomes.emplace(key, std::move(outcome));
}

void Walker::check_node(const Conj& w, const Facts& f, const Node& r, int depth) {
  const Value& s = *r.value;
  const unsigned rtypes = declared_types(s);
  if (const unsigned missing = f.types & ~rtypes) {
    report((f.types & rtypes) ? "type-narrowed" : "type-changed", pointer_append(r.pointer, "type"),
           writer_at(w, "type"),
           "the writer allows " + type_names(f.types) + " but the reader accepts only " + type_names(rtypes) +
               " (rejecting " + type_names(missing) + ")");
  }
  const unsigned live = f.types & rtypes;
  if (!live) return;  // no writer instance gets past the reader's type: nothing further to compare
  Conj lw = w;
  lw.types &= live;
  const Facts lf = restricted(f, live);
  check_values(lw, lf, r);
  if (live & kString) check_string(lw, lf, r);
  if (live & kNumber) check_number(lw, lf, r);
  if (live & kArray) check_array(lw, r, depth);
  if (live & kObject) check_object(lw, r, depth);
  check_sum(lw, r, depth);
  check_not(lw, r, depth);
  check_conditional(lw, r, depth);
}

void Walker::check_values(const Conj& w, const Facts& f, const Node& r) {
  if (const Value* e = member(*r.value, "enum"); e && e->IsArray()) {
    if (!f.finite) {
      report("enum-array-narrowed", pointer_append(r.pointer, "enum"), where(w),
             "the reader allows only the values of its enum, the writer allows any " + type_names(f.types));
    } else {
      std::string missing;
      for (const Value* v : f.values)
        if (std::none_of(e->Begin(), e->End(), [&](const Value& a) { return equal(a, *v, false); }))
          missing += (missing.empty() ? "" : ", ") + value_text(*v);
      if (!missing.empty())
        report("enum-array-narrowed", pointer_append(r.pointer, "enum"), writer_at(w, "enum"),
               "the reader's enum lacks " + missing + ", which the writer allows");
    }
  }
  if (const Value* c = member(*r.value, "const")) {
    const bool same =
        f.finite && std::all_of(f.values.begin(), f.values.end(), [&](const Value* v) { return equal(*v, *c, false); });
    if (!same)
      report(writer_has(w, "const") ? "const-changed" : "const-added", pointer_append(r.pointer, "const"),
             writer_at(w, "const"), "the reader accepts only " + value_text(*c) + ", the writer allows other values");
  }
}

void Walker::check_string(const Conj& w, const Facts& f, const Node& r) {
  const Value& s = *r.value;
  std::vector<std::string_view> strings;  // the writer's only strings, when it has an enum
  for (const Value* v : f.values)
    if (v->IsString()) strings.push_back(text(*v));
  const bool finite = f.finite && !strings.empty();
  auto lengths = [&](bool longest) {
    size_t out = longest ? 0 : SIZE_MAX;
    for (auto sv : strings) out = longest ? std::max(out, code_points(sv)) : std::min(out, code_points(sv));
    return static_cast<double>(out);
  };
  if (auto rmax = number_of(s, "maxLength")) {
    auto wmax = writer_tightest(w, "maxLength", true);  // with an enum, also its longest string
    if (finite) wmax = std::min(wmax.value_or(lengths(true)), lengths(true));
    if (!wmax)
      report("max-length-added", pointer_append(r.pointer, "maxLength"), where(w),
             "the reader limits strings to " + number_text(*rmax) + " characters, the writer does not limit them");
    else if (*wmax > *rmax)
      report("max-length-decreased", pointer_append(r.pointer, "maxLength"), writer_at(w, "maxLength"),
             "the reader limits strings to " + number_text(*rmax) + " characters, the writer allows " +
                 number_text(*wmax));
  }
  if (auto rmin = number_of(s, "minLength"); rmin && *rmin > 0) {
    auto wmin = writer_tightest(w, "minLength", false);
    if (finite) wmin = std::max(wmin.value_or(lengths(false)), lengths(false));
    if (!wmin)
      report("min-length-added", pointer_append(r.pointer, "minLength"), where(w),
             "the reader needs strings of at least " + number_text(*rmin) + " characters, the writer allows shorter");
    else if (*wmin < *rmin)
      report("min-length-increased", pointer_append(r.pointer, "minLength"), writer_at(w, "minLength"),
             "the reader needs strings of at least " + number_text(*rmin) + " characters, the writer allows " +
                 number_text(*wmin));
  }
  if (const Value* p = member(s, "pattern"); p && p->IsString()) {
    // The writer has the same pattern, or every string of its enum matches.
    bool ok = finite && std::all_of(strings.begin(), strings.end(),
                                    [&](std::string_view sv) { return shared_.search(text(*p), sv).value_or(false); });
    for (const Node& n : w.nodes)
      if (const Value* wp = member(*n.value, "pattern"); wp && wp->IsString() && text(*wp) == text(*p)) ok = true;
    if (!ok)
      report(writer_has(w, "pattern") ? "pattern-changed" : "pattern-added", pointer_append(r.pointer, "pattern"),
             writer_at(w, "pattern"),
             "the reader requires strings to match /" + std::string(text(*p)) + "/, the writer does not");
  }
  if (const Value* fm = member(s, "format"); fm && fm->IsString() && !finite) {  // an enum's values are what count
    bool ok = false;
    for (const Node& n : w.nodes)
      if (const Value* wf = member(*n.value, "format"); wf && wf->IsString() && text(*wf) == text(*fm)) ok = true;
    if (!ok)
      report(writer_has(w, "format") ? "format-changed" : "format-added", pointer_append(r.pointer, "format"),
             writer_at(w, "format"),
             "the reader requires the format \"" + std::string(text(*fm)) + "\", the writer does not");
  }
}

void Walker::check_number(const Conj& w, const Facts& f, const Node& r) {
  const Value& s = *r.value;
  std::vector<double> numbers;  // the writer's only numbers, when it has an enum
  for (const Value* v : f.values)
    if (v->IsNumber()) numbers.push_back(v->GetDouble());
  const bool finite = f.finite && !numbers.empty();
  for (const bool upper : {true, false}) {
    const auto rb = bound_of(s, upper);
    if (!rb) continue;
    std::optional<Bound> wb = writer_bound(w, upper);  // with an enum, also its extreme value
    if (finite) {
      const auto it =
          upper ? std::max_element(numbers.begin(), numbers.end()) : std::min_element(numbers.begin(), numbers.end());
      if (const Bound vb{*it, false, {}}; !wb || tighter(vb, *wb, upper)) wb = vb;
    }
    if (wb && tighter(*wb, *rb, upper)) continue;
    const std::string base = rb->keyword == "exclusiveMaximum"   ? "exclusive-maximum"
                             : rb->keyword == "exclusiveMinimum" ? "exclusive-minimum"
                                                                 : std::string(rb->keyword);
    const std::string id = base + (!wb ? "-added" : upper ? "-decreased" : "-increased");
    report(id, pointer_append(r.pointer, rb->keyword), writer_at(w, upper ? "maximum" : "minimum"),
           "the reader requires numbers " + bound_text(*rb, upper) + ", the writer allows " +
               (wb ? "numbers " + bound_text(*wb, upper) : std::string("any number")));
  }
  if (auto m = number_of(s, "multipleOf"); m && *m > 0) {
    bool ok = (finite && std::all_of(numbers.begin(), numbers.end(), [&](double x) { return is_multiple(x, *m); })) ||
              (!(f.types & kFraction) && is_multiple(1, *m));  // integers are multiples of 1/k
    for (const Node& n : w.nodes)
      if (auto wm = number_of(*n.value, "multipleOf"); wm && *wm > 0 && is_multiple(*wm, *m)) ok = true;
    if (!ok)
      report(writer_has(w, "multipleOf") ? "multiple-of-changed" : "multiple-of-added",
             pointer_append(r.pointer, "multipleOf"), writer_at(w, "multipleOf"),
             "the reader requires multiples of " + number_text(*m) + ", the writer allows other numbers");
  }
}

// The schemas the writer's element at `index` satisfies (nullopt: an index past every tuple).
Conj Walker::writer_element(const Conj& w, std::optional<size_t> index) {
  Conj c;
  c.at = pointer_append(where(w), "items");
  for (const Node& n : w.nodes) {
    const Value* items = member(*n.value, "items");
    if (!items) continue;
    if (!items->IsArray()) {
      add_source(c, *items, pointer_append(n.pointer, "items"));
    } else if (index && *index < items->Size()) {
      add_source(c, (*items)[static_cast<SizeType>(*index)],
                 pointer_append(pointer_append(n.pointer, "items"), *index));
    } else if (const Value* extra = member(*n.value, "additionalItems")) {
      add_source(c, *extra, pointer_append(n.pointer, "additionalItems"));
    }
  }
  return c;
}

void Walker::check_array(const Conj& w, const Node& r, int depth) {
  const Value& s = *r.value;
  // How many items the writer allows at most: maxItems, or a closed tuple.
  std::optional<double> wmax = writer_tightest(w, "maxItems", true);
  size_t tuple = 0;  // the longest tuple among the writer's nodes
  for (const Node& n : w.nodes) {
    const Value* items = member(*n.value, "items");
    if (!items || !items->IsArray()) continue;
    tuple = std::max<size_t>(tuple, items->Size());
    if (is_false(member(*n.value, "additionalItems")))
      wmax = std::min(wmax.value_or(static_cast<double>(items->Size())), static_cast<double>(items->Size()));
  }
  const auto wmin = writer_tightest(w, "minItems", false);
  auto may_have = [&](size_t count) { return !wmax || *wmax >= static_cast<double>(count); };

  if (auto rmax = number_of(s, "maxItems")) {
    if (!wmax)
      report("max-items-added", pointer_append(r.pointer, "maxItems"), where(w),
             "the reader allows at most " + number_text(*rmax) + " items, the writer does not limit them");
    else if (*wmax > *rmax)
      report("max-items-decreased", pointer_append(r.pointer, "maxItems"), writer_at(w, "maxItems"),
             "the reader allows at most " + number_text(*rmax) + " items, the writer " + number_text(*wmax));
  }
  if (auto rmin = number_of(s, "minItems"); rmin && *rmin > 0) {
    if (!wmin)
      report("min-items-added", pointer_append(r.pointer, "minItems"), where(w),
             "the reader needs at least " + number_text(*rmin) + " items, the writer allows fewer");
    else if (*wmin < *rmin)
      report("min-items-increased", pointer_append(r.pointer, "minItems"), writer_at(w, "minItems"),
             "the reader needs at least " + number_text(*rmin) + " items, the writer allows " + number_text(*wmin));
  }
  if (is_true(member(s, "uniqueItems")) && may_have(2)) {
    bool ok = false;
    for (const Node& n : w.nodes) ok = ok || is_true(member(*n.value, "uniqueItems"));
    if (!ok)
      report("unique-items-added", pointer_append(r.pointer, "uniqueItems"), where(w),
             "the reader requires unique items, the writer allows repeats");
  }

  if (const Value* items = member(s, "items")) {
    const std::string at = pointer_append(r.pointer, "items");
    if (!items->IsArray()) {
      for (size_t i = 0; i < tuple && may_have(i + 1); ++i) compare(writer_element(w, i), *items, at, depth + 1);
      if (may_have(tuple + 1)) compare(writer_element(w, std::nullopt), *items, at, depth + 1);
    } else {
      const size_t rlen = items->Size();
      for (size_t i = 0; i < rlen && may_have(i + 1); ++i)
        compare(writer_element(w, i), (*items)[static_cast<SizeType>(i)], pointer_append(at, i), depth + 1);
      const Value* extra = member(s, "additionalItems");
      if (extra && !is_true(extra)) {
        const std::string extra_at = pointer_append(r.pointer, "additionalItems");
        // Writer elements past the reader's tuple: its own tuple slots, then whatever follows them.
        std::vector<std::optional<size_t>> rest;
        for (size_t i = rlen; i < tuple; ++i) rest.emplace_back(i);
        rest.emplace_back(std::nullopt);
        for (const auto& index : rest) {
          if (!may_have((index ? *index : std::max(tuple, rlen)) + 1)) break;
          Conj element = writer_element(w, index);
          if (element.empty) continue;
          if (is_false(extra)) {
            report(index ? "item-removed-from-closed-content-model" : "additional-items-narrowed", extra_at,
                   where(element), "the reader allows only " + std::to_string(rlen) + " items, the writer allows more");
            break;
          }
          compare(std::move(element), *extra, extra_at, depth + 1);
        }
      }
    }
  }

  if (const Value* contains = member(s, "contains")) {
    bool ok = false;
    for (const Node& n : w.nodes)
      if (const Value* wc = member(*n.value, "contains"))
        ok = ok || accepts(writer_conj(*wc, pointer_append(n.pointer, "contains")), *contains,
                           pointer_append(r.pointer, "contains"), depth + 1);
    // Every element qualifies and there is at least one.
    if (!ok && tuple == 0 && wmin && *wmin >= 1)
      ok = accepts(writer_element(w, std::nullopt), *contains, pointer_append(r.pointer, "contains"), depth + 1);
    if (!ok)
      report("contains-added", pointer_append(r.pointer, "contains"), where(w),
             "the reader requires an item matching its `contains`, the writer does not guarantee one");
  }
}

// What the writer allows under the property `name`: its declaration, else its pattern or additional properties.
Walker::WriterProperty Walker::writer_property(const Conj& w, const std::string& name) {
  WriterProperty out;
  Conj& wp = out.conj;
  wp.at = pointer_append(pointer_append(where(w), "properties"), name);
  for (const Node& n : w.nodes) {
    const Value* props = member(*n.value, "properties");
    if (const Value* p = props ? member(*props, name) : nullptr) {
      if (!out.declared) wp.at = pointer_append(pointer_append(n.pointer, "properties"), name);
      add_source(wp, *p, pointer_append(pointer_append(n.pointer, "properties"), name));
      out.declared = true;
      continue;
    }
    bool matched = false;
    if (const Value* pp = member(*n.value, "patternProperties"); pp && pp->IsObject())
      for (const auto& m : pp->GetObject())
        if (shared_.search(text(m.name), name).value_or(false)) {
          add_source(wp, m.value, pointer_append(pointer_append(n.pointer, "patternProperties"), text(m.name)));
          matched = out.partial = true;
        }
    if (matched) continue;
    if (const Value* extra = member(*n.value, "additionalProperties")) {
      out.partial = out.partial || extra->IsObject();
      add_source(wp, *extra, pointer_append(n.pointer, "additionalProperties"));
    }
  }
  return out;
}

std::set<std::string> required_of(const Conj& c) {
  std::set<std::string> out;
  for (const Node& n : c.nodes)
    if (const Value* req = member(*n.value, "required"); req && req->IsArray())
      for (const Value& name : req->GetArray())
        if (name.IsString()) out.emplace(text(name));
  return out;
}

bool share_value(const Facts& a, const Facts& b) {
  for (const Value* x : a.values)
    for (const Value* y : b.values)
      if (equal(*x, *y, true)) return true;  // too deep to tell: they may share it
  return false;
}

// Whether no instance of `w` satisfies `schema` (in the reader's document): their types or enum values are
// disjoint, a property one of them requires has disjoint values on the two sides (a discriminator), or the
// writer itself excludes everything `schema` accepts (its `not`, or the other branches of its oneOf).
bool Walker::disjoint(const Conj& w, const Value& schema, const std::string& at, int depth) {
  Walker swapped(rroot_, wroot_, shared_);
  const Conj k = swapped.writer_conj(schema, at);  // read as a writer in its own document
  if (k.empty) return true;
  const Facts wf = facts_of(w), kf = facts_of(k);
  if ((wf.types & kf.types) == 0 || (wf.finite && kf.finite && !share_value(wf, kf))) return true;
  for (const Node& e : w.excluded)
    if (swapped.accepts(k, *e.value, e.pointer, depth + 1)) return true;
  for (const Node& n : w.nodes)
    if (const Value* excluded = member(*n.value, "not"))
      if (swapped.accepts(k, *excluded, pointer_append(n.pointer, "not"), depth + 1)) return true;
  if ((wf.types & kf.types) != kObject) return false;
  const std::set<std::string> wreq = required_of(w), kreq = required_of(k);
  std::set<std::string> names = wreq;
  names.insert(kreq.begin(), kreq.end());
  for (const std::string& name : names) {  // a common instance has `name`, with a value both sides accept
    const Conj wp = writer_property(w, name).conj, kp = swapped.writer_property(k, name).conj;
    if (wp.empty || kp.empty) return true;
    const Facts wpf = facts_of(wp), kpf = facts_of(kp);
    if ((wpf.types & kpf.types) == 0 || (wpf.finite && kpf.finite && !share_value(wpf, kpf))) return true;
  }
  return false;
}

void Walker::check_object(const Conj& w, const Node& r, int depth) {
  const Value& s = *r.value;
  const std::set<std::string> wrequired = required_of(w);

  if (const Value* req = member(s, "required"); req && req->IsArray()) {
    for (SizeType i = 0; i < req->Size(); ++i) {
      const Value& name = (*req)[i];
      if (!name.IsString() || wrequired.count(std::string(text(name)))) continue;
      report("required-attribute-added", pointer_append(pointer_append(r.pointer, "required"), i),
             writer_at(w, "required"),
             "the reader requires the property \"" + std::string(text(name)) + "\", which the writer does not");
    }
  }

  // Counts of properties.
  if (auto rmax = number_of(s, "maxProperties")) {
    auto wmax = writer_tightest(w, "maxProperties", true);
    for (const Node& n : w.nodes) {  // a closed model bounds the count too
      if (!is_false(member(*n.value, "additionalProperties")) || member(*n.value, "patternProperties")) continue;
      const Value* props = member(*n.value, "properties");
      const double declared = props && props->IsObject() ? props->MemberCount() : 0;
      wmax = std::min(wmax.value_or(declared), declared);
    }
    if (!wmax || *wmax > *rmax)
      report(wmax ? "max-properties-decreased" : "max-properties-added", pointer_append(r.pointer, "maxProperties"),
             writer_at(w, "maxProperties"),
             "the reader allows at most " + number_text(*rmax) + " properties, the writer " +
                 (wmax ? number_text(*wmax) : std::string("does not limit them")));
  }
  if (auto rmin = number_of(s, "minProperties"); rmin && *rmin > 0) {
    const double wmin =
        std::max(writer_tightest(w, "minProperties", false).value_or(0), static_cast<double>(wrequired.size()));
    if (wmin < *rmin)
      report(wmin > 0 ? "min-properties-increased" : "min-properties-added", pointer_append(r.pointer, "minProperties"),
             writer_at(w, "minProperties"),
             "the reader needs at least " + number_text(*rmin) + " properties, the writer guarantees " +
                 number_text(wmin));
  }

  // Every property either side declares, the reader's first.
  std::vector<std::string> names;
  std::set<std::string> seen;
  auto collect = [&](const Value& node) {
    if (const Value* props = member(node, "properties"); props && props->IsObject())
      for (const auto& m : props->GetObject())
        if (seen.emplace(text(m.name)).second) names.emplace_back(text(m.name));
  };
  collect(s);
  for (const Node& n : w.nodes) collect(*n.value);

  const Value* rprops = member(s, "properties");
  const Value* rpatterns = member(s, "patternProperties");
  const Value* radditional = member(s, "additionalProperties");
  for (const std::string& name : names) {
    auto [wp, declared, partial] = writer_property(w, name);
    if (wp.empty) continue;  // the writer never sends `name`
    if (!declared && shared_.options.lenient) continue;

    const Value* rp = rprops ? member(*rprops, name) : nullptr;
    if (rp) {
      const std::string at = pointer_append(pointer_append(r.pointer, "properties"), name);
      std::string why;
      if (declared)
        compare(std::move(wp), *rp, at, depth + 1);
      else if (!accepts(wp, *rp, at, depth + 1, &why))
        report(partial ? "property-added-not-covered-by-partially-open-content-model"
                       : "property-added-to-open-content-model",
               at, where(wp),
               "the writer's open content model allows any \"" + name + "\" but the reader declares it: " + why);
      continue;
    }
    // The reader does not declare `name`: its patternProperties or additionalProperties decide.
    bool matched = false;
    if (rpatterns && rpatterns->IsObject()) {
      for (const auto& m : rpatterns->GetObject()) {
        // A pattern std::regex cannot read might match: assume it does, the cautious reading for a reader.
        if (!shared_.search(text(m.name), name).value_or(true)) continue;
        matched = true;
        const std::string at = pointer_append(pointer_append(r.pointer, "patternProperties"), text(m.name));
        std::string why;
        if (!accepts(wp, m.value, at, depth + 1, &why))
          report("property-removed-not-covered-by-partially-open-content-model", at, where(wp),
                 "the reader no longer declares \"" + name + "\" and its pattern property does not accept it: " + why);
      }
    }
    if (matched || !radditional || is_true(radditional)) continue;
    const std::string at = pointer_append(r.pointer, "additionalProperties");
    std::string why;
    if (is_false(radditional))
      report("property-removed-from-closed-content-model", at, where(wp),
             "the reader's closed content model no longer declares \"" + name + "\", which the writer sends");
    else if (!accepts(wp, *radditional, at, depth + 1, &why))
      report("property-removed-not-covered-by-partially-open-content-model", at, where(wp),
             "the reader no longer declares \"" + name + "\" and its additionalProperties does not accept it: " + why);
  }

  if (!shared_.options.lenient) check_undeclared_properties(w, r, depth);
  check_dependencies(w, r, depth);

  if (const Value* names_schema = member(s, "propertyNames")) {
    Conj wn;  // property names are strings, whatever else the writer says of them
    wn.at = pointer_append(where(w), "propertyNames");
    wn.types = kString;
    for (const Node& n : w.nodes)
      if (const Value* pn = member(*n.value, "propertyNames"))
        add_source(wn, *pn, pointer_append(n.pointer, "propertyNames"));
    std::string why;
    if (!accepts(wn, *names_schema, pointer_append(r.pointer, "propertyNames"), depth + 1, &why))
      report("property-names-narrowed", pointer_append(r.pointer, "propertyNames"), where(wn),
             "the reader restricts property names more than the writer: " + why);
  }
}

// Properties neither side declares: the writer's additionalProperties and patternProperties against the reader's.
void Walker::check_undeclared_properties(const Conj& w, const Node& r, int depth) {
  Conj wextra;  // what the writer allows under a name none of its patterns match
  wextra.at = writer_at(w, "additionalProperties");
  for (const Node& n : w.nodes)
    if (const Value* extra = member(*n.value, "additionalProperties"))
      add_source(wextra, *extra, pointer_append(n.pointer, "additionalProperties"));
  struct Pattern {
    std::string regex;
    Conj conj;
  };
  std::vector<Pattern> wpatterns;
  for (const Node& n : w.nodes)
    if (const Value* pp = member(*n.value, "patternProperties"); pp && pp->IsObject())
      for (const auto& m : pp->GetObject()) {
        const std::string at = pointer_append(pointer_append(n.pointer, "patternProperties"), text(m.name));
        wpatterns.push_back({std::string(text(m.name)), writer_conj(m.value, at)});
      }

  const Value* rpatterns = member(*r.value, "patternProperties");
  std::set<std::string> rkeys;
  if (rpatterns && rpatterns->IsObject()) {
    for (const auto& m : rpatterns->GetObject()) {
      const std::string key(text(m.name));
      rkeys.insert(key);
      // The same pattern on both sides pairs up; otherwise any writer extra may land under this pattern.
      std::vector<const Conj*> sources;
      for (const Pattern& p : wpatterns)
        if (p.regex == key) sources.push_back(&p.conj);
      if (sources.empty()) {
        if (!wextra.empty) sources.push_back(&wextra);
        for (const Pattern& p : wpatterns) sources.push_back(&p.conj);
      }
      const std::string at = pointer_append(pointer_append(r.pointer, "patternProperties"), key);
      for (const Conj* source : sources) {
        std::string why;
        if (accepts(*source, m.value, at, depth + 1, &why)) continue;
        report("pattern-properties-narrowed", at, where(*source),
               "properties matching /" + key + "/ are constrained more by the reader than the writer: " + why);
        break;
      }
    }
  }
  const Value* radditional = member(*r.value, "additionalProperties");
  if (!radditional || is_true(radditional)) return;
  std::vector<const Conj*> sources;
  if (!wextra.empty) sources.push_back(&wextra);
  for (const Pattern& p : wpatterns)
    if (!rkeys.count(p.regex)) sources.push_back(&p.conj);
  const std::string at = pointer_append(r.pointer, "additionalProperties");
  for (const Conj* source : sources) {
    if (source->empty) continue;
    std::string why;
    if (is_false(radditional)) {
      report("additional-properties-narrowed", at, where(*source),
             "the reader's content model is closed but the writer allows undeclared properties");
      break;
    }
    if (accepts(*source, *radditional, at, depth + 1, &why)) continue;
    report("additional-properties-narrowed", at, where(*source),
           "the reader's additionalProperties accepts less than the writer's: " + why);
    break;
  }
}

void Walker::check_dependencies(const Conj& w, const Node& r, int depth) {
  for (const char* keyword : {"dependencies", "dependentRequired", "dependentSchemas"}) {
    const Value* deps = member(*r.value, keyword);
    if (!deps || !deps->IsObject()) continue;
    for (const auto& dep : deps->GetObject()) {
      const std::string_view key = text(dep.name);
      const std::string at = pointer_append(pointer_append(r.pointer, keyword), key);
      // The writer's own dependencies on the same property, under either keyword spelling.
      std::vector<Node> wdeps;
      for (const Node& n : w.nodes)
        for (const char* wk : {"dependencies", "dependentRequired", "dependentSchemas"})
          if (const Value* d = member(*n.value, wk); d && member(*d, key))
            wdeps.push_back({member(*d, key), pointer_append(pointer_append(n.pointer, wk), key)});
      if (dep.value.IsArray()) {
        bool ok = true;
        for (const Value& needed : dep.value.GetArray()) {
          if (!needed.IsString()) continue;
          const std::string_view name = text(needed);
          bool has = false;  // always present, or present whenever `key` is in the writer too
          for (const Node& n : w.nodes)
            if (const Value* req = member(*n.value, "required"); req && req->IsArray())
              for (const Value& q : req->GetArray()) has = has || (q.IsString() && text(q) == name);
          for (const Node& d : wdeps)
            if (d.value->IsArray())
              for (const Value& q : d.value->GetArray()) has = has || (q.IsString() && text(q) == name);
          ok = ok && has;
        }
        if (!ok)
          report(wdeps.empty() ? "dependency-array-added" : "dependency-array-extended", at, where(w),
                 "with \"" + std::string(key) + "\" present the reader requires properties the writer may omit");
      } else {
        Conj with = w;  // instances carrying `key`: the writer and its own dependency schemas on `key`
        for (const Node& d : wdeps)
          if (!d.value->IsArray()) add_source(with, *d.value, d.pointer);
        std::string why;
        if (!accepts(with, dep.value, at, depth + 1, &why))
          report(wdeps.empty() ? "dependency-schema-added" : "dependency-schema-narrowed", at, where(w),
                 "with \"" + std::string(key) + "\" present the reader requires more than the writer: " + why);
      }
    }
  }
}

void Walker::check_sum(const Conj& w, const Node& r, int depth) {
  for (const char* keyword : {"anyOf", "oneOf"}) {
    const Value* branches = member(*r.value, keyword);
    if (!branches || !branches->IsArray() || branches->Empty()) continue;
    const bool one_of = std::string_view(keyword) == "oneOf";
    const std::string at = pointer_append(r.pointer, keyword);
    // Branches that provably take all of the writer; for oneOf also those it might match as well, since data
    // matching two branches fails a oneOf.
    struct Verdict {
      std::vector<size_t> taking, maybe;
      std::string why;
    };
    auto judge = [&](const Conj& wc) {
      Verdict v;
      for (SizeType j = 0; j < branches->Size(); ++j) {
        std::string reason;
        const std::string branch_at = pointer_append(at, j);
        if (accepts(wc, (*branches)[j], branch_at, depth + 1, &reason)) {
          v.taking.push_back(j);
          if (!one_of) break;
          continue;
        }
        if (v.why.empty()) v.why = "branch " + std::to_string(j) + ": " + reason;
        if (one_of && !disjoint(wc, (*branches)[j], branch_at, depth + 1)) v.maybe.push_back(j);
      }
      // A taking branch the writer is also disjoint from means the writer has no instances at all.
      if (v.taking.size() > 1)
        for (size_t j : v.taking)
          if (disjoint(wc, (*branches)[static_cast<SizeType>(j)], pointer_append(at, j), depth + 1)) return Verdict{};
      return v;
    };
    auto vacuous = [](const Verdict& v) { return v.taking.empty() && v.maybe.empty() && v.why.empty(); };
    auto ambiguous = [&](const Verdict& v) {
      if (!one_of || v.taking.empty() || (v.taking.size() == 1 && v.maybe.empty())) return false;
      const std::string other = std::to_string(v.taking.size() > 1 ? v.taking[1] : v.maybe.front());
      report("one-of-ambiguous", at, where(w),
             "the writer's data satisfies branch " + std::to_string(v.taking.front()) + " of the reader's oneOf and " +
                 (v.taking.size() > 1 ? "also" : "may also") + " satisfy branch " + other +
                 ", and data matching two branches fails a oneOf");
      return true;
    };
    const Verdict whole = judge(w);
    if (vacuous(whole) || !whole.taking.empty()) {
      ambiguous(whole);
      continue;
    }
    // No one branch takes everything; a writer of several types may still be covered one type at a time.
    const unsigned types = facts_of(w).types;
    bool covered = std::popcount(types) > 1;
    std::vector<Verdict> parts;
    for (unsigned bit = 1; covered && bit <= kString; bit <<= 1) {
      if (!(types & bit)) continue;
      Conj single = w;
      single.types &= bit;
      parts.push_back(judge(single));
      covered = vacuous(parts.back()) || !parts.back().taking.empty();
    }
    if (covered) {
      for (const Verdict& v : parts)
        if (!vacuous(v) && ambiguous(v)) break;
      continue;
    }
    // Report what broke inside the branch that evolved from the writer's, when one stands out.
    if (const auto j = corresponding_branch(w, *branches, at)) {
      compare(w, (*branches)[static_cast<SizeType>(*j)], pointer_append(at, *j), depth + 1);
      continue;
    }
    report("sum-type-narrowed", at, where(w),
           "no " + std::string(keyword) + " branch of the reader accepts everything the writer allows (" + whole.why +
               ")");
  }
}

// The reader branch the writer most likely evolved into: one at the same place in its document as the writer's
// schema, else the only one whose types overlap the writer's.
std::optional<size_t> Walker::corresponding_branch(const Conj& w, const Value& branches, const std::string& at) {
  std::set<std::string> wplaces;
  for (const Node& n : w.nodes) wplaces.insert(n.pointer);
  const unsigned wtypes = facts_of(w).types;
  std::optional<size_t> overlapping;
  size_t overlaps = 0;
  for (SizeType j = 0; j < branches.Size(); ++j) {
    Conj b;
    b.at = pointer_append(at, j);
    add(b, branches[j], b.at, false);
    for (const Node& n : b.nodes)
      if (wplaces.count(n.pointer)) return j;
    if (!b.empty && (facts_of(b).types & wtypes)) {
      overlapping = j;
      ++overlaps;
    }
  }
  return overlaps == 1 ? overlapping : std::nullopt;
}

void Walker::check_not(const Conj& w, const Node& r, int depth) {
  const Value* excluded = member(*r.value, "not");
  if (!excluded || disjoint(w, *excluded, pointer_append(r.pointer, "not"), depth + 1)) return;
  report("not-type-extended", pointer_append(r.pointer, "not"), where(w),
         "cannot prove the writer's data avoids everything the reader's `not` excludes");
}

void Walker::check_conditional(const Conj& w, const Node& r, int depth) {
  const Value* rif = member(*r.value, "if");
  const Value* rthen = member(*r.value, "then");
  const Value* relse = member(*r.value, "else");
  if (!rif || (!rthen && !relse)) return;
  const std::string then_at = pointer_append(r.pointer, "then"), else_at = pointer_append(r.pointer, "else");
  // Whatever the condition says, the writer satisfies both branches.
  if ((!rthen || accepts(w, *rthen, then_at, depth + 1)) && (!relse || accepts(w, *relse, else_at, depth + 1))) return;
  // The writer has the same condition (both ways), and each reader branch takes the writer's branch.
  Walker swapped(rroot_, wroot_, shared_);
  const Conj rcond = swapped.writer_conj(*rif, pointer_append(r.pointer, "if"));
  for (const Node& n : w.nodes) {
    const Value* wif = member(*n.value, "if");
    if (!wif) continue;
    const std::string wif_at = pointer_append(n.pointer, "if");
    if (!accepts(writer_conj(*wif, wif_at), *rif, pointer_append(r.pointer, "if"), depth + 1) ||
        !swapped.accepts(rcond, *wif, wif_at, depth + 1))
      continue;
    auto branch_ok = [&](const Value* rbranch, const char* keyword, const std::string& rat) {
      if (!rbranch) return true;
      Conj wb = w;
      if (const Value* own = member(*n.value, keyword)) add_source(wb, *own, pointer_append(n.pointer, keyword));
      return accepts(wb, *rbranch, rat, depth + 1);
    };
    if (branch_ok(rthen, "then", then_at) && branch_ok(relse, "else", else_at)) return;
  }
  report("conditional-unproven", pointer_append(r.pointer, "if"), where(w),
         "cannot prove the writer's data satisfies the reader's if/then/else");
}

// Runs one comparison and returns its issues, duplicates removed.
std::vector<Issue> compare_schemas(const Value& wroot, const Value& writer, const std::string& wptr, const Value& rroot,
                                   const Value& reader, const std::string& rptr, const CompatibilityOptions& options) {
  Shared shared{options};
  Walker walker(wroot, rroot, shared);
  walker.compare(walker.writer_conj(writer, wptr), reader, rptr, 0);
  std::vector<Issue> issues = std::move(walker.issues);
  if (shared.exhausted)
    issues.push_back(
        {"comparison-too-complex", rptr, wptr, "the schemas are too large or too deeply nested to compare completely"});
  std::set<std::string> seen;
  std::erase_if(issues, [&](const Issue& i) {
    return !seen.insert(i.id + '\n' + i.reader_at + '\n' + i.writer_at + '\n' + i.message).second;
  });
  return issues;
}

// Finds `target`'s JSON Pointer inside `root` by address (reader_incompatibilities gets values, not pointers).
bool locate(const Value& at, const Value* target, std::string& pointer, int depth = 0) {
  if (&at == target) return true;
  if (depth > 256) return false;
  const size_t keep = pointer.size();
  if (at.IsObject()) {
    for (const auto& m : at.GetObject()) {
      pointer = pointer_append(pointer, text(m.name));
      if (locate(m.value, target, pointer, depth + 1)) return true;
      pointer.resize(keep);
    }
  } else if (at.IsArray()) {
    for (SizeType i = 0; i < at.Size(); ++i) {
      pointer = pointer_append(pointer, i);
      if (locate(at[i], target, pointer, depth + 1)) return true;
      pointer.resize(keep);
    }
  }
  return false;
}

// Finding pointers are in the candidate's document, or the previous version's where the candidate lacks the place.
std::string candidate_pointer(const Value& candidate_root, std::string candidate_at, std::string previous_at) {
  const rapidjson::Pointer pointer(candidate_at.data(), candidate_at.size());
  return pointer.IsValid() && pointer.Get(candidate_root) ? candidate_at : previous_at;
}

const Value* resolve(const SchemaVersionRef& ref) {
  if (!ref.root) return nullptr;
  const rapidjson::Pointer pointer(ref.pointer.data(), ref.pointer.size());
  return pointer.IsValid() ? pointer.Get(*ref.root) : nullptr;
}

bool checks_backward(CompatibilityMode m) {
  return m == CompatibilityMode::Backward || m == CompatibilityMode::BackwardTransitive ||
         m == CompatibilityMode::Full || m == CompatibilityMode::FullTransitive;
}
bool checks_forward(CompatibilityMode m) {
  return m == CompatibilityMode::Forward || m == CompatibilityMode::ForwardTransitive || m == CompatibilityMode::Full ||
         m == CompatibilityMode::FullTransitive;
}

std::string version_name(const SchemaVersionRef& ref, size_t index) {
  return "version " + (ref.label.empty() ? "#" + std::to_string(index + 1) : ref.label);
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

}  // namespace

std::string_view to_string(CompatibilityMode mode) {
  switch (mode) {
    case CompatibilityMode::Backward:
      return "BACKWARD";
    case CompatibilityMode::BackwardTransitive:
      return "BACKWARD_TRANSITIVE";
    case CompatibilityMode::Forward:
      return "FORWARD";
    case CompatibilityMode::ForwardTransitive:
      return "FORWARD_TRANSITIVE";
    case CompatibilityMode::Full:
      return "FULL";
    case CompatibilityMode::FullTransitive:
      return "FULL_TRANSITIVE";
    case CompatibilityMode::None:
      return "NONE";
  }
  return "NONE";
}

Result<CompatibilityMode> parse_compatibility_mode(std::string_view input) {
  std::string upper(input);
  for (char& c : upper) c = c == '-' ? '_' : (c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  for (auto mode : {CompatibilityMode::Backward, CompatibilityMode::BackwardTransitive, CompatibilityMode::Forward,
                    CompatibilityMode::ForwardTransitive, CompatibilityMode::Full, CompatibilityMode::FullTransitive,
                    CompatibilityMode::None})
    if (to_string(mode) == upper) return mode;
  return fail(ErrorKind::Invalid, "invalid_mode",
              "unknown compatibility mode \"" + std::string(input) +
                  "\" (BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE or NONE)");
}

std::vector<Finding> reader_incompatibilities(const rapidjson::Value& writer_root, const rapidjson::Value& writer,
                                              const rapidjson::Value& reader_root, const rapidjson::Value& reader,
                                              const CompatibilityOptions& options) {
  std::string wptr, rptr;
  if (!locate(writer_root, &writer, wptr)) wptr.clear();
  if (!locate(reader_root, &reader, rptr)) rptr.clear();
  std::vector<Finding> out;
  for (Issue& i : compare_schemas(writer_root, writer, wptr, reader_root, reader, rptr, options))
    out.push_back({Severity::Breaking, std::move(i.id), "", "", std::move(i.reader_at),
                   i.message + " (writer schema at " + shown(i.writer_at) + ")"});
  return out;
}

std::vector<Finding> check_compatibility(CompatibilityMode mode, std::span<const SchemaVersionRef> history,
                                         const SchemaVersionRef& candidate, const CompatibilityOptions& options) {
  std::vector<Finding> out;
  if (mode == CompatibilityMode::None || history.empty()) return out;
  const std::string cname = candidate.label.empty() ? "the candidate" : "candidate " + candidate.label;
  const Value* cschema = resolve(candidate);
  if (!cschema) {
    out.push_back({Severity::Breaking, "schema-not-found", "", "", candidate.pointer,
                   "The schema of " + cname + " is not at " + shown(candidate.pointer) + "."});
    return out;
  }
  const size_t first = is_transitive(mode) ? 0 : history.size() - 1;
  for (size_t index = first; index < history.size(); ++index) {
    const SchemaVersionRef& previous = history[index];
    const std::string pname = version_name(previous, index);
    const Value* pschema = resolve(previous);
    if (!pschema) {
      out.push_back({Severity::Breaking, "schema-not-found", "", "", candidate.pointer,
                     "The schema of " + pname + " is not at " + shown(previous.pointer) + "."});
      continue;
    }
    if (checks_backward(mode)) {  // the candidate reads what the previous version wrote
      for (Issue& i : compare_schemas(*previous.root, *pschema, previous.pointer, *candidate.root, *cschema,
                                      candidate.pointer, options))
        out.push_back({Severity::Breaking, std::move(i.id), "", "",
                       candidate_pointer(*candidate.root, i.reader_at, i.writer_at),
                       "BACKWARD: " + cname + " cannot read data written by " + pname + ": " + i.message + " (" +
                           pname + " at " + shown(i.writer_at) + ")."});
    }
    if (checks_forward(mode)) {  // the previous version reads what the candidate writes
      for (Issue& i : compare_schemas(*candidate.root, *cschema, candidate.pointer, *previous.root, *pschema,
                                      previous.pointer, options))
        out.push_back({Severity::Breaking, std::move(i.id), "", "",
                       candidate_pointer(*candidate.root, i.writer_at, i.reader_at),
                       "FORWARD: " + pname + " cannot read data written by " + cname + ": " + i.message + " (" + pname +
                           " at " + shown(i.reader_at) + ")."});
    }
  }
  return out;
}

namespace {

// One JSON schema of an OpenAPI document, keyed by what it means so versions pair up.
struct Site {
  std::string key;  // "GET /users/{} response 200 application/json", "schema User"
  std::string method, path, pointer;
};

std::string path_shape(std::string_view tmpl) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const size_t close = tmpl[i] == '{' ? tmpl.find('}', i) : std::string_view::npos;
    if (close == std::string_view::npos) {
      out += tmpl[i];
    } else {
      out += "{}";
      i = close;
    }
  }
  return out;
}

// Media-type schemas of a requestBody or response object (after "$ref"s).
void content_sites(const Value& doc, const Value& holder, std::string pointer, const std::string& key,
                   const std::string& method, const std::string& path, std::vector<Site>& out) {
  const Value* resolved = follow_refs(doc, holder, &pointer);
  const Value* content = resolved ? member(*resolved, "content") : nullptr;
  if (!content || !content->IsObject()) return;
  for (const auto& media : content->GetObject()) {
    if (!member(media.value, "schema")) continue;
    const std::string at =
        pointer_append(pointer_append(pointer_append(pointer, "content"), text(media.name)), "schema");
    out.push_back({key + " " + lowered(text(media.name)), method, path, at});
  }
}

std::vector<Site> openapi_sites(const Value& doc) {
  std::vector<Site> out;
  if (const Value* paths = member(doc, "paths"); paths && paths->IsObject()) {
    for (const auto& entry : paths->GetObject()) {
      const std::string tmpl(text(entry.name));
      std::string item_at = pointer_append("/paths", tmpl);
      const Value* item = follow_refs(doc, entry.value, &item_at);
      if (!item) continue;
      for (const char* method : {"get", "put", "post", "delete", "options", "head", "patch", "trace"}) {
        const Value* op = member(*item, method);
        if (!op || !op->IsObject()) continue;
        std::string upper(method);
        for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
        const std::string op_at = pointer_append(item_at, method);
        const std::string prefix = upper + " " + path_shape(tmpl);
        if (const Value* body = member(*op, "requestBody"))
          content_sites(doc, *body, pointer_append(op_at, "requestBody"), prefix + " request", upper, tmpl, out);
        if (const Value* responses = member(*op, "responses"); responses && responses->IsObject())
          for (const auto& response : responses->GetObject()) {
            std::string status(text(response.name));
            for (char& c : status) c = c == 'x' ? 'X' : c;  // "2xx" and "2XX" are the same range
            content_sites(doc, response.value, pointer_append(pointer_append(op_at, "responses"), text(response.name)),
                          prefix + " response " + status, upper, tmpl, out);
          }
      }
    }
  }
  const Value* components = member(doc, "components");
  if (const Value* schemas = components ? member(*components, "schemas") : nullptr; schemas && schemas->IsObject())
    for (const auto& schema : schemas->GetObject())
      out.push_back({"schema " + std::string(text(schema.name)), "", "",
                     pointer_append("/components/schemas", text(schema.name))});
  return out;
}

}  // namespace

std::vector<Finding> check_openapi_compatibility(CompatibilityMode mode, std::span<const OpenApiVersionRef> history,
                                                 const OpenApiVersionRef& candidate,
                                                 const CompatibilityOptions& options) {
  std::vector<Finding> out;
  if (mode == CompatibilityMode::None || history.empty() || !candidate.document) return out;
  // Each pair is checked on its own, so the mode's transitivity is applied here, over documents.
  const CompatibilityMode single = checks_backward(mode) && checks_forward(mode) ? CompatibilityMode::Full
                                   : checks_backward(mode)                       ? CompatibilityMode::Backward
                                                                                 : CompatibilityMode::Forward;
  const size_t first = is_transitive(mode) ? 0 : history.size() - 1;
  std::vector<std::vector<Site>> previous_sites;
  for (size_t index = first; index < history.size(); ++index)
    previous_sites.push_back(history[index].document ? openapi_sites(*history[index].document) : std::vector<Site>{});

  std::set<std::string> reported;  // operation findings, so a shared component is not reported twice
  auto finding_key = [](const Finding& f) { return f.id + '\n' + f.pointer + '\n' + f.message; };
  for (const Site& site : openapi_sites(*candidate.document)) {
    const SchemaVersionRef cref{candidate.label, candidate.document, site.pointer};
    for (size_t k = 0; k < previous_sites.size(); ++k) {
      const size_t index = first + k;
      const auto match = std::find_if(previous_sites[k].begin(), previous_sites[k].end(),
                                      [&](const Site& s) { return s.key == site.key; });
      if (match == previous_sites[k].end()) continue;
      SchemaVersionRef pref{history[index].label, history[index].document, match->pointer};
      if (pref.label.empty()) pref.label = "#" + std::to_string(index + 1);
      for (Finding& f : check_compatibility(single, std::span(&pref, 1), cref, options)) {
        if (site.method.empty() && reported.count(finding_key(f))) continue;
        if (!site.method.empty()) reported.insert(finding_key(f));
        f.method = site.method;
        f.path = site.path;
        out.push_back(std::move(f));
      }
    }
  }
  return out;
}

bool is_transitive(CompatibilityMode m) {
  return m == CompatibilityMode::BackwardTransitive || m == CompatibilityMode::ForwardTransitive ||
         m == CompatibilityMode::FullTransitive;
}

}  // namespace roster::governance
