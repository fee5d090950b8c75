// Fuzz harness: what roster-agent does with a verified Snapshot or Delta from upstream (or from
// its cache file). The payload is verified as the agent verifies it; the records become one
// shm::Batch (agent/frame_batch.hpp); an ArenaWriter applies it; a roster::Client reads everything back.
//
// Input: one options byte, then the FlatBuffers payload.
//   bit 0: 0 = Delta, applied on top of a small base registry (as a live stream does);
//          1 = Snapshot, applied to a fresh arena after set_store (as a full state is)
//   bit 1: a tiny arena (4 services' worth of index) instead of 16, so index limits are reached
//   bit 2: a federated arena of two registries, each holding the base registry; the batch goes to
//          the registry of bit 3, a Snapshot replacing that registry's state in place (as a
//          federated agent applies one)
// Checked: no crash or sanitizer error; a batch the writer refuses leaves the arena exactly as it
// was for readers (same generation, same answers to every lookup) and, when refused as Invalid,
// for the writer too (same records; after TooLarge it refuses every later batch); an arena the
// writer built is never `corrupt()` to a reader, and all its records verify.
#include <cstring>

#include "frame_batch.hpp"
#include "arena_files.hpp"
#include "fuzz_support.hpp"
#include "walk_view.hpp"
#include "roster/client.hpp"
#include "roster/shm/batch_resolver.hpp"
#include "roster/shm/writer.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/verify.hpp"

namespace {

using namespace roster;

// The base registry a Delta applies to (fuzz::kSmallRegistry).
const wire::DecodedDocument& base_document() {
  static const wire::DecodedDocument doc = [] {
    wire::JsonDecoder decoder;
    auto d = decoder.decode(fuzz::kSmallRegistry);
    FUZZ_CHECK(d.ok());
    return d;
  }();
  return doc;
}

shm::Batch base_batch() {
  const auto& doc = base_document();
  shm::Batch b;
  b.revision = 1;
  for (size_t i = 0; i < doc.services.size(); ++i) b.upsert_versions.push_back(doc.services[i]);
  for (size_t i = 0; i < doc.instances.size(); ++i) b.upsert_instances.push_back(doc.instances[i]);
  for (size_t i = 0; i < doc.contracts.size(); ++i) b.upsert_contracts.push_back(doc.contracts[i]);
  return b;
}

// Every record the writer holds, in its order, as bytes: equal before and after a refused batch.
std::vector<std::pair<int, std::vector<uint8_t>>> writer_records(const shm::ArenaWriter& writer) {
  std::vector<std::pair<int, std::vector<uint8_t>>> out;
  writer.visit_records([&](shm::ArenaWriter::RecordType type, std::span<const uint8_t> bytes) {
    out.emplace_back(static_cast<int>(type), std::vector<uint8_t>(bytes.begin(), bytes.end()));
  });
  return out;
}

fuzz::Keys keys_of(const shm::Batch& batch) {
  fuzz::Keys keys;
  for (auto bytes : base_batch().upsert_versions) keys.add_record(*flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data()));
  for (auto bytes : batch.upsert_versions) keys.add_record(*flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data()));
  for (auto bytes : batch.upsert_instances) {
    auto* i = flatbuffers::GetRoot<wire::Instance>(bytes.data());
    keys.names.insert(i->service()->str());
    keys.versions.insert(i->version()->str());
  }
  for (auto bytes : batch.upsert_contracts) {
    auto* c = flatbuffers::GetRoot<wire::Contract>(bytes.data());
    keys.names.insert(c->consumer()->str());
    keys.names.insert(c->provider()->str());
  }
  for (auto& k : batch.remove_versions) keys.names.insert(k.service), keys.versions.insert(k.version);
  for (auto& k : batch.remove_instances) keys.names.insert(k.service), keys.versions.insert(k.version);
  for (auto& k : batch.remove_contracts) keys.names.insert(k.consumer), keys.names.insert(k.provider);
  // Bound the walk: it is quadratic in names x versions.
  while (keys.names.size() > 24) keys.names.erase(std::prev(keys.names.end()));
  while (keys.versions.size() > 24) keys.versions.erase(std::prev(keys.versions.end()));
  return keys;
}

