#include "roster/governance/pact.hpp"

#include "pact_reads.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "roster/base/percent.hpp"
#include "roster/governance/json_document.hpp"

namespace roster::governance {

namespace {

using rapidjson::SizeType;
using rapidjson::Value;

std::string_view text(const Value& s) { return {s.GetString(), s.GetStringLength()}; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::string uppered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

// ---- Parsing ------------------------------------------------------------------------------------------------

class PactReader {
 public:
  std::vector<SchemaProblem> problems;

  void problem(std::string pointer, std::string message) {
    problems.push_back({std::move(pointer), std::move(message)});
  }

  // A member that must be an object; nullptr (with a problem) otherwise.
  const Value* object(const Value& parent, const char* key, const std::string& at, bool required) {
    const Value* v = member(parent, key);
    if (!v) {
      if (required) problem(at, "missing; it must be an object");
      return nullptr;
    }
    if (!v->IsObject()) {
      problem(at, "must be an object");
      return nullptr;
    }
    return v;
  }

  // A member that must be a string (non-empty when `non_empty`); nullopt (with a problem) otherwise.
  std::optional<std::string> string(const Value& parent, const char* key, const std::string& at, bool required,
                                    bool non_empty = true) {
    const Value* v = member(parent, key);
    if (!v) {
      if (required) problem(at, "missing; it must be a string");
      return std::nullopt;
    }
    if (!v->IsString()) {
      problem(at, "must be a string");
      return std::nullopt;
    }
    if (non_empty && v->GetStringLength() == 0) {
      problem(at, "must not be empty");
      return std::nullopt;
    }
    return std::string(text(*v));
  }

  std::string party_name(const Value& doc, const char* key) {
    const std::string at = pointer_append("", key);
    const Value* party = object(doc, key, at, true);
    return party ? string(*party, "name", pointer_append(at, "name"), true).value_or("") : "";
  }

  PactHeaders headers(const Value& holder, const std::string& at) {
    PactHeaders out;
    const Value* h = object(holder, "headers", at, false);
    if (!h) return out;
    for (const auto& m : h->GetObject()) {
      if (m.value.IsString())
        out.emplace_back(text(m.name), text(m.value));
      else
        problem(pointer_append(at, text(m.name)), "a header value must be a string");
    }
    return out;
  }

  std::optional<std::string> body(const Value& holder) {
    const Value* b = member(holder, "body");
    if (!b || b->IsNull()) return std::nullopt;
    return to_json_text(*b);
  }

  // Pact v2 matching rules: {"$.body.id": {"match": "type"}, "$.body.code": {"regex": "..."}}. Their
  // kind by path (a rule with only "min"/"max" is a type rule); only a response's are used.
  std::map<std::string, std::string> matching_rules(const Value& holder, const std::string& at) {
    std::map<std::string, std::string> out;
    const Value* rules = member(holder, "matchingRules");
    if (!rules) return out;
    if (!rules->IsObject()) {
      problem(pointer_append(at, "matchingRules"), "must be an object");
      return out;
    }
    for (const auto& [path, rule] : rules->GetObject()) {
      std::string kind = "type";
      if (const Value* match = member(rule, "match"); match && match->IsString())
        kind = text(*match);
      else if (member(rule, "regex"))
        kind = "regex";
      out.emplace(text(path), kind);
    }
    return out;
  }

  PactRequest request(const Value& r, const std::string& at) {
    PactRequest out;
    if (auto method = string(r, "method", pointer_append(at, "method"), true)) {
      if (std::all_of(method->begin(), method->end(), [](char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }))
        out.method = uppered(*method);
      else
        problem(pointer_append(at, "method"), "\"" + *method + "\" is not an HTTP method");
    }
    if (auto path = string(r, "path", pointer_append(at, "path"), true)) {
      if ((*path)[0] == '/')
        out.path = *path;
      else
        problem(pointer_append(at, "path"), "must start with '/'");
    }
    if (const Value* query = member(r, "query")) {
      if (query->IsString())
        out.query = text(*query);
      else
        problem(pointer_append(at, "query"), "must be a string such as \"a=1&b=2\" (Pact v2)");
    }
    out.headers = headers(r, pointer_append(at, "headers"));
    out.body = body(r);
    (void)matching_rules(r, at);  // shape checked; a request's body is validated whole
    return out;
  }

  PactResponse response(const Value& r, const std::string& at) {
    PactResponse out;
    const std::string status_at = pointer_append(at, "status");
    if (const Value* status = member(r, "status"); !status)
      problem(status_at, "missing; it must be an HTTP status code");
    else if (!status->IsInt() || status->GetInt() < 100 || status->GetInt() > 599)
      problem(status_at, "must be an integer HTTP status code from 100 to 599");
    else
      out.status = status->GetInt();
    out.headers = headers(r, pointer_append(at, "headers"));
    out.body = body(r);
    out.matching_rules = matching_rules(r, at);
    return out;
  }

  std::optional<PactInteraction> interaction(const Value& v, const std::string& at) {
    if (!v.IsObject()) {
      problem(at, "an interaction must be an object");
      return std::nullopt;
    }
    const size_t before = problems.size();
    PactInteraction out;
    out.pointer = at;
    out.description = string(v, "description", pointer_append(at, "description"), true).value_or("");
    // v2 spells it providerState, v1 provider_state.
    const char* state_key = member(v, "providerState") ? "providerState" : "provider_state";
    if (member(v, state_key) && !member(v, state_key)->IsNull())
      out.provider_state = string(v, state_key, pointer_append(at, state_key), false, false).value_or("");
    if (const Value* r = object(v, "request", pointer_append(at, "request"), true))
      out.request = request(*r, pointer_append(at, "request"));
    if (const Value* r = object(v, "response", pointer_append(at, "response"), true))
      out.response = response(*r, pointer_append(at, "response"));
    if (problems.size() != before) return std::nullopt;
    return out;
  }

  std::string specification(const Value& doc) {
    const Value* metadata = object(doc, "metadata", "/metadata", false);
    const Value* spec =
        metadata ? object(*metadata, "pactSpecification", "/metadata/pactSpecification", false) : nullptr;
    if (!spec) return "";
    const std::string at = "/metadata/pactSpecification/version";
    auto version = string(*spec, "version", at, true);
    if (!version) return "";
    const std::string major = version->substr(0, version->find('.'));
    if (major != "1" && major != "2") {
      problem(at, "Pact specification " + *version + " is not supported; only v1 and v2 pacts are read");
      return "";
    }
    return *version;
  }
};

// ---- Verification -------------------------------------------------------------------------------------------

// follow_refs gives the target as a URI fragment; JSON Pointers, as CompiledSchema wants them, are not escaped.
const Value* follow(const Value& root, const Value& value, std::string& pointer) {
  std::string fragment;
  const Value* target = follow_refs(root, value, &fragment);
  if (target && !fragment.empty()) pointer = fragment_to_pointer(fragment);
  return target;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t end = path.find('/', start);
    out.emplace_back(path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// Does a template segment ("{id}", "{name}.json", "v{major}") match `segment`? Each parameter takes at least one
// character. The template is cut into literal runs and parameters, and matching is memoised over (piece, segment
// position), so neither many parameters nor a long segment makes it slow or deep.
bool segment_matches(std::string_view tmpl, std::string_view segment) {
  if (tmpl.find('{') == std::string_view::npos) return tmpl == segment;
  std::vector<std::optional<std::string_view>> pieces;  // nullopt = a parameter
  for (size_t i = 0; i < tmpl.size();) {
    const size_t open = tmpl.find('{', i);
    const size_t close = open == std::string_view::npos ? open : tmpl.find('}', open);
    if (close == std::string_view::npos) {  // no more parameters (a stray brace is literal)
      pieces.emplace_back(tmpl.substr(i));
      break;
    }
    if (open > i) pieces.emplace_back(tmpl.substr(i, open - i));
    pieces.emplace_back(std::nullopt);
    i = close + 1;
  }
  std::vector<signed char> memo((pieces.size() + 1) * (segment.size() + 1), -1);
  auto match = [&](auto& self, size_t p, size_t s) -> bool {
    if (p == pieces.size()) return s == segment.size();
    signed char& known = memo[p * (segment.size() + 1) + s];
    if (known >= 0) return known;
    bool out = false;
    if (pieces[p]) {
      out = segment.substr(s, pieces[p]->size()) == *pieces[p] && self(self, p + 1, s + pieces[p]->size());
    } else {
      for (size_t end = s + 1; end <= segment.size() && !out; ++end) out = self(self, p + 1, end);
    }
    known = out;
    return out;
  };
  return match(match, 0, 0);
}

// A match's rank: literal segments first, then literal characters, so "/users/me" beats "/users/{id}".
std::optional<std::pair<size_t, size_t>> path_match(std::string_view tmpl, const std::vector<std::string>& segments) {
  const std::vector<std::string> parts = split_path(tmpl);
  if (parts.size() != segments.size()) return std::nullopt;
  std::pair<size_t, size_t> rank{0, 0};
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!segment_matches(parts[i], segments[i])) return std::nullopt;
    if (parts[i].find('{') == std::string::npos) ++rank.first;
    int braces = 0;  // literal characters: those outside every {parameter}
    for (char c : parts[i]) {
      braces += c == '{' ? 1 : 0;
      rank.second += braces == 0 ? 1 : 0;
      braces -= c == '}' && braces > 0 ? 1 : 0;
    }
  }
  return rank;
}

struct Parameter {
  std::string name, in, style;
  bool required = false;
  bool explode = false;
  const Value* schema = nullptr;  // "$ref"s followed
};

struct Operation {
  std::string tmpl;
  const Value* op = nullptr;
  std::string pointer;  // of the operation object
  std::vector<Parameter> parameters;
};

// Content-Type without parameters, lower-case; "" when absent.
std::string media_type_of(const PactHeaders& headers) {
  for (const auto& [name, value] : headers)
    if (lowered(name) == "content-type") {
      std::string media = lowered(value.substr(0, value.find(';')));
      media.erase(0, media.find_first_not_of(" \t"));
      media.erase(media.find_last_not_of(" \t") + 1);
      return media;
    }
  return "";
}

bool is_json_media(std::string_view media) {
  return media == "application/json" || (media.size() > 5 && media.substr(media.size() - 5) == "+json");
}

// The content entry for `media`: exact, then any JSON one for a JSON body, then "type/*", then "*/*".
const Value* pick_media(const Value& content, const std::string& media, std::string* key) {
  const std::string family = media.substr(0, media.find('/')) + "/*";
  const rapidjson::Value::ConstMemberIterator none = content.MemberEnd();
  std::pair<int, rapidjson::Value::ConstMemberIterator> best{0, none};
  for (auto m = content.MemberBegin(); m != content.MemberEnd(); ++m) {
    std::string k = lowered(text(m->name));
    k = k.substr(0, k.find(';'));
    const int score = k == media                                 ? 4
                      : is_json_media(media) && is_json_media(k) ? 3
                      : k == family                              ? 2
                      : k == "*/*"                               ? 1
                                                                 : 0;
    if (score > best.first) best = {score, m};
  }
  if (best.second == none) return nullptr;
  *key = text(best.second->name);
  return &best.second->value;
}

class Verifier {
 public:
  explicit Verifier(const Value& openapi) : doc_(openapi) {
    if (const Value* servers = member(doc_, "servers"); servers && servers->IsArray())
      for (const Value& server : servers->GetArray()) {
        const Value* url = member(server, "url");
        if (!url || !url->IsString()) continue;
        std::string_view u = text(*url);
        if (const size_t scheme = u.find("://"); scheme != std::string_view::npos) {
          const size_t slash = u.find('/', scheme + 3);
          u = slash == std::string_view::npos ? std::string_view() : u.substr(slash);
        }
        while (!u.empty() && u.back() == '/') u.remove_suffix(1);
        if (!u.empty() && u[0] == '/' && u.find('{') == std::string_view::npos) bases_.emplace_back(u);
      }
  }

  void verify(const PactInteraction& interaction, std::vector<Finding>& out);

 private:
  void fail(std::vector<Finding>& out, const PactInteraction& i, std::string id, std::string pointer,
            const std::string& message) {
    out.push_back({Severity::Breaking, std::move(id), i.request.method, i.request.path, std::move(pointer),
                   "interaction \"" + i.description + "\": " + message});
  }

  // The documented operation the interaction calls; NotFound, saying why, when there is none.
  Result<Operation> find_operation(const PactInteraction& i) const;
  std::vector<Parameter> parameters(const Value& item, const std::string& item_at, const Value& op,
                                    const std::string& op_at) const;
  void check_parameters(const PactInteraction& i, const Operation& op, std::vector<Finding>& out);
  void check_request_body(const PactInteraction& i, const Operation& op, std::vector<Finding>& out);
  void check_response(const PactInteraction& i, const Operation& op, std::vector<Finding>& out);
  // Checks a pact body against the schema at `content_at/<media>/schema`; `side` is "request" (the body is
  // validated) or "response" (what the consumer reads is checked as a subset of the schema).
  void validate_body(const PactInteraction& i, const Value& content, const std::string& content_at,
                     const PactHeaders& headers, const std::string& body, const std::string& side,
                     const std::string& what, std::vector<Finding>& out);

  const Value& doc_;
  std::vector<std::string> bases_;  // server URL paths ("/api/v1") a pact path may carry
  std::map<std::string, Result<CompiledSchema>> compiled_;  // by schema pointer, each compiled once
};

Result<Operation> Verifier::find_operation(const PactInteraction& i) const {
  const Value* paths = member(doc_, "paths");
  const std::string method = lowered(i.request.method);
  std::string_view path = i.request.path;
  path = path.substr(0, path.find_first_of("?#"));
  std::vector<std::string> candidates{std::string(path)};
  for (const std::string& base : bases_)
    if (path.size() > base.size() && path.substr(0, base.size()) == base && path[base.size()] == '/')
      candidates.emplace_back(path.substr(base.size()));

  std::optional<Operation> best;
  std::pair<size_t, size_t> best_rank{0, 0};
  std::vector<std::string> without_method;
  for (const std::string& candidate : candidates) {
    std::vector<std::string> segments = split_path(candidate);
    for (std::string& s : segments) s = base::percent_decode(s).value_or(s);  // a malformed escape stays as written
    if (!paths || !paths->IsObject()) break;
    for (const auto& entry : paths->GetObject()) {
      const auto rank = path_match(text(entry.name), segments);
      if (!rank) continue;
      std::string item_at = pointer_append("/paths", text(entry.name));
      const Value* item = follow(doc_, entry.value, item_at);
      const Value* op = item ? member(*item, method) : nullptr;
      if (!op || !op->IsObject()) {
        without_method.emplace_back(text(entry.name));
        continue;
      }
      if (best && *rank <= best_rank) continue;
      best_rank = *rank;
      const std::string op_at = pointer_append(item_at, method);
      best = Operation{std::string(text(entry.name)), op, op_at, parameters(*item, item_at, *op, op_at)};
    }
  }
  if (best) return std::move(*best);
  // roster::fail: Verifier::fail (a finding) hides it here.
  return roster::fail(ErrorKind::NotFound, "operation_not_found",
                      without_method.empty() ? "no path template matches " + std::string(path)
                                             : "the path matches " + without_method.front() + ", which has no " +
                                                   i.request.method + " operation");
}

std::vector<Parameter> Verifier::parameters(const Value& item, const std::string& item_at, const Value& op,
                                            const std::string& op_at) const {
  std::vector<Parameter> out;
  // Path-level parameters first; an operation's parameter of the same name and location replaces one.
  for (const auto& [holder, at] : {std::pair{&item, item_at}, std::pair{&op, op_at}}) {
    const Value* list = member(*holder, "parameters");
    if (!list || !list->IsArray()) continue;
    for (SizeType k = 0; k < list->Size(); ++k) {
      std::string p_at = pointer_append(pointer_append(at, "parameters"), k);
      const Value* p = follow(doc_, (*list)[k], p_at);
      const Value* name = p ? member(*p, "name") : nullptr;
      const Value* in = p ? member(*p, "in") : nullptr;
      if (!name || !name->IsString() || !in || !in->IsString()) continue;
      Parameter param{std::string(text(*name)), std::string(text(*in)), "form"};
      if (const Value* required = member(*p, "required"); required && required->IsBool())
        param.required = required->GetBool();
      if (const Value* style = member(*p, "style"); style && style->IsString()) param.style = text(*style);
      // OpenAPI: explode defaults to true for form style only.
      param.explode = param.style == "form";
      if (const Value* explode = member(*p, "explode"); explode && explode->IsBool())
        param.explode = explode->GetBool();
      if (const Value* schema = member(*p, "schema")) {
        std::string s_at;
        param.schema = follow(doc_, *schema, s_at);
      }
      std::erase_if(out, [&](const Parameter& q) { return q.name == param.name && q.in == param.in; });
      out.push_back(std::move(param));
    }
  }
  return out;
}

// Does a query key belong to `p`? By name, as a deepObject member ("filter[name]"), or as a property of an
// exploded form object (?name=x&age=3 for an object parameter).
bool query_key_of(const Parameter& p, std::string_view key) {
  if (p.in != "query") return false;
  if (key == p.name) return true;
  if (p.style == "deepObject")
    return key.size() > p.name.size() && key.substr(0, p.name.size()) == p.name && key[p.name.size()] == '[';
  if (p.style != "form" || !p.explode || !p.schema) return false;
  const Value* type = member(*p.schema, "type");
  if (!type || !type->IsString() || text(*type) != "object") return false;
  if (const Value* props = member(*p.schema, "properties"); props && member(*props, key)) return true;
  const Value* extra = member(*p.schema, "additionalProperties");
  return extra && (extra->IsObject() || (extra->IsBool() && extra->GetBool()));
}

void Verifier::check_parameters(const PactInteraction& i, const Operation& op, std::vector<Finding>& out) {
  // Query keys, in order and once each; a query string inside the path counts as well.
  std::vector<std::string> keys;
  std::string query = i.request.query;
  if (const size_t q = i.request.path.find('?'); q != std::string::npos)
    query += (query.empty() ? "" : "&") + i.request.path.substr(q + 1, i.request.path.find('#', q) - q - 1);
  for (size_t start = 0; start <= query.size();) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string_view piece = std::string_view(query).substr(start, end - start);
    if (!piece.empty()) {
      const std::string_view raw = piece.substr(0, piece.find('='));
      std::string key = base::percent_decode(raw, {.plus_is_space = true}).value_or(std::string(raw));
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    }
    start = end + 1;
  }
  const std::string query_at = pointer_append(i.pointer, "request") + "/query";
  for (const std::string& key : keys) {
    const bool documented = std::any_of(op.parameters.begin(), op.parameters.end(),
                                        [&](const Parameter& p) { return query_key_of(p, key); });
    if (!documented)
      fail(out, i, "query-parameter-undocumented", query_at,
           "query parameter \"" + key + "\" is not documented for " + i.request.method + " " + op.tmpl);
  }

  const std::string headers_at = pointer_append(i.pointer, "request") + "/headers";
  auto header = [&](std::string_view name) -> const std::string* {
    for (const auto& [n, v] : i.request.headers)
      if (lowered(n) == lowered(name)) return &v;
    return nullptr;
  };
  for (const Parameter& p : op.parameters) {
    if (!p.required) continue;
    if (p.in == "query") {
      const bool present =
          std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return query_key_of(p, k); });
      if (!present)
        fail(out, i, "required-query-parameter-missing", query_at,
             "required query parameter \"" + p.name + "\" of " + i.request.method + " " + op.tmpl + " is missing");
    } else if (p.in == "header") {
      // OpenAPI ignores header parameters named Accept, Content-Type and Authorization.
      const std::string name = lowered(p.name);
      if (name == "accept" || name == "content-type" || name == "authorization") continue;
      if (!header(p.name))
        fail(out, i, "required-header-missing", headers_at,
             "required header \"" + p.name + "\" of " + i.request.method + " " + op.tmpl + " is missing");
    } else if (p.in == "cookie") {
      const std::string* cookies = header("cookie");
      bool present = false;
      if (cookies) {
        for (size_t start = 0; start < cookies->size();) {
          size_t end = cookies->find(';', start);
          if (end == std::string::npos) end = cookies->size();
          std::string_view c = std::string_view(*cookies).substr(start, end - start);
          c.remove_prefix(std::min(c.find_first_not_of(' '), c.size()));
          present = present || c.substr(0, c.find('=')) == p.name;
          start = end + 1;
        }
      }
      if (!present)
        fail(out, i, "required-cookie-missing", headers_at,
             "required cookie \"" + p.name + "\" of " + i.request.method + " " + op.tmpl + " is missing");
    }
  }
}

