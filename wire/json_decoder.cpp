#include "roster/wire/json_decoder.hpp"

#include <simdjson.h>
#include <xxhash.h>

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "roster/semver.hpp"
#include "roster/wire/identifiers.hpp"
#include "roster/wire/roster_generated.h"
#include "roster/wire/names.hpp"
#include "roster/wire/record_revision.hpp"
#include "roster/wire/time_format.hpp"

namespace roster::wire {

namespace od = simdjson::ondemand;
using std::string_view;

namespace {

constexpr size_t kMaxReportedErrors = 1000;

using KeyValue = std::pair<string_view, string_view>;

// Index range into one of the scratch pools below.
struct Slice {
  uint32_t begin = 0, end = 0;
};

// What a service version object said, as views into the parser's buffers: decoding reads the
// whole object first (its fields may come in any order) and encodes records afterwards.
struct VersionFields {
  string_view name, version, description, owner_team, documentation_url, deprecation_reason;
  LifecycleStage stage = LifecycleStage::Proposed;
  int64_t created_at_ms = 0, updated_at_ms = 0, deprecated_at_ms = 0, sunset_at_ms = 0, retired_at_ms = 0;
  SchemaFormat schema_format = SchemaFormat::None;
  size_t schema_offset = 0, schema_size = 0;  // into Scratch::documents
  Slice tags, labels, dependencies, endpoints, instances;
};

struct InstanceFields {
  string_view id, address, zone;
  uint16_t port = 0, weight = 100;
  Health health = Health::Up;
  int64_t lease_expires_at_ms = 0;
  Slice metadata;
};

struct EndpointFields {
  string_view method, path, description;
};

struct ContractFields {
  string_view consumer, consumer_version, provider, provider_range;
  size_t pact_offset = 0, pact_size = 0;
};

// Scratch pools for one service (all of its versions); cleared per service, capacity kept.
struct Scratch {
  std::vector<VersionFields> versions;
  std::vector<string_view> tags;
  std::vector<KeyValue> labels;  // version labels and instance metadata
  std::vector<KeyValue> dependencies;
  std::vector<EndpointFields> endpoints;
  std::vector<InstanceFields> instances;
  std::string documents;  // minified embedded JSON documents
  void clear() {
    versions.clear();
    tags.clear();
    labels.clear();
    dependencies.clear();
    endpoints.clear();
    instances.clear();
    documents.clear();
  }
};

Slice slice_from(size_t begin, size_t end) { return {static_cast<uint32_t>(begin), static_cast<uint32_t>(end)}; }

bool is_http_method(string_view m) {
  static constexpr string_view kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"};
  return std::find(std::begin(kMethods), std::end(kMethods), m) != std::end(kMethods);
}

string_view type_name(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "boolean";
    case od::json_type::null: return "null";
  }
  return "value";
}

// Errors after which on-demand iteration can go on with the next field or element.
bool is_value_error(simdjson::error_code e) {
  return e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_ERROR || e == simdjson::NUMBER_OUT_OF_RANGE ||
         e == simdjson::STRING_ERROR;
}

}  // namespace

struct JsonDecoder::Impl {
  explicit Impl(CodecLimits l) : limits(l), parser(l.max_document_bytes) {}

  CodecLimits limits;
  od::parser parser;
  simdjson::dom::parser embedded_parser;  // validates embedded documents fully
  simdjson::padded_string input;
  flatbuffers::FlatBufferBuilder fbb{16 * 1024};
  Scratch scratch;
  std::unordered_set<string_view> seen_services;
  DecodedDocument* out = nullptr;
  bool fatal = false;
  size_t suppressed_errors = 0;

  // The JSON path of the value being read, rendered only when an error is reported.
  struct Segment {
    string_view key;
    size_t index;
    bool is_index;
  };
  std::vector<Segment> path;

  struct PathGuard {
    std::vector<Segment>& path;
    ~PathGuard() { path.pop_back(); }
  };
  [[nodiscard]] PathGuard enter(string_view key) {
    path.push_back({key, 0, false});
    return {path};
  }
  [[nodiscard]] PathGuard enter(size_t index) {
    path.push_back({{}, index, true});
    return {path};
  }

  std::string render_path() const {
    std::string s;
    for (const auto& seg : path) {
      if (seg.is_index) {
        s += '[';
        s += std::to_string(seg.index);
        s += ']';
      } else {
        if (!s.empty()) s += '.';
        s += seg.key;
      }
    }
    return s;
  }