// What a reader sees of the arena now; "" when there is none under the name yet.
std::string reader_sees(const std::string& name, const fuzz::Keys& keys) {
  auto client = Client::open(name);
  if (!client) {
    FUZZ_CHECK(client.error().code == "no_arena");
    return "";
  }
  View view = client->view();
  std::string seen = fuzz::walk(view, keys, /*hostile=*/false);
  FUZZ_CHECK(!view.corrupt());
  return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::clean_arenas_at_exit();
  if (size < 2) return 0;
  const uint8_t options = data[0];
  const bool snapshot = options & 1;
  const bool federated = options & 4;
  // An aligned copy, as the agent keeps one (FrameReader hands out 8-aligned payloads).
  std::vector<uint64_t> words((size - 1 + 7) / 8);
  std::memcpy(words.data(), data + 1, size - 1);
  const std::span<const uint8_t> payload(reinterpret_cast<const uint8_t*>(words.data()), size - 1);

  shm::Batch batch;
  std::string_view store = "fuzz-store";
  if (snapshot) {
    if (!wire::verify<wire::Snapshot>(payload)) return 0;
    auto* snap = flatbuffers::GetRoot<wire::Snapshot>(payload.data());
    batch.revision = snap->revision();
    agent::add_snapshot(*snap, batch);
    store = snap->store_id() ? snap->store_id()->string_view() : std::string_view();
  } else {
    if (!wire::verify<wire::Delta>(payload)) return 0;
    batch = agent::batch_of(*flatbuffers::GetRoot<wire::Delta>(payload.data()));
  }

  shm::ArenaOptions arena;
  arena.name = fuzz::process_unique("arena");
  arena.segment_bytes = size_t{2} << 20;
  arena.max_services = (options & 2) ? 4 : 16;
  arena.reader_slots = 4;
  if (federated) arena.registries = {"a", "b"};
  auto created = shm::ArenaWriter::create(arena);
  FUZZ_CHECK(created.has_value());
  auto& writer = **created;
  if (!writer.set_store(store, federated ? (options >> 3) & 1 : 0)) {
    writer.remove_segments();
    return 0;  // the agent refuses the state likewise (load_full fails)
  }
  if (!snapshot || federated) {
    for (uint32_t registry = 0; registry < (federated ? 2 : 1); ++registry) {
      shm::Batch b = base_batch();
      b.registry = registry;
      auto base = shm::BatchResolver().apply(writer, std::move(b));  // with the server's resolutions
      if (!base) std::fprintf(stderr, "the base registry does not apply: %s\n", base.error().message.c_str());
      FUZZ_CHECK(base.has_value());
    }
  }
  if (federated) {
    batch.registry = (options >> 3) & 1;
    batch.replaces_registry = snapshot;
  }
  // A snapshot into a fresh arena (not one replacing a federated registry's part of a live one).
  const bool fresh_load = snapshot && !federated;

  const fuzz::Keys keys = keys_of(batch);
  const uint64_t generation_before = writer.generation();
  const auto records_before = writer_records(writer);
  const std::string seen_before = reader_sees(arena.name, keys);

  auto applied = writer.apply(batch);
  if (!applied) {
    const auto& e = applied.error();
    FUZZ_CHECK(e.kind == ErrorKind::Invalid || e.kind == ErrorKind::TooLarge);
    FUZZ_CHECK(writer.generation() == generation_before);
    if (e.kind == ErrorKind::Invalid) {
      // Refused before anything changed: the writer goes on from exactly where it was.
      FUZZ_CHECK(writer_records(writer) == records_before);
    } else if (fresh_load) {
      // Out of space in a fresh arena's first batch: the arena is emptied (no reader can have
      // opened it yet) and the writer stays usable (checked below, after what readers see).
      FUZZ_CHECK(writer_records(writer).empty());
    } else {
      // Out of space mid-batch: shm is rolled back, but the writer's private mirror is not, so it
      // refuses everything from now on (the agent starts a fresh arena).
      FUZZ_CHECK(!writer.apply(shm::Batch{}).has_value());
    }
    const std::string seen_after = reader_sees(arena.name, keys);
    if (seen_after != seen_before)
      std::fprintf(stderr, "refused batch (%s) changed what readers see:\n--- before\n%s--- after\n%s", e.message.c_str(),
                   seen_before.c_str(), seen_after.c_str());
    FUZZ_CHECK(seen_after == seen_before);
    if (fresh_load && e.kind == ErrorKind::TooLarge) FUZZ_CHECK(writer.apply(shm::Batch{}).has_value());
  } else {
    FUZZ_CHECK(*applied == generation_before + 1);
    FUZZ_CHECK(!reader_sees(arena.name, keys).empty());
  }
  writer.remove_segments();
  return 0;
}