void Verifier::validate_body(const PactInteraction& i, const Value& content, const std::string& content_at,
                             const PactHeaders& headers, const std::string& body, const std::string& side,
                             const std::string& what, std::vector<Finding>& out) {
  const std::string body_at = pointer_append(pointer_append(i.pointer, side), "body");
  std::string media = media_type_of(headers);
  if (media.empty()) media = "application/json";  // pact bodies are JSON unless a header says otherwise
  std::string key;
  const Value* entry = content.IsObject() ? pick_media(content, media, &key) : nullptr;
  if (!entry) {
    fail(out, i, side + "-media-type-undocumented", body_at, what + " documents no content for " + media);
    return;
  }
  if (!member(*entry, "schema")) return;  // documented without a schema: anything goes
  const std::string schema_at = pointer_append(pointer_append(content_at, key), "schema");
  auto cached = compiled_.find(schema_at);
  if (cached == compiled_.end()) cached = compiled_.emplace(schema_at, CompiledSchema::compile(doc_, schema_at)).first;
  const Result<CompiledSchema>& compiled = cached->second;
  if (!compiled) {
    fail(out, i, "schema-uncompilable", body_at,
         "the schema for " + what + " (" + key + ") at #" + schema_at +
             " cannot be used: " + compiled.error().message);
    return;
  }
  const auto instance = parse_json(body);
  if (!instance) return;  // cannot happen: the body was written from parsed JSON
  if (side == "response") {
    // What the consumer reads must be documented; it need not read everything (pact_reads.hpp).
    for (const ReadProblem& p : check_reads(doc_, *member(*entry, "schema"), *instance, i.response.matching_rules))
      fail(out, i, p.id, body_at + p.pointer, p.message + " (" + what + ", " + key + ")");
    return;
  }
  for (const SchemaProblem& p : compiled->validate(*instance))
    fail(out, i, side + "-body-invalid", body_at + p.pointer,
         "the " + side + " body does not match the schema for " + what + " (" + key + ") at " +
             (p.pointer.empty() ? std::string("its root") : p.pointer) + ": " + p.message);
}

