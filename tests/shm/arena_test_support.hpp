// Helpers for arena tests: unique arena names, records built from registry JSON, cleanup.
#pragma once

#include <unistd.h>

#include <atomic>
#include <string>

#include "shm/writer.hpp"
#include "wire/json_decoder.hpp"

namespace roster::testing {

// A name no other test (or test process) uses; segments are removed by ArenaFixture.
inline std::string unique_arena_name(const std::string& what) {
  static std::atomic<int> counter{0};
  return "test-" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

// Decoded records kept alive for a batch (Batch holds spans into them).
struct Records {
  wire::DecodedDocument doc;
  shm::Batch batch(uint64_t revision = 0) const {
    shm::Batch b;
    b.revision = revision;
    for (size_t i = 0; i < doc.services.size(); ++i) b.upsert_versions.push_back(doc.services[i]);
    for (size_t i = 0; i < doc.instances.size(); ++i) b.upsert_instances.push_back(doc.instances[i]);
    for (size_t i = 0; i < doc.contracts.size(); ++i) b.upsert_contracts.push_back(doc.contracts[i]);
    return b;
  }
};

inline Records records(const std::string& json) {
  wire::JsonDecoder decoder;
  Records r{decoder.decode(json)};
  if (!r.doc.ok()) throw std::runtime_error("test JSON is invalid: " + r.doc.errors[0].to_string());
  return r;
}

// One service version as registry JSON, with optional extra fields.
inline std::string version_json(const std::string& name, const std::string& version, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "version": ")" + version +
         R"(", "lifecycle_stage": "stable", "owner_team": "team-a")" + extra + "}";
}

}  // namespace roster::testing
