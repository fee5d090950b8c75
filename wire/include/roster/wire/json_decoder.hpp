// Strict registry JSON -> standalone FlatBuffer records (docs/registry-format.md).
//
// Every problem in a document is reported with its JSON path; a document with any error yields
// no records at all, so callers can never apply half of a bad document.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/wire/record_list.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::wire {

struct CodecLimits {
  size_t max_document_bytes = size_t{64} << 20;
  size_t max_embedded_document_bytes = size_t{8} << 20;  // one api_schema or pact document
  size_t max_depth = 256;
};

// A document's problem: Error{Invalid or TooLarge, "invalid_document" or "document_too_large",
// message, where = its JSON path like `services[3].versions[0].owner_team` ("" for the document)}.
inline Error document_error(std::string where, std::string message, ErrorKind kind = ErrorKind::Invalid) {
  return {kind, kind == ErrorKind::TooLarge ? "document_too_large" : "invalid_document", std::move(message),
          std::move(where)};
}

enum class DocumentKind { Registry, ServiceVersion, Instance };

// A registry service's `settings` (the compatibility mode and lifecycle policy the server applies
// to it); a field left out keeps what the server has (or its default).
struct DecodedSettings {
  std::string service;
  std::optional<CompatibilityMode> compatibility;
  std::optional<int> sunset_after_days, retire_after_days;
};

struct DecodedDocument {
  DocumentKind kind = DocumentKind::Registry;
  RecordList services;   // ServiceVersion records
  RecordList instances;  // Instance records
  RecordList contracts;  // Contract records
  std::vector<DecodedSettings> settings;
  std::vector<Error> errors;  // every problem found (all or nothing: no records when any)
  bool ok() const { return errors.empty(); }
};

class JsonDecoder {
 public:
  explicit JsonDecoder(CodecLimits limits = {});
  ~JsonDecoder();
  JsonDecoder(const JsonDecoder&) = delete;
  JsonDecoder& operator=(const JsonDecoder&) = delete;

  // Decodes a registry or a single service version document. The decoder keeps its buffers
  // between calls, so reuse one for many documents.
  DecodedDocument decode(std::string_view json);
  // One instance object (the fields of a registry's `instances` entry) of service@version, as
  // a server receives it when an instance registers.
  DecodedDocument decode_instance(std::string_view json, std::string_view service, std::string_view version);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::wire