void Verifier::check_request_body(const PactInteraction& i, const Operation& op, std::vector<Finding>& out) {
  std::string rb_at = pointer_append(op.pointer, "requestBody");
  const Value* raw = member(*op.op, "requestBody");
  const Value* rb = raw ? follow(doc_, *raw, rb_at) : nullptr;
  const std::string what = i.request.method + " " + op.tmpl + " request";
  if (!i.request.body) {
    if (const Value* required = rb ? member(*rb, "required") : nullptr; required && required->IsTrue())
      fail(out, i, "request-body-missing", pointer_append(i.pointer, "request"),
           what + " requires a body and the interaction sends none");
    return;
  }
  const Value* content = rb ? member(*rb, "content") : nullptr;
  if (!content) {
    fail(out, i, "request-body-undocumented", pointer_append(pointer_append(i.pointer, "request"), "body"),
         what + " documents no body and the interaction sends one");
    return;
  }
  validate_body(i, *content, pointer_append(rb_at, "content"), i.request.headers, *i.request.body, "request", what,
                out);
}

void Verifier::check_response(const PactInteraction& i, const Operation& op, std::vector<Finding>& out) {
  const std::string status = std::to_string(i.response.status);
  const Value* responses = member(*op.op, "responses");
  // The exact code, else its range ("2XX"), else "default".
  const Value* raw = nullptr;
  std::string key;
  if (responses && responses->IsObject()) {
    for (const std::string& wanted : {status, status.substr(0, 1) + "XX", std::string("default")}) {
      for (const auto& m : responses->GetObject())
        if (uppered(text(m.name)) == uppered(wanted)) {
          raw = &m.value;
          key = text(m.name);
          break;
        }
      if (raw) break;
    }
  }
  if (!raw) {
    fail(out, i, "status-undocumented", pointer_append(pointer_append(i.pointer, "response"), "status"),
         i.request.method + " " + op.tmpl + " documents no response for status " + status);
    return;
  }
  if (!i.response.body) return;
  std::string resp_at = pointer_append(pointer_append(op.pointer, "responses"), key);
  const Value* resp = follow(doc_, *raw, resp_at);
  const Value* content = resp ? member(*resp, "content") : nullptr;
  const std::string what = i.request.method + " " + op.tmpl + " response " + key;
  if (!content || !content->IsObject() || content->ObjectEmpty()) {
    fail(out, i, "response-body-undocumented", pointer_append(pointer_append(i.pointer, "response"), "body"),
         what + " documents no body and the interaction expects one");
    return;
  }
  validate_body(i, *content, pointer_append(resp_at, "content"), i.response.headers, *i.response.body, "response", what,
                out);
}

