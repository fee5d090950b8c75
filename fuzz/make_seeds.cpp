// Writes the seed corpora of fuzz/corpus/ from real encoders: frames, Snapshots and Deltas built
// the way roster-server builds them, cache files the way roster-agent writes them, JSON from
// examples/registry.json and tests/governance/data, HTTP requests as clients send them, and patch
// lists for shm_reader aimed at the arena header's fields. Deterministic: regenerating gives the
// same files.
//
//   build/fuzz/fuzz_make_seeds SOURCE_DIR OUT_DIR      (OUT_DIR/<harness>/<seed>)
// then compare or copy into fuzz/corpus/ (fuzz/README.md).
#include <xxhash.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "roster/detail/layout.hpp"
#include "roster/shm/batch_resolver.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/roster_generated.h"
#include "roster/wire/snapshot.hpp"

namespace {

using namespace roster;
using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

fs::path out_dir;

void put(const std::string& harness, const std::string& name, const Bytes& bytes) {
  fs::create_directories(out_dir / harness);
  std::ofstream(out_dir / harness / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                                  static_cast<std::streamsize>(bytes.size()));
}
Bytes text(std::string_view s) { return {s.begin(), s.end()}; }
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return s.str();
}

constexpr std::string_view kVersion = R"({"name": "svc", "version": "1.2.3-rc.1+b5", "lifecycle_stage": "deprecated",
  "owner_team": "team \"quoted\" \u00e9", "description": "line\nbreak\ttab", "tags": ["a", "b"], "labels": {"k1": "v1", "k0": "v0"},
  "api_schema": {"format": "json_schema", "document": {"type": "object", "properties": {"x": {"type": "string"}}}},
  "dependencies": [{"service": "dep", "range": "^1.0.0 || >=3.0.0-beta <4"}],
  "endpoints": [{"method": "GET", "path": "/x/{id}", "description": "get x"}, {"method": "DELETE", "path": "/x"}],
  "documentation_url": "https://docs.example.com/svc", "created_at": "2024-01-02T03:04:05Z",
  "updated_at": "2024-01-02T03:04:05.123Z", "deprecated_at": "2025-01-01T00:00:00+02:00",
  "sunset_at": "2025-04-01T00:00:00Z", "deprecation_reason": "replaced by svc 2",
  "instances": [{"id": "i1", "address": "10.0.0.9", "port": 9000, "zone": "z", "weight": 5, "health": "starting",
                 "metadata": {"pod": "p"}}]})";

wire::DecodedDocument decode(std::string_view json) {
  wire::JsonDecoder decoder;
  auto doc = decoder.decode(json);
  if (!doc.ok()) throw std::runtime_error("seed JSON is invalid: " + doc.errors[0].to_string());
  return doc;
}

Bytes finish(flatbuffers::FlatBufferBuilder& fbb) { return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()}; }

// The resolutions the server sends with `services` upserted and `removed` removed after the
// versions of `base` (model/service_resolution.hpp, through shm::BatchResolver).
wire::RecordList resolutions_after(const wire::RecordList* base, const wire::RecordList* services,
                                   const std::vector<std::pair<std::string, std::string>>& removed = {}) {
  shm::BatchResolver resolver;
  if (base) {
    shm::Batch b;
    for (size_t i = 0; i < base->size(); ++i) b.upsert_versions.push_back((*base)[i]);
    (void)resolver.resolve(b);
  }
  shm::Batch b;
  if (services)
    for (size_t i = 0; i < services->size(); ++i) b.upsert_versions.push_back((*services)[i]);
  for (auto& [name, version] : removed) b.remove_versions.push_back({name, version});
  wire::RecordList out;
  for (auto& r : resolver.resolve(b)) out.append(r);
  return out;
}

Bytes snapshot(const wire::DecodedDocument& doc, uint64_t revision, std::string_view store = "store-1") {
  auto b = wire::build_snapshot(doc.services, doc.instances, doc.contracts, revision, store,
                                resolutions_after(nullptr, &doc.services));
  return {b.data(), b.data() + b.size()};
}