  void error(std::string message) {
    if (out->errors.size() >= kMaxReportedErrors) {
      ++suppressed_errors;
      return;
    }
    out->errors.push_back(document_error(render_path(), std::move(message)));
  }

  // A simdjson failure: either a bad value (reported, iteration goes on) or broken JSON (fatal:
  // the document cannot be walked further).
  bool failed(simdjson::error_code e, od::value* v, string_view expected) {
    if (!e) return false;
    if (e == simdjson::INCORRECT_TYPE && v) {
      od::json_type t{};
      if (!v->type().get(t))
        error("expected " + std::string(expected) + ", got " + std::string(type_name(t)));
      else
        error("expected " + std::string(expected));
    } else if (is_value_error(e)) {
      error("invalid " + std::string(expected) + ": " + simdjson::error_message(e));
    } else {
      fatal_error(e);
    }
    return true;
  }

  void fatal_error(simdjson::error_code e) {
    if (fatal) return;
    fatal = true;
    error(std::string("invalid JSON: ") + simdjson::error_message(e));
  }

  // --- typed readers; each reports its own error and returns false on failure -------------

  bool read_string(od::value& v, string_view& out_value) {
    return !failed(v.get_string().get(out_value), &v, "string");
  }

  bool read_nonempty_string(od::value& v, string_view& out_value) {
    if (!read_string(v, out_value)) return false;
    if (out_value.empty()) {
      error("must not be empty");
      return false;
    }
    return true;
  }

  // A name (service, instance id, team, contract party): see roster/wire/identifiers.hpp.
  bool read_identifier(od::value& v, string_view& out_value) {
    if (!read_string(v, out_value)) return false;
    if (auto valid = check_identifier(out_value); !valid) {
      error(valid.error().message);
      return false;
    }
    return true;
  }

  bool read_integer(od::value& v, int64_t min, int64_t max, int64_t& out_value) {
    od::json_type t{};
    if (failed(v.type().get(t), &v, "integer")) return false;
    if (t != od::json_type::number) {
      error("expected integer, got " + std::string(type_name(t)));
      return false;
    }
    if (failed(v.get_int64().get(out_value), &v, "integer")) return false;
    if (out_value < min || out_value > max) {
      error("must be between " + std::to_string(min) + " and " + std::to_string(max));
      return false;
    }
    return true;
  }

  bool read_time(od::value& v, int64_t& out_ms) {
    string_view s;
    if (!read_string(v, s)) return false;
    auto ms = parse_rfc3339_ms(s);
    if (!ms) {
      error("invalid time \"" + std::string(s) + "\": expected RFC 3339, e.g. 2024-05-01T12:00:00Z");
      return false;
    }
    out_ms = *ms;
    return true;
  }

  bool read_object(od::value& v, od::object& obj) { return !failed(v.get_object().get(obj), &v, "object"); }
  bool read_array(od::value& v, od::array& arr) { return !failed(v.get_array().get(arr), &v, "array"); }

  // Calls fn(key, value) for each field; reports duplicate keys among `known` (bit i = known[i]).
  // fn returns false for an unknown key.
  template <size_t N, typename Fn>
  void for_each_field(od::object& obj, const string_view (&known)[N], Fn&& fn) {
    static_assert(N <= 32);
    uint32_t seen = 0;
    size_t expected = 0;  // documents usually list fields in one order: try the next one first
    for (auto field_result : obj) {
      od::field field;
      if (failed(std::move(field_result).get(field), nullptr, "field")) return;
      string_view key;
      if (failed(field.unescaped_key().get(key), nullptr, "field name")) return;
      auto guard = enter(key);
      size_t id = expected < N && known[expected] == key ? expected : std::find(known, known + N, key) - known;
      expected = id + 1;
      if (id == N) {
        error("unknown field");
        continue;
      }
      if (seen & (1u << id)) {
        error("duplicate field");
        continue;
      }
      seen |= 1u << id;
      fn(id, field.value());
      if (fatal) return;
    }
  }

  template <typename Fn>
  void for_each_element(od::value& v, Fn&& fn) {
    od::array arr;
    if (!read_array(v, arr)) return;
    size_t index = 0;
    for (auto element_result : arr) {
      od::value element;
      auto guard = enter(index++);
      if (failed(std::move(element_result).get(element), nullptr, "value")) return;
      fn(element);
      if (fatal) return;
    }
  }

