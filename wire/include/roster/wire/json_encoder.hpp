// FlatBuffer records -> registry JSON: the inverse of JsonDecoder (docs/registry-format.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/wire/roster_generated.h"

namespace roster::wire {

// Records to write as one registry document. Services group their versions in order of first
// appearance; instances go under the version they name.
struct RegistryRecords {
  std::vector<const ServiceVersion*> versions;
  std::vector<const Instance*> instances;
  std::vector<const Contract*> contracts;
  std::vector<const ServicePolicy*> policies;  // written as their service's `settings`
};

// An instance whose version is not among `versions` has no place in the document: it is left
// out and, when `orphans` is given, listed there so the caller can report it.
std::string to_registry_json(const RegistryRecords& records, bool pretty = false,
                             std::vector<const Instance*>* orphans = nullptr);

// One service version document (with its `name`), its instances included. Without
// `schema_document`, api_schema says only its format (listings leave the documents out). A
// `registry` (where a federated arena's reader found it) is written after the name.
std::string to_service_version_json(const ServiceVersion& version, const std::vector<const Instance*>& instances,
                                    bool pretty = false, bool schema_document = true, std::string_view registry = {});

// One instance as the registry format writes it: {id, address, port, zone, weight, health,
// lease_expires_at, metadata}; a listing that is not nested under its version adds service and
// version first. The lease is the record's unless the server's own is given.
struct InstanceJson {
  bool with_service = false;
  std::optional<int64_t> lease_expires_at_ms;  // Unix ms
};
class JsonWriter;
void write_instance(JsonWriter& w, const Instance& instance, const InstanceJson& options = {});

// roster's error document, what every roster HTTP API answers a failure with:
// {"error": {"code": CODE, "message": MESSAGE, "path": PATH or null}}.
std::string error_json(std::string_view code, std::string_view message, std::string_view path = {});

}  // namespace roster::wire