// A Delta as Registry::encode_delta builds one (upstream/core/registry.cpp), applying to
// fuzz::kSmallRegistry (its resolutions are those the server sends after that registry).
struct DeltaSpec {
  const wire::RecordList* services = nullptr;
  const wire::RecordList* instances = nullptr;
  const wire::RecordList* contracts = nullptr;
  std::vector<std::pair<std::string, std::string>> remove_versions;
  std::vector<std::array<std::string, 3>> remove_instances, remove_contracts;
};
Bytes delta(const DeltaSpec& d, uint64_t revision) {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<flatbuffers::Offset<wire::ServiceRecord>> us;
  std::vector<flatbuffers::Offset<wire::InstanceRecord>> ui;
  std::vector<flatbuffers::Offset<wire::ContractRecord>> uc;
  std::vector<flatbuffers::Offset<wire::ServiceKey>> rs;
  std::vector<flatbuffers::Offset<wire::InstanceKey>> ri;
  std::vector<flatbuffers::Offset<wire::ContractKey>> rc;
  if (d.services)
    for (size_t i = 0; i < d.services->size(); ++i) us.push_back(wire::CreateServiceRecord(fbb, wire::nested_record(fbb, (*d.services)[i])));
  if (d.instances)
    for (size_t i = 0; i < d.instances->size(); ++i) ui.push_back(wire::CreateInstanceRecord(fbb, wire::nested_record(fbb, (*d.instances)[i])));
  if (d.contracts)
    for (size_t i = 0; i < d.contracts->size(); ++i) uc.push_back(wire::CreateContractRecord(fbb, wire::nested_record(fbb, (*d.contracts)[i])));
  for (auto& [n, v] : d.remove_versions) rs.push_back(wire::CreateServiceKeyDirect(fbb, n.c_str(), v.c_str()));
  for (auto& k : d.remove_instances) ri.push_back(wire::CreateInstanceKeyDirect(fbb, k[0].c_str(), k[1].c_str(), k[2].c_str()));
  for (auto& k : d.remove_contracts) rc.push_back(wire::CreateContractKeyDirect(fbb, k[0].c_str(), k[1].c_str(), k[2].c_str()));
  std::vector<flatbuffers::Offset<wire::ResolutionRecord>> rr;
  const wire::RecordList base = decode(fuzz::kSmallRegistry).services;
  const wire::RecordList resolved = resolutions_after(&base, d.services, d.remove_versions);
  for (size_t i = 0; i < resolved.size(); ++i) rr.push_back(wire::CreateResolutionRecord(fbb, wire::nested_record(fbb, resolved[i])));
  fbb.Finish(wire::CreateDelta(fbb, revision - 1, revision, fbb.CreateVector(us), fbb.CreateVector(rs), fbb.CreateVector(ui),
                               fbb.CreateVector(ri), fbb.CreateVector(uc), fbb.CreateVector(rc), 0, fbb.CreateVector(rr)));
  return finish(fbb);
}

Bytes frame(wire::FrameType type, const Bytes& payload) {
  Bytes out;
  wire::append_frame(out, type, payload);
  return out;
}

Bytes hello() {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CreateHelloDirect(fbb, "agent-1", 42, "secret-token", "store-1"));
  return finish(fbb);
}
Bytes keepalive() {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CreateKeepalive(fbb, 42, 1700000000000));
  return finish(fbb);
}
Bytes stream_error() {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CreateStreamErrorDirect(fbb, 401, "bad token"));
  return finish(fbb);
}

// A ServiceVersion the JSON decoder would refuse (not SemVer) but FlatBuffers verification
// passes: the arena writer must refuse it and change nothing.
Bytes bad_semver_record() {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CreateServiceVersionDirect(fbb, "users", "not-a-version", wire::LifecycleStage::Stable, nullptr, "identity"));
  return finish(fbb);
}
// An instance of a version nobody registered.
Bytes orphan_instance_record() {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CreateInstanceDirect(fbb, "ghost", "9.9.9", "g1", "10.9.9.9", 1));
  return finish(fbb);
}