  void read_string_map(od::value& v, std::vector<KeyValue>& pool) {
    od::object obj;
    if (!read_object(v, obj)) return;
    const size_t begin = pool.size();
    for (auto field_result : obj) {
      od::field field;
      if (failed(std::move(field_result).get(field), nullptr, "field")) return;
      string_view key, value;
      if (failed(field.unescaped_key().get(key), nullptr, "field name")) return;
      auto guard = enter(key);
      if (key.empty()) error("key must not be empty");
      if (read_string(field.value(), value)) pool.emplace_back(key, value);
      if (fatal) return;
    }
    std::sort(pool.begin() + begin, pool.end());
    for (size_t i = begin + 1; i < pool.size(); ++i)
      if (pool[i].first == pool[i - 1].first) {
        auto guard = enter(pool[i].first);
        error("duplicate key");
      }
  }

  // An embedded JSON document (api_schema.document, pact): validated in full and kept minified.
  bool read_embedded_document(od::value& v, size_t& offset, size_t& size) {
    od::object obj;
    if (!read_object(v, obj)) return false;
    string_view raw;
    if (failed(obj.raw_json().get(raw), nullptr, "object")) return false;
    if (raw.size() > limits.max_embedded_document_bytes) {
      error("document is " + std::to_string(raw.size()) + " bytes; the limit is " +
            std::to_string(limits.max_embedded_document_bytes));
      return false;
    }
    // raw lies inside the padded input, so the bytes after it are readable padding.
    simdjson::dom::element parsed;
    if (auto e = embedded_parser.parse(raw.data(), raw.size(), false).get(parsed)) {
      error(std::string("invalid JSON document: ") + simdjson::error_message(e));
      return false;
    }
    auto& docs = scratch.documents;
    offset = docs.size();
    docs.resize(offset + raw.size());
    size_t minified = 0;
    if (simdjson::minify(raw.data(), raw.size(), docs.data() + offset, minified)) {
      docs.resize(offset);
      error("invalid JSON document");
      return false;
    }
    docs.resize(offset + minified);
    size = minified;
    return true;
  }

  // Registries repeat the same few ranges (`^1.0.0`, `~2.3.0`) thousands of times: remember the
  // valid ones instead of parsing each again. Bounded, so a hostile document cannot grow it.
  std::unordered_set<std::string> valid_ranges;
  static constexpr size_t kMaxRememberedRanges = 4096;

  void check_range(string_view range) {
    if (valid_ranges.count(std::string(range))) return;
    if (auto parsed = semver::Range::parse(range); !parsed) return error("invalid semver range " + parsed.error().message);
    if (valid_ranges.size() < kMaxRememberedRanges) valid_ranges.emplace(range);
  }

  void check_unique(std::vector<string_view> values, string_view what) {
    std::sort(values.begin(), values.end());
    auto dup = std::adjacent_find(values.begin(), values.end());
    if (dup != values.end()) error("duplicate " + std::string(what) + " \"" + std::string(*dup) + "\"");
  }

  // --- documents --------------------------------------------------------------------------