void Verifier::verify(const PactInteraction& i, std::vector<Finding>& out) {
  const auto op = find_operation(i);
  if (!op) {
    fail(out, i, "operation-not-found", pointer_append(i.pointer, "request"),
         "no documented operation for " + i.request.method + " " + i.request.path + ": " + op.error().message);
    return;
  }
  check_parameters(i, *op, out);
  check_request_body(i, *op, out);
  check_response(i, *op, out);
}

}  // namespace

Result<Pact, std::vector<SchemaProblem>> parse_pact(const rapidjson::Value& document) {
  PactReader reader;
  if (!document.IsObject()) return fail(std::vector<SchemaProblem>{{"", "a pact must be a JSON object"}});
  Pact pact;
  pact.consumer = reader.party_name(document, "consumer");
  pact.provider = reader.party_name(document, "provider");
  pact.specification = reader.specification(document);
  if (const Value* interactions = member(document, "interactions"); !interactions) {
    reader.problem("/interactions", "missing; it must be an array");
  } else if (!interactions->IsArray()) {
    reader.problem("/interactions", "must be an array");
  } else {
    for (SizeType k = 0; k < interactions->Size(); ++k)
      if (auto interaction = reader.interaction((*interactions)[k], pointer_append("/interactions", k)))
        pact.interactions.push_back(std::move(*interaction));
  }
  if (!reader.problems.empty()) return fail(std::move(reader.problems));
  return pact;
}

ContractVerification verify_pact(const Pact& pact, const rapidjson::Value& openapi) {
  ContractVerification result;
  Verifier verifier(openapi);
  for (const PactInteraction& interaction : pact.interactions) {
    verifier.verify(interaction, result.failures);
    ++result.interactions_checked;
  }
  return result;
}

}  // namespace roster::governance