Bytes le64(uint64_t v) {
  Bytes out(8);
  std::memcpy(out.data(), &v, 8);
  return out;
}
Bytes le16(uint16_t v) { return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8)}; }

// shm_reader patch: op | offset (u16) | length | bytes.
Bytes patch(uint8_t op, uint16_t offset, const Bytes& bytes) {
  return cat({{op}, le16(offset), {static_cast<uint8_t>(bytes.size())}, bytes});
}

void registry_json(const fs::path& source) {
  put("registry_json", "example_registry.json", text(read(source / "examples/registry.json")));
  put("registry_json", "small_registry.json", text(fuzz::kSmallRegistry));
  put("registry_json", "service_version.json", text(kVersion));
  put("registry_json", "instance.json",
      text(R"({"id": "i-7", "address": "10.0.0.7", "port": 8443, "zone": "eu-1a", "weight": 10, "health": "out_of_service", "lease_expires_at": "2030-01-01T00:00:00Z", "metadata": {"pod": "p-7", "node": "n"}})"));
  put("registry_json", "invalid_version.json", text(R"({"name": "svc", "version": "1.0", "lifecycle_stage": "stable", "owner_team": "t"})"));
  put("registry_json", "invalid_unknown_field.json", text(R"({"services": [{"name": "a", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t", "colour": "red"}]}]})"));
  put("registry_json", "invalid_name.json", text(R"({"services": [{"name": "..", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t\u0001"}]}]})"));
  put("registry_json", "invalid_truncated.json", text(std::string(fuzz::kSmallRegistry.substr(0, 300))));
  put("registry_json", "invalid_deep.json", text("{\"services\": " + std::string(300, '[') + std::string(300, ']') + "}"));
  put("registry_json", "invalid_utf8.json", cat({text(R"({"name": "s)"), {0xc3, 0x28}, text(R"(", "version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t"})")}));
  put("registry_json", "invalid_half_good.json", text(R"({"services": [{"name": "good", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "t"}]}, {"name": "bad", "versions": [{"version": "x", "lifecycle_stage": "stable", "owner_team": "t"}]}]})"));
}

void governance_json(const fs::path& source) {
  auto example = decode(read(source / "examples/registry.json"));
  std::vector<std::pair<std::string, std::string>> schemas;  // name@version, document
  for (size_t i = 0; i < example.services.size(); ++i) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(example.services[i].data());
    if (v->api_schema()) schemas.emplace_back(v->name()->str() + "@" + v->version()->str(), v->api_schema()->document()->str());
  }
  auto doc_of = [&](const std::string& key) {
    for (auto& [k, d] : schemas)
      if (k == key) return d;
    throw std::runtime_error("no schema for " + key);
  };
  const Bytes nul{0};
  auto two = [&](uint8_t options, const std::string& a, const std::string& b) { return cat({{options}, text(a), nul, text(b)}); };
  const std::string v30 = read(source / "tests/governance/data/openapi_check/valid-3.0.json");
  const std::string v31 = read(source / "tests/governance/data/openapi_check/valid-3.1.json");
  put("governance_json", "openapi_3.0", cat({{0}, text(v30)}));
  put("governance_json", "openapi_3.1", cat({{0}, text(v31)}));
  put("governance_json", "diff_3.0_3.1", two(0, v30, v31));
  // Consecutive versions: BACKWARD (0), FULL_TRANSITIVE (5) lenient.
  put("governance_json", "users_1.0.0_2.0.0", two(0, doc_of("user-service@1.0.0"), doc_of("user-service@2.0.0")));
  put("governance_json", "users_2.0.0_2.1.0", two(0x85, doc_of("user-service@2.0.0"), doc_of("user-service@2.1.0")));
  put("governance_json", "auth_1.4.2_2.0.0-rc.1", two(2, doc_of("auth-service@1.4.2"), doc_of("auth-service@2.0.0-rc.1")));
  const std::string js = doc_of("notification-service@1.1.0");
  put("governance_json", "json_schema_self", two(0x44, js, js));
  put("governance_json", "json_schema_compat",
      two(0x03, R"({"type": "object", "properties": {"id": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 4}}, "required": ["id"], "additionalProperties": false})",
          R"({"type": "object", "properties": {"id": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}}, "name": {"type": ["string", "null"], "pattern": "^[a-z]+$"}}, "required": ["id", "name"]})"));
  put("governance_json", "json_schema_validate",
      two(0x40, R"({"definitions": {"n": {"type": "integer", "minimum": 0}}, "type": "object", "properties": {"n": {"$ref": "#/definitions/n"}, "when": {"type": "string", "format": "date-time"}}, "oneOf": [{"required": ["n"]}, {"required": ["when"]}]})",
          R"({"n": 3, "when": "2024-01-01T00:00:00Z"})"));
  // Pacts from the example's contracts, against their providers' documents.
  for (size_t i = 0; i < example.contracts.size(); ++i) {
    auto* c = flatbuffers::GetRoot<wire::Contract>(example.contracts[i].data());
    for (auto& [key, document] : schemas)
      if (key.rfind(c->provider()->str() + "@", 0) == 0) {
        put("governance_json", "pact_" + c->consumer()->str() + "_" + key, two(0, c->pact()->str(), document));
        break;
      }
  }
  put("governance_json", "invalid_deep", cat({{0}, text(std::string(100000, '['))}));
  put("governance_json", "invalid_deep_object", cat({{0}, text("{\"a\":"), text(std::string(300, '[')), text(std::string(300, ']')), text("}")}));
  put("governance_json", "ref_loop", two(0, R"({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}}, "components": {"schemas": {"A": {"$ref": "#/components/schemas/B"}, "B": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/A"}}}}}})",
                                         R"({"openapi": "3.0.3", "info": {"title": "t", "version": "2"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}}}}, "components": {"schemas": {"A": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/A"}, "x~1/y": {"type": "string"}}}}}})"));
}