  void read_dependency(od::value& v) {
    od::object obj;
    if (!read_object(v, obj)) return;
    static constexpr string_view kFields[] = {"service", "range"};
    string_view service, range;
    const size_t errors_before = error_count();
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      if (id == 0) read_identifier(value, service);
      if (id == 1 && read_string(value, range)) check_range(range);
    });
    if (service.data() == nullptr) missing("service");
    if (range.data() == nullptr) missing("range");
    if (error_count() == errors_before) scratch.dependencies.emplace_back(service, range);
  }

  void read_endpoint(od::value& v) {
    od::object obj;
    if (!read_object(v, obj)) return;
    static constexpr string_view kFields[] = {"method", "path", "description"};
    EndpointFields ep;
    const size_t errors_before = error_count();
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      if (id == 0 && read_string(value, ep.method) && !is_http_method(ep.method))
        error("invalid HTTP method \"" + std::string(ep.method) + "\" (expected GET, POST, PUT, PATCH, DELETE, ...)");
      if (id == 1 && read_string(value, ep.path) && (ep.path.empty() || ep.path[0] != '/'))
        error("path must start with '/'");
      if (id == 2) read_string(value, ep.description);
    });
    if (ep.method.data() == nullptr) missing("method");
    if (ep.path.data() == nullptr) missing("path");
    if (error_count() == errors_before) scratch.endpoints.push_back(ep);
  }

  void read_api_schema(od::value& v, VersionFields& ver) {
    od::object obj;
    if (!read_object(v, obj)) return;
    static constexpr string_view kFields[] = {"format", "document"};
    string_view format;
    bool has_format = false, has_document = false;
    SchemaFormat parsed = SchemaFormat::None;
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      if (id == 0) {
        has_format = true;
        if (!read_string(value, format)) return;
        if (auto f = parse_schema_format(format))
          parsed = *f;
        else
          error("invalid schema format \"" + std::string(format) + "\" (expected openapi or json_schema)");
      }
      if (id == 1) {
        has_document = true;  // a bad one is reported by read_embedded_document
        read_embedded_document(value, ver.schema_offset, ver.schema_size);
      }
    });
    if (!has_format) missing("format");
    if (!has_document) missing("document");
    ver.schema_format = parsed;  // the version is rejected anyway if anything above failed
  }

  void read_instance(od::value& v) {
    od::object obj;
    if (!read_object(v, obj)) return;
    static constexpr string_view kFields[] = {"id",     "address", "port",     "zone",
                                              "weight", "health",  "metadata", "lease_expires_at",
                                              "followed_from"};
    InstanceFields inst;
    const size_t metadata_begin = scratch.labels.size();
    const size_t errors_before = error_count();
    bool has_port = false;
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      int64_t n = 0;
      string_view s;
      switch (id) {
        case 0: read_identifier(value, inst.id); break;
        case 1: read_nonempty_string(value, inst.address); break;
        case 2:
          has_port = true;
          if (read_integer(value, 1, 65535, n)) inst.port = static_cast<uint16_t>(n);
          break;
        case 3: read_string(value, inst.zone); break;
        case 4:
          if (read_integer(value, 0, 65535, n)) inst.weight = static_cast<uint16_t>(n);
          break;
        case 5:
          if (!read_string(value, s)) break;
          if (auto h = parse_health(s))
            inst.health = *h;
          else
            error("invalid health \"" + std::string(s) + "\" (expected up, down, starting or out_of_service)");
          break;
        case 6: read_string_map(value, scratch.labels); break;
        case 7: read_time(value, inst.lease_expires_at_ms); break;
        case 8: refuse_followed_from(); break;
      }
    });
    inst.metadata = slice_from(metadata_begin, scratch.labels.size());
    if (inst.id.data() == nullptr) missing("id");
    if (inst.address.data() == nullptr) missing("address");
    if (!has_port) missing("port");
    if (error_count() == errors_before) scratch.instances.push_back(inst);
  }

  // What GET routes show on a record a server follows from another registry; only that server sets it.
  void refuse_followed_from() {
    error("followed_from is set by a server on the records it follows from another registry (roster-server "
          "--follow); a client cannot send it");
  }

  void missing(string_view field) {
    auto guard = enter(field);
    error("missing required field");
  }

  // One service version object. `standalone`: a single-version document that names its service.
  void read_version(od::value& v, bool standalone) {
    od::object obj;
    if (!read_object(v, obj)) return;
    static constexpr string_view kFields[] = {
        "version",      "lifecycle_stage", "owner_team",  "description",   "tags",       "labels",
        "api_schema",   "dependencies",    "endpoints",   "documentation_url", "created_at", "updated_at",
        "deprecated_at", "sunset_at",      "deprecation_reason", "revision", "instances", "name",
        "retired_at",   "followed_from"};
    constexpr size_t kNameField = 17;
    VersionFields ver;
    const size_t tags_begin = scratch.tags.size();
    const size_t deps_begin = scratch.dependencies.size(), endpoints_begin = scratch.endpoints.size();
    const size_t instances_begin = scratch.instances.size();
    bool has_stage = false;
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      std::string why;
      int64_t n = 0;
      string_view s;
      switch (id) {
        case 0:
          if (read_string(value, ver.version))
            if (auto parsed = semver::Version::parse(ver.version); !parsed) error("invalid semver " + parsed.error().message);
          break;
        case 1:
          has_stage = true;
          if (read_string(value, s)) {
            if (auto stage = parse_lifecycle_stage(s)) {
              ver.stage = *stage;
            } else {
              error("invalid lifecycle stage \"" + std::string(s) +
                    "\" (expected proposed, development, beta, stable, deprecated, sunset or retired)");
            }
          }
          break;
        case 2: read_identifier(value, ver.owner_team); break;
        case 3: read_string(value, ver.description); break;
        case 4:
          for_each_element(value, [&](od::value& tag) {
            if (read_nonempty_string(tag, s)) scratch.tags.push_back(s);
          });
          check_unique({scratch.tags.begin() + tags_begin, scratch.tags.end()}, "tag");
          break;
        case 5: {
          const size_t begin = scratch.labels.size();
          read_string_map(value, scratch.labels);
          ver.labels = slice_from(begin, scratch.labels.size());
          break;
        }
        case 6: read_api_schema(value, ver); break;
        case 7: for_each_element(value, [&](od::value& dep) { read_dependency(dep); }); break;
        case 8: for_each_element(value, [&](od::value& ep) { read_endpoint(ep); }); break;
        case 9: read_string(value, ver.documentation_url); break;
        case 10: read_time(value, ver.created_at_ms); break;
        case 11: read_time(value, ver.updated_at_ms); break;
        case 12: read_time(value, ver.deprecated_at_ms); break;
        case 13: read_time(value, ver.sunset_at_ms); break;
        case 14: read_string(value, ver.deprecation_reason); break;
        case 15:  // assigned by the server when it commits: checked, then left out
          (void)read_integer(value, 0, INT64_MAX, n);
          break;
        case 16: for_each_element(value, [&](od::value& inst) { read_instance(inst); }); break;
        case 18: read_time(value, ver.retired_at_ms); break;
        case 19: refuse_followed_from(); break;
        case kNameField:
          if (!standalone)
            error("unknown field (the service's name belongs to the enclosing service)");
          else
            read_identifier(value, ver.name);
          break;
      }
    });
    if (fatal) return;
    ver.tags = slice_from(tags_begin, scratch.tags.size());
    ver.dependencies = slice_from(deps_begin, scratch.dependencies.size());
    ver.endpoints = slice_from(endpoints_begin, scratch.endpoints.size());
    ver.instances = slice_from(instances_begin, scratch.instances.size());
    if (ver.version.data() == nullptr) missing("version");
    if (!has_stage) missing("lifecycle_stage");
    if (ver.owner_team.data() == nullptr) missing("owner_team");
    if (standalone && ver.name.data() == nullptr) missing("name");
    {
      std::vector<string_view> ids;
      for (size_t i = instances_begin; i < scratch.instances.size(); ++i) ids.push_back(scratch.instances[i].id);
      auto guard = enter("instances");
      check_unique(std::move(ids), "instance id");
    }
    scratch.versions.push_back(ver);
  }

  size_t error_count() const { return out->errors.size() + suppressed_errors; }

  // One entry of `services`: its versions are read into scratch, then encoded if all is well.
  void read_service(od::value& v) {
    od::object obj;
    if (!read_object(v, obj)) return;
    scratch.clear();
    static constexpr string_view kFields[] = {"name", "versions", "settings"};
    string_view name;
    bool has_versions = false;
    std::optional<DecodedSettings> settings;
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      if (id == 0 && read_identifier(value, name) && !seen_services.insert(name).second)
        error("duplicate service \"" + std::string(name) + "\"");
      if (id == 1) {
        has_versions = true;
        for_each_element(value, [&](od::value& ver) { read_version(ver, false); });
        check_duplicate_versions();
      }
      if (id == 2) settings = read_settings(value);
    });
    if (fatal) return;
    if (name.data() == nullptr) missing("name");
    if (!has_versions) missing("versions");
    if (error_count() != 0) return;
    for (auto& ver : scratch.versions) encode_version(ver, name);
    if (settings) {
      settings->service = std::string(name);
      out->settings.push_back(std::move(*settings));
    }
  }

  // {"compatibility": "BACKWARD", "sunset_after_days": 90, "retire_after_days": 30}, each optional;
  // the days bounds are the settings API's.
  DecodedSettings read_settings(od::value& v) {
    DecodedSettings s;
    od::object obj;
    if (!read_object(v, obj)) return s;
    static constexpr string_view kFields[] = {"compatibility", "sunset_after_days", "retire_after_days"};
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      string_view mode;
      int64_t days = 0;
      if (id == 0 && read_string(value, mode)) {
        s.compatibility = parse_compatibility_mode(mode);
        if (!s.compatibility)
          error("unknown compatibility mode \"" + std::string(mode) +
                "\" (BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE or NONE)");
      }
      if (id != 0 && read_integer(value, 1, 3650, days))
        (id == 1 ? s.sunset_after_days : s.retire_after_days) = static_cast<int>(days);
    });
    return s;
  }

  // Versions equal by precedence (1.0.0+a, 1.0.0+b) would be ambiguous in every index.
  void check_duplicate_versions() {
    if (scratch.versions.size() < 2) return;
    std::vector<std::pair<semver::Version, size_t>> parsed;
    for (size_t i = 0; i < scratch.versions.size(); ++i)
      if (auto v = semver::Version::parse(scratch.versions[i].version)) parsed.emplace_back(std::move(*v), i);
    std::stable_sort(parsed.begin(), parsed.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < parsed.size(); ++i)
      if (parsed[i].first == parsed[i - 1].first) {
        auto guard = enter(parsed[i].second);
        error("duplicate version \"" + std::string(scratch.versions[parsed[i].second].version) + "\" (same precedence as \"" +
              std::string(scratch.versions[parsed[i - 1].second].version) + "\")");
      }
  }

  void read_contract(od::value& v) {
    od::object obj;
    if (!read_object(v, obj)) return;
    scratch.documents.clear();
    static constexpr string_view kFields[] = {"consumer", "consumer_version", "provider", "provider_range", "pact"};
    ContractFields c;
    bool has_pact = false;
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      std::string why;
      switch (id) {
        case 0: read_identifier(value, c.consumer); break;
        case 1:
          if (read_string(value, c.consumer_version))
            if (auto parsed = semver::Version::parse(c.consumer_version); !parsed)
              error("invalid semver " + parsed.error().message);
          break;
        case 2: read_identifier(value, c.provider); break;
        case 3:
          if (read_string(value, c.provider_range)) check_range(c.provider_range);
          break;
        case 4:
          has_pact = true;
          read_embedded_document(value, c.pact_offset, c.pact_size);
          break;
      }
    });
    if (fatal) return;
    if (c.consumer.data() == nullptr) missing("consumer");
    if (c.consumer_version.data() == nullptr) missing("consumer_version");
    if (c.provider.data() == nullptr) missing("provider");
    if (c.provider_range.data() == nullptr) missing("provider_range");
    if (!has_pact) missing("pact");
    if (error_count() == 0) encode_contract(c);  // a document with errors yields no records
  }

  void read_registry(od::object& obj) {
    static constexpr string_view kFields[] = {"services", "contracts"};
    bool has_services = false;
    for_each_field(obj, kFields, [&](size_t id, od::value& value) {
      if (id == 0) {
        has_services = true;
        for_each_element(value, [&](od::value& svc) { read_service(svc); });
      }
      if (id == 1) for_each_element(value, [&](od::value& c) { read_contract(c); });
    });
    if (!has_services && !fatal) missing("services");
  }

  // --- encoding -----------------------------------------------------------------------------

  std::vector<flatbuffers::Offset<flatbuffers::String>> string_offsets;
  std::vector<flatbuffers::Offset<Label>> label_offsets;
  std::vector<flatbuffers::Offset<Dependency>> dependency_offsets;
  std::vector<flatbuffers::Offset<Endpoint>> endpoint_offsets;

  flatbuffers::Offset<flatbuffers::String> optional_string(string_view s) {
    return s.empty() ? 0 : fbb.CreateString(s.data(), s.size());
  }
  flatbuffers::Offset<flatbuffers::String> string(string_view s) { return fbb.CreateString(s.data(), s.size()); }

  // Labels arrive sorted by key (read_string_map sorts them), as the `key` attribute requires.
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<Label>>> labels(Slice slice) {
    if (slice.begin == slice.end) return 0;
    label_offsets.clear();
    for (uint32_t i = slice.begin; i < slice.end; ++i)
      label_offsets.push_back(CreateLabel(fbb, string(scratch.labels[i].first), string(scratch.labels[i].second)));
    return fbb.CreateVector(label_offsets);
  }

  void finish_into(RecordList& list) { list.append({fbb.GetBufferPointer(), fbb.GetSize()}); }

  void encode_version(const VersionFields& ver, string_view service_name) {
    fbb.Clear();
    const string_view name = service_name.empty() ? ver.name : service_name;
    auto name_off = string(name), version_off = string(ver.version), owner_off = string(ver.owner_team);
    auto description_off = optional_string(ver.description);
    auto doc_url_off = optional_string(ver.documentation_url);
    auto reason_off = optional_string(ver.deprecation_reason);
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> tags_off = 0;
    if (ver.tags.begin != ver.tags.end) {
      string_offsets.clear();
      for (uint32_t i = ver.tags.begin; i < ver.tags.end; ++i) string_offsets.push_back(string(scratch.tags[i]));
      tags_off = fbb.CreateVector(string_offsets);
    }
    auto labels_off = labels(ver.labels);
    flatbuffers::Offset<ApiSchema> schema_off = 0;
    if (ver.schema_format != SchemaFormat::None) {
      const string_view doc(scratch.documents.data() + ver.schema_offset, ver.schema_size);
      schema_off = CreateApiSchema(fbb, ver.schema_format, string(doc), XXH3_64bits(doc.data(), doc.size()));
    }
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<Dependency>>> deps_off = 0;
    if (ver.dependencies.begin != ver.dependencies.end) {
      dependency_offsets.clear();
      for (uint32_t i = ver.dependencies.begin; i < ver.dependencies.end; ++i) {
        auto& [service, range] = scratch.dependencies[i];
        dependency_offsets.push_back(CreateDependency(fbb, string(service), string(range)));
      }
      deps_off = fbb.CreateVector(dependency_offsets);
    }
    flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<Endpoint>>> endpoints_off = 0;
    if (ver.endpoints.begin != ver.endpoints.end) {
      endpoint_offsets.clear();
      for (uint32_t i = ver.endpoints.begin; i < ver.endpoints.end; ++i) {
        auto& ep = scratch.endpoints[i];
        endpoint_offsets.push_back(CreateEndpoint(fbb, string(ep.method), string(ep.path), optional_string(ep.description)));
      }
      endpoints_off = fbb.CreateVector(endpoint_offsets);
    }
    ServiceVersionBuilder b(fbb);
    b.add_name(name_off);
    b.add_version(version_off);
    b.add_stage(ver.stage);
    b.add_description(description_off);
    b.add_owner_team(owner_off);
    b.add_tags(tags_off);
    b.add_labels(labels_off);
    b.add_api_schema(schema_off);
    b.add_dependencies(deps_off);
    b.add_endpoints(endpoints_off);
    b.add_documentation_url(doc_url_off);
    b.add_created_at_ms(ver.created_at_ms);
    b.add_updated_at_ms(ver.updated_at_ms);
    b.add_deprecated_at_ms(ver.deprecated_at_ms);
    b.add_sunset_at_ms(ver.sunset_at_ms);
    b.add_retired_at_ms(ver.retired_at_ms);
    b.add_deprecation_reason(reason_off);
    add_revision_placeholder(fbb, b);
    fbb.Finish(b.Finish());
    finish_into(out->services);

    for (uint32_t i = ver.instances.begin; i < ver.instances.end; ++i) encode_instance(scratch.instances[i], name, ver.version);
  }

  void encode_instance(const InstanceFields& inst, string_view service, string_view version) {
    fbb.Clear();
    auto service_off = string(service), version_off = string(version), id_off = string(inst.id);
    auto address_off = string(inst.address), zone_off = optional_string(inst.zone);
    auto metadata_off = labels(inst.metadata);
    InstanceBuilder b(fbb);
    b.add_service(service_off);
    b.add_version(version_off);
    b.add_id(id_off);
    b.add_address(address_off);
    b.add_port(inst.port);
    b.add_zone(zone_off);
    b.add_weight(inst.weight);
    b.add_health(inst.health);
    b.add_lease_expires_at_ms(inst.lease_expires_at_ms);
    b.add_metadata(metadata_off);
    add_revision_placeholder(fbb, b);
    fbb.Finish(b.Finish());
    finish_into(out->instances);
  }

  void encode_contract(const ContractFields& c) {
    fbb.Clear();
    const string_view pact(scratch.documents.data() + c.pact_offset, c.pact_size);
    auto consumer = string(c.consumer), consumer_version = string(c.consumer_version);
    auto provider = string(c.provider), provider_range = string(c.provider_range), pact_off = string(pact);
    ContractBuilder b(fbb);
    b.add_consumer(consumer);
    b.add_consumer_version(consumer_version);
    b.add_provider(provider);
    b.add_provider_range(provider_range);
    b.add_pact(pact_off);
    add_revision_placeholder(fbb, b);
    fbb.Finish(b.Finish());
    finish_into(out->contracts);
  }

  // --- the document -------------------------------------------------------------------------

  void decode_padded(const simdjson::padded_string_view json, DecodedDocument& result) {
    begin(result);
    if (json.size() == 0) return error("document is empty");

    od::document doc;
    if (auto e = parser.iterate(json).get(doc)) return fatal_error(e);
    od::json_type type;
    if (auto e = doc.type().get(type)) return fatal_error(e);
    if (type != od::json_type::object) return error("expected an object, got " + std::string(type_name(type)));

    // A registry has a top-level `services` or `contracts` field; anything else is one service
    // version. The scan stops at the first such key (in practice the first key of a registry).
    od::object top;
    if (auto e = doc.get_object().get(top)) return fatal_error(e);
    result.kind = DocumentKind::ServiceVersion;
    for (auto field_result : top) {
      od::field field;
      string_view key;
      if (auto e = std::move(field_result).get(field)) return fatal_error(e);
      if (auto e = field.unescaped_key().get(key)) return fatal_error(e);
      if (key == "services" || key == "contracts") {
        result.kind = DocumentKind::Registry;
        break;
      }
    }
    doc.rewind();

    if (result.kind == DocumentKind::Registry) {
      if (auto e = doc.get_object().get(top)) return fatal_error(e);
      read_registry(top);
    } else {
      od::value root;
      if (auto e = doc.get_value().get(root)) return fatal_error(e);
      read_version(root, true);
      if (!fatal && error_count() == 0) encode_version(scratch.versions.back(), {});
    }
    // current_location() is OUT_OF_BOUNDS once every token was consumed.
    const char* trailing = nullptr;
    if (!fatal && !doc.current_location().get(trailing))
      error("unexpected content after the document at byte " + std::to_string(trailing - json.data()));
  }

  void decode_instance_padded(const simdjson::padded_string_view json, string_view service, string_view version,
                              DecodedDocument& result) {
    begin(result);
    result.kind = DocumentKind::Instance;
    if (json.size() == 0) return error("document is empty");
    od::document doc;
    if (auto e = parser.iterate(json).get(doc)) return fatal_error(e);
    od::value root;
    if (auto e = doc.get_value().get(root)) return fatal_error(e);
    read_instance(root);
    const char* trailing = nullptr;
    if (!fatal && !doc.current_location().get(trailing))
      error("unexpected content after the document at byte " + std::to_string(trailing - json.data()));
    if (!fatal && error_count() == 0 && !scratch.instances.empty()) encode_instance(scratch.instances[0], service, version);
  }

  void begin(DecodedDocument& result) {
    out = &result;
    fatal = false;
    suppressed_errors = 0;
    path.clear();
    seen_services.clear();
    scratch.clear();
  }

  // Refuses a document over the size limit before anything copies or parses it.
  bool too_large(size_t size, const std::string& what, DecodedDocument& result) const {
    if (size <= limits.max_document_bytes) return false;
    result.errors.push_back(document_error("", what + " is " + std::to_string(size) + " bytes; the limit is " +
                                     std::to_string(limits.max_document_bytes) + " bytes",
                                           ErrorKind::TooLarge));
    return true;
  }

  void finish(DecodedDocument& result) {
    if (suppressed_errors)
      result.errors.push_back(document_error("", "... and " + std::to_string(suppressed_errors) + " more errors not shown"));
    if (!result.errors.empty()) {
      // All or nothing: a document with an error yields no records.
      result.services.clear();
      result.instances.clear();
      result.contracts.clear();
      result.settings.clear();
    }
    out = nullptr;
  }
};

JsonDecoder::JsonDecoder(CodecLimits limits) : impl_(std::make_unique<Impl>(limits)) {}
JsonDecoder::~JsonDecoder() = default;

DecodedDocument JsonDecoder::decode(std::string_view json) {
  DecodedDocument result;
  if (impl_->too_large(json.size(), "document", result)) return result;
  impl_->input = simdjson::padded_string(json);
  impl_->decode_padded(impl_->input, result);
  impl_->finish(result);
  return result;
}

DecodedDocument JsonDecoder::decode_instance(std::string_view json, std::string_view service, std::string_view version) {
  DecodedDocument result;
  if (impl_->too_large(json.size(), "document", result)) return result;
  impl_->input = simdjson::padded_string(json);
  impl_->decode_instance_padded(impl_->input, service, version, result);
  impl_->finish(result);
  return result;
}

}  // namespace roster::wire