void stream_frames(const fs::path& source) {
  auto small = decode(fuzz::kSmallRegistry);
  auto example = decode(read(source / "examples/registry.json"));
  auto version = decode(kVersion);
  // Split sizes: byte 0 (count in the low 4 bits), then the sizes.
  const Bytes whole{0}, bytewise{1, 1}, ragged{3, 7, 100, 1};
  put("stream_frames", "hello", cat({whole, frame(wire::FrameType::Hello, hello())}));
  put("stream_frames", "hello_small_limit", cat({{0x10}, frame(wire::FrameType::Hello, hello())}));
  put("stream_frames", "snapshot_small_ragged", cat({ragged, frame(wire::FrameType::Snapshot, snapshot(small, 7))}));
  put("stream_frames", "snapshot_example", cat({whole, frame(wire::FrameType::Snapshot, snapshot(example, 100))}));
  DeltaSpec d{&version.services, &version.instances, nullptr, {{"users", "1.1.0-rc.1"}}, {{"users", "1.0.0", "b"}}, {{"users", "1.0.0", "db"}}};
  put("stream_frames", "session_bytewise",
      cat({bytewise, frame(wire::FrameType::Snapshot, snapshot(small, 7)), frame(wire::FrameType::Delta, delta(d, 8)),
           frame(wire::FrameType::Keepalive, keepalive()), frame(wire::FrameType::Error, stream_error())}));
  // A snapshot in two chunks (last = false, then last = true).
  {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CreateSnapshot(fbb, 9, 0, false));
    put("stream_frames", "snapshot_chunks",
        cat({ragged, frame(wire::FrameType::Snapshot, finish(fbb)), frame(wire::FrameType::Snapshot, snapshot(small, 9))}));
  }
  Bytes bad_version = frame(wire::FrameType::Keepalive, keepalive());
  bad_version[5] = 1;  // the protocol before the server sent resolutions
  put("stream_frames", "invalid_protocol_version", cat({whole, bad_version}));
  Bytes truncated = frame(wire::FrameType::Delta, delta(d, 8));
  truncated.resize(truncated.size() / 2);
  put("stream_frames", "invalid_truncated", cat({whole, truncated}));
  Bytes garbage_payload = frame(wire::FrameType::Snapshot, snapshot(small, 7));
  for (size_t i = 16; i < garbage_payload.size(); i += 13) garbage_payload[i] ^= 0x5a;
  put("stream_frames", "invalid_payload", cat({whole, garbage_payload}));
}

void arena_apply(const fs::path& source) {
  auto small = decode(fuzz::kSmallRegistry);
  auto example = decode(read(source / "examples/registry.json"));
  auto version = decode(kVersion);
  // Options byte: bit 0 Snapshot, bit 1 tiny arena, bits 2-3 federation.
  put("arena_apply", "snapshot_small", cat({{1}, snapshot(small, 3)}));
  put("arena_apply", "snapshot_example", cat({{1}, snapshot(example, 3)}));
  put("arena_apply", "snapshot_example_tiny_arena", cat({{3}, snapshot(example, 3)}));
  DeltaSpec upsert{&version.services, &version.instances, &small.contracts, {}, {}, {}};
  put("arena_apply", "delta_upsert", cat({{0}, delta(upsert, 2)}));
  DeltaSpec removes{nullptr, nullptr, nullptr, {{"users", "1.1.0-rc.1"}, {"nobody", "1.0.0"}}, {{"users", "1.0.0", "b"}},
                    {{"users", "1.0.0", "db"}}};
  put("arena_apply", "delta_remove", cat({{0}, delta(removes, 2)}));
  DeltaSpec everything{nullptr, nullptr, nullptr, {{"users", "1.0.0"}, {"users", "1.1.0-rc.1"}, {"db", "2.3.0"}}, {}, {}};
  put("arena_apply", "delta_remove_all", cat({{0}, delta(everything, 2)}));
  put("arena_apply", "delta_example_tiny_arena", cat({{2}, delta({&example.services, &example.instances, &example.contracts, {}, {}, {}}, 2)}));
  wire::RecordList bad_versions, orphans;
  bad_versions.append(bad_semver_record());
  orphans.append(orphan_instance_record());
  put("arena_apply", "refused_not_semver", cat({{0}, delta({&bad_versions, nullptr, nullptr, {}, {}, {}}, 2)}));
  put("arena_apply", "refused_orphan_instance", cat({{0}, delta({&version.services, &orphans, nullptr, {}, {}, {}}, 2)}));
  // Bit 2: a federated arena of two registries holding the base; bit 3: the batch goes to the second.
  put("arena_apply", "federated_snapshot_replaces_a", cat({{1 | 4}, snapshot(example, 3)}));
  put("arena_apply", "federated_snapshot_replaces_b", cat({{1 | 4 | 8}, snapshot(small, 3)}));
  put("arena_apply", "federated_delta_remove_all_b", cat({{4 | 8}, delta(everything, 2)}));
  put("arena_apply", "federated_delta_upsert_a", cat({{4}, delta(upsert, 2)}));
}

void cache_file() {
  auto small = decode(fuzz::kSmallRegistry);
  auto version = decode(kVersion);
  const Bytes snap = snapshot(small, 12);
  auto file_of = [](const Bytes& payload, uint64_t sum) {
    return cat({le64(0x48434143'52545352), {1, 0, 0, 0, 0, 0, 0, 0}, le64(payload.size()), le64(sum), payload});
  };
  // Mode byte: odd = payload behind a valid header; even = the whole file.
  put("cache_file", "payload_small", cat({{1}, snap}));
  put("cache_file", "payload_version", cat({{1}, snapshot(version, 1, "")}));
  put("cache_file", "file_small", cat({{0}, file_of(snap, XXH3_64bits(snap.data(), snap.size()))}));
  put("cache_file", "file_bad_checksum", cat({{0}, file_of(snap, 1)}));
  put("cache_file", "file_short", cat({{0}, text("RSTRCACH")}));
  put("cache_file", "payload_garbage", cat({{1}, text("not a flatbuffer at all, but long enough to have a root offset")}));
}

void shm_reader() {
  using shm::detail::ReaderSegmentHeader;
  using shm::detail::ReaderSlot;
  using shm::detail::SegmentHeader;
  auto field = [](size_t offset) { return static_cast<uint16_t>(offset); };
  // op: bit 0 readers segment; bits 1-2: 0 start, 1 x32, 2 heap-relative, 3 aligned u64.
  const uint8_t data_u64 = 6, readers_u64 = 7, heap = 4;
  put("shm_reader", "sound", {0});
  put("shm_reader", "sound_wait", {1});
  put("shm_reader", "service_table_far", cat({{0}, patch(data_u64, field(offsetof(SegmentHeader, service_table)), le64(uint64_t{1} << 40))}));
  put("shm_reader", "service_capacity_3", cat({{0}, patch(data_u64, field(offsetof(SegmentHeader, service_capacity)), le64(3))}));
  put("shm_reader", "key_capacity_huge", cat({{0}, patch(data_u64, field(offsetof(SegmentHeader, key_capacity)), le64(uint64_t{1} << 62))}));
  put("shm_reader", "heap_bytes_huge", cat({{0}, patch(data_u64, field(offsetof(SegmentHeader, heap_bytes)), le64(~uint64_t{0} - 7))}));
  put("shm_reader", "generation_far", cat({{1}, patch(data_u64, field(offsetof(SegmentHeader, generation)), le64(uint64_t{1} << 50))}));
  put("shm_reader", "replaced", cat({{1}, patch(data_u64, field(offsetof(SegmentHeader, replaced) & ~size_t{7}), le64(uint64_t{1} << 32))}));
  put("shm_reader", "heap_noise", cat({{0}, patch(heap, 0, Bytes(255, 0xff)), patch(heap, 512, Bytes(200, 0x41))}));
  put("shm_reader", "heap_offsets", cat({{0}, patch(heap, 8, le64(0xfffffff0)), patch(heap, 24, le64(0x7fffffff'ffffffff)),
                                         patch(heap, 40, le64(1)), patch(heap, 64, le64(0xffffffff))}));
  put("shm_reader", "readers_slot_count", cat({{0}, patch(readers_u64, field(offsetof(ReaderSegmentHeader, slot_count) & ~size_t{7}), le64(0x7fffffff'00000003))}));
  Bytes owners{0};
  for (uint16_t i = 0; i < 4; ++i)
    owners = cat({owners, patch(readers_u64, field(sizeof(ReaderSegmentHeader) + i * sizeof(ReaderSlot) + offsetof(ReaderSlot, owner)), le64(0xdeadbeef))});
  put("shm_reader", "readers_all_slots_owned", owners);
  put("shm_reader", "readers_instance_id", cat({{0}, patch(readers_u64, field(offsetof(ReaderSegmentHeader, instance_id)), le64(12345))}));
  put("shm_reader", "magic", cat({{0}, patch(data_u64, 0, le64(0))}));
}

void http_request() {
  const Bytes whole{0}, ragged{3, 1, 17, 5}, small_limits{0x10};
  put("http_request", "get_query", cat({whole, text("GET /v1/services/user-service/instances?healthy=true&version=2.1.0&tag=a+b%20c HTTP/1.1\r\nHost: 127.0.0.1:7070\r\nAccept: */*\r\n\r\n")}));
  put("http_request", "get_escaped_segments", cat({whole, text("GET /v1/services/a%2Fb/versions/1.0.0%2Bbuild?x=%00&y=%zz HTTP/1.1\r\nHost: h\r\n\r\n")}));
  {
    const std::string body = R"({"services": [{"name": "a", "versions": [{"version": "1.0.0", "owner_team": "t!"}]}]})";
    put("http_request", "post_content_length",
        cat({ragged, text("POST /v1/registry?dry_run=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: " +
                          std::to_string(body.size()) + "\r\n\r\n" + body)}));
  }
  put("http_request", "post_chunked", cat({ragged, text("PUT /v1/services/svc/versions/1.0.0 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                                        "a\r\n{\"name\": \"\r\n5;ext=1\r\nsvc\",\r\n0\r\nTrailer: x\r\n\r\n")}));
  put("http_request", "expect_continue", cat({whole, text("POST /v1/schemas/diff HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}")}));
  put("http_request", "pipelined", cat({{1, 9}, text("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\nGET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\nDELETE /v1/services/x/versions/1.0.0/instances/i HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")}));
  put("http_request", "absolute_form", cat({whole, text("GET http://127.0.0.1:7070/v1/revision?a=1&a=2&=&b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")}));
  put("http_request", "smuggle_te_cl", cat({whole, text("POST /v1/registry HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")}));
  put("http_request", "smuggle_two_cl", cat({whole, text("POST /v1/registry HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde")}));
  put("http_request", "te_gzip", cat({whole, text("POST /v1/registry HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n")}));
  put("http_request", "te_http10", cat({whole, text("POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")}));
  put("http_request", "headers_too_large", cat({small_limits, text("GET / HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(400, 'p') + "\r\n\r\n")}));
  put("http_request", "body_too_large", cat({small_limits, text("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b'))}));
  put("http_request", "chunked_too_large", cat({{0x11, 7}, text("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + std::string(64, 'c') + "\r\n1\r\nc\r\n0\r\n\r\n")}));
  put("http_request", "malformed", cat({whole, text("GET /\x01 HTTP/1.1\r\nHost h\r\n\r\n")}));
  put("http_request", "asterisk", cat({whole, text("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")}));
}

// shared_store_changes: mutations as another server would commit them (kind, key length, key,
// record length or 0xFFFF for a delete, record), and some that no server would.
void shared_store_changes() {
  wire::JsonDecoder decoder;
  auto doc = decoder.decode(fuzz::kSmallRegistry);
  if (!doc.ok()) throw std::runtime_error("kSmallRegistry does not decode");
  auto mutation = [](uint8_t kind, const std::string& key, const Bytes* record) {
    Bytes out{kind, static_cast<uint8_t>(key.size())};
    out.insert(out.end(), key.begin(), key.end());
    const uint16_t length = record ? static_cast<uint16_t>(record->size()) : 0xFFFF;
    out.push_back(static_cast<uint8_t>(length));
    out.push_back(static_cast<uint8_t>(length >> 8));
    if (record) out.insert(out.end(), record->begin(), record->end());
    return out;
  };
  auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(doc.services[0].data());
  auto* inst = flatbuffers::GetRoot<wire::Instance>(doc.instances[0].data());
  const std::string vkey = v->name()->str() + '\0' + v->version()->str();
  const std::string ikey = inst->service()->str() + '\0' + inst->version()->str() + '\0' + inst->id()->str();
  const Bytes version(doc.services[0].begin(), doc.services[0].end());
  const Bytes instance(doc.instances[0].begin(), doc.instances[0].end());
  put("shared_store_changes", "version_put", mutation(1, vkey, &version));
  put("shared_store_changes", "version_and_instance", cat({mutation(1, vkey, &version), mutation(2, ikey, &instance)}));
  put("shared_store_changes", "deletes", cat({mutation(2, ikey, nullptr), mutation(1, vkey, nullptr)}));
  put("shared_store_changes", "key_and_record_disagree", mutation(1, std::string("other\0" "9.9.9", 11), &version));
  Bytes cut(version.begin(), version.begin() + version.size() / 2);
  put("shared_store_changes", "truncated_record", cat({mutation(2, ikey, nullptr), mutation(1, vkey, &cut)}));
  put("shared_store_changes", "unknown_kind", mutation(9, vkey, &version));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " SOURCE_DIR OUT_DIR\n";
    return 2;
  }
  const fs::path source = argv[1];
  out_dir = argv[2];
  try {
    registry_json(source);
    governance_json(source);
    stream_frames(source);
    arena_apply(source);
    cache_file();
    shm_reader();
    http_request();
    shared_store_changes();
  } catch (const std::exception& e) {
    std::cerr << "make_seeds: " << e.what() << "\n";
    return 1;
  }
  std::cout << "seeds written under " << out_dir << "\n";
  return 0;
}
