// The shared-memory arena against DESIGN.md's performance budget, with in-process peers in the
// same run. See bench/README.md for the data sets, the figures and what they mean.
//
//   lookup/{roster,absl,std}/<n>   lookup by name, random keys (≤ 1.25× absl)
//   lookup/federated/<n>           the same names by plain name in an arena of three registries (≤ 1.1× roster)
//   view/open_close                Client::view() + ~View (≤ 10 ns)
//   instances/...                  iterate a service's healthy instances (≤ 2 ns per instance)
//   throughput/{idle,busy}_writer  reader lookups/s, writer idle vs 10k changes/s (busy ≥ 0.9× idle)
//   apply/one_instance_change/<n>  one batch with one instance upsert (≤ 5 µs)
//   apply/burst/<k>                k such batches applied in one burst (per_change: each one's share)
//   load/full/<n>                  a fresh arena loads n services + 10n instances (≤ 1 s at 100k)
//   load/memcpy_peer/<n>           the same records memcpy'd into a fresh shared mapping (the peer)
//
// Arenas are named bench-<pid>-<what> and removed at exit (also on SIGINT/SIGTERM/crash), so
// nothing is left in /dev/shm.
#include <absl/container/flat_hash_map.h>
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench_scale.hpp"
#include "registry_generator.hpp"
#include "roster/client.hpp"
#include "roster/wire/roster_generated.h"
#include "roster/shm/batch_resolver.hpp"
#include "roster/shm/writer.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/record_list.hpp"

namespace {

using namespace roster;
using Clock = std::chrono::steady_clock;

// --- cleanup: every arena this process creates is unlinked at exit, even on a signal ----------

constexpr int kMaxNames = 64;
char g_shm_names[kMaxNames][160];  // "/roster.<name>.data" etc., for shm_unlink in a handler
std::atomic<int> g_shm_count{0};

void remember_arena(const std::string& name) {
  for (const char* suffix : {".data", ".readers"}) {
    const int i = g_shm_count.fetch_add(1);
    if (i >= kMaxNames) std::abort();
    std::snprintf(g_shm_names[i], sizeof g_shm_names[i], "/roster.%s%s", name.c_str(), suffix);
  }
}

void unlink_all_arenas() {
  const int n = std::min(g_shm_count.load(), kMaxNames);
  for (int i = 0; i < n; ++i) shm_unlink(g_shm_names[i]);  // ENOENT for those already removed
}

extern "C" void on_fatal_signal(int sig) {
  unlink_all_arenas();  // shm_unlink is unlink(2) on /dev/shm: safe in a handler
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

std::string arena_name(const std::string& what) {
  std::string name = "bench-" + std::to_string(getpid()) + "-" + what;
  remember_arena(name);
  return name;
}

// --- data sets ------------------------------------------------------------------------------

wire::CodecLimits unlimited() {
  wire::CodecLimits limits;
  limits.max_document_bytes = size_t{4} << 30;
  return limits;
}

shm::Batch batch_of(const wire::DecodedDocument& doc) {
  shm::Batch b;
  b.revision = 1;
  for (size_t i = 0; i < doc.services.size(); ++i) b.upsert_versions.push_back(doc.services[i]);
  for (size_t i = 0; i < doc.instances.size(); ++i) b.upsert_instances.push_back(doc.instances[i]);
  for (size_t i = 0; i < doc.contracts.size(); ++i) b.upsert_contracts.push_back(doc.contracts[i]);
  return b;
}

size_t raw_record_bytes(const wire::DecodedDocument& doc) {
  return doc.services.total_bytes() + doc.instances.total_bytes() + doc.contracts.total_bytes();
}

// Room for the records, their nodes and index lists, with slack for list growth in one batch.
size_t segment_bytes_for(size_t raw_bytes, size_t services) {
  const size_t bytes = raw_bytes * 2 + services * 2048 + (size_t{64} << 20);
  return (bytes + (size_t{1} << 20) - 1) & ~((size_t{1} << 20) - 1);
}

wire::DecodedDocument decode(const bench::GeneratorOptions& o) {
  std::string json = bench::generate_registry_json(o);
  wire::JsonDecoder decoder(unlimited());
  wire::DecodedDocument doc = decoder.decode(json);
  if (!doc.ok()) throw std::runtime_error("generated registry does not decode: " + doc.errors[0].to_string());
  return doc;
}

// How many of the first `services` generated names a fresh View cannot find.
size_t missing_services(Client& client, size_t services) {
  const View view = client.view();
  size_t missing = 0;
  for (size_t i = 0; i < services; ++i) missing += !view.service(bench::service_name(i));
  return missing;
}

// A registry decoded once, loaded into an arena, with a reader Client on it.
struct Arena {
  bench::GeneratorOptions generated;
  wire::DecodedDocument doc;
  shm::ArenaOptions options;
  std::unique_ptr<shm::ArenaWriter> writer;
  std::optional<Client> client;

  Arena(const std::string& what, const bench::GeneratorOptions& o, size_t max_services)
      : generated(o), doc(decode(o)) {
    options.name = arena_name(what);
    options.max_services = max_services;
    options.segment_bytes = segment_bytes_for(raw_record_bytes(doc), o.services);
    writer = shm::ArenaWriter::create(options).value();
    // One batch, as an agent loads a snapshot, with the resolutions the server sends in it.
    shm::BatchResolver().apply(*writer, batch_of(doc)).value();
    client.emplace(Client::open(options.name).value());
    if (const size_t missing = missing_services(*client, o.services))
      throw std::runtime_error(std::to_string(missing) + " services of arena " + what + " cannot be found");
  }
  ~Arena() {
    client.reset();
    writer->remove_segments();
  }
};

std::map<std::string, std::unique_ptr<Arena>>& arenas() {
  static std::map<std::string, std::unique_ptr<Arena>> cache;
  return cache;
}

Arena& arena(const std::string& what, const bench::GeneratorOptions& o, size_t max_services) {
  auto& slot = arenas()[what];
  if (!slot) slot = std::make_unique<Arena>(what, o, max_services);
  return *slot;
}

// Lookup data sets: one version and one instance per service, no API schema (so that 1M
// services fit comfortably in memory), 3 dependencies per version.
Arena& lookup_arena(size_t services) {
  return arena("lookup-" + std::to_string(services),
               {.services = services, .instances_per_version = 1, .dependencies_per_version = 3, .schemas = false},
               services);
}

// The same registry split over a federated arena of three registries (local, eu, us): service i
// is registered in registry i % 3, and every fifth service in the next registry too, so a plain
// name is served by the first of them (a copy of its node under the plain name) and some names
// exist twice. Each registry's batch carries its own server's resolutions.
struct FederatedArena {
  shm::ArenaOptions options;
  std::unique_ptr<shm::ArenaWriter> writer;
  std::optional<Client> client;

  explicit FederatedArena(size_t services) {
    const Arena& plain = lookup_arena(services);
    options.name = arena_name("federated-" + std::to_string(services));
    options.max_services = services;
    options.registries = {"local", "eu", "us"};
    options.segment_bytes = plain.options.segment_bytes * 2;
    writer = shm::ArenaWriter::create(options).value();
    std::vector<shm::Batch> batches(3);
    std::unordered_map<std::string_view, std::vector<uint32_t>> registries_of;  // service -> registries
    for (size_t i = 0; i < plain.doc.services.size(); ++i) {
      auto* rec = flatbuffers::GetRoot<wire::ServiceVersion>(plain.doc.services[i].data());
      const size_t n = bench::service_index(rec->name()->string_view());
      std::vector<uint32_t>& in = registries_of[rec->name()->string_view()];
      in = {static_cast<uint32_t>(n % 3)};
      if (n % 5 == 0) in.push_back(static_cast<uint32_t>((n + 1) % 3));
      for (uint32_t r : in) batches[r].upsert_versions.push_back(plain.doc.services[i]);
    }
    for (size_t i = 0; i < plain.doc.instances.size(); ++i) {
      auto* rec = flatbuffers::GetRoot<wire::Instance>(plain.doc.instances[i].data());
      for (uint32_t r : registries_of[rec->service()->string_view()]) batches[r].upsert_instances.push_back(plain.doc.instances[i]);
    }
    for (uint32_t r = 0; r < 3; ++r) {
      batches[r].registry = r;
      batches[r].revision = 1;
      shm::BatchResolver().apply(*writer, std::move(batches[r])).value();
    }
    client.emplace(Client::open(options.name).value());
    if (const size_t missing = missing_services(*client, services))
      throw std::runtime_error(std::to_string(missing) + " services of the federated arena cannot be found");
  }
  ~FederatedArena() {
    client.reset();
    writer->remove_segments();
  }
};

FederatedArena& federated_arena(size_t services) {
  static std::map<size_t, std::unique_ptr<FederatedArena>> cache;
  auto& slot = cache[services];
  if (!slot) slot = std::make_unique<FederatedArena>(services);
  return *slot;
}

// The full registry: 100k services, one version each with an OpenAPI schema, 10 instances per
// version (1M instances, ~10% of them down), 3 dependencies per version.
const size_t kFullServices = bench::scaled(100000);
const size_t kLookupSmall = bench::scaled(100000), kLookupLarge = bench::scaled(1000000);
Arena& full_arena() { return arena("full", {.services = kFullServices, .instances_per_version = 10}, kFullServices); }

// Shuffled names, laid out back to back in shuffled order: a caller has its key in cache (it
// just parsed it), so the loop reads keys sequentially and only the lookup itself misses.
struct Keys {
  std::string bytes;
  std::vector<std::string_view> names;
  const std::string_view& operator[](size_t i) const { return names[i]; }
  size_t size() const { return names.size(); }
};

const Keys& shuffled_keys(size_t services) {
  static std::map<size_t, std::unique_ptr<Keys>> cache;
  auto& keys = cache[services];
  if (!keys) {
    keys = std::make_unique<Keys>();
    const auto names = bench::shuffled_service_names(services, 7);
    size_t total = 0;
    for (auto& n : names) total += n.size();
    keys->bytes.reserve(total);
    for (auto& n : names) keys->bytes += n;
    size_t at = 0;
    for (auto& n : names) {
      keys->names.emplace_back(keys->bytes.data() + at, n.size());
      at += n.size();
    }
  }
  return *keys;
}

// The in-process peers hold the very same record bytes (the decoder's in-process copy), so
// every side returns a reference to a record and reads the same field through it.
struct Record {
  const wire::ServiceVersion* record;
};

template <typename Map>
const Map& peer_map(size_t services) {
  static std::map<size_t, std::unique_ptr<Map>> cache;
  auto& map = cache[services];
  if (!map) {
    map = std::make_unique<Map>();
    const Arena& a = lookup_arena(services);
    map->reserve(a.doc.services.size());
    for (size_t i = 0; i < a.doc.services.size(); ++i) {
      auto* rec = flatbuffers::GetRoot<wire::ServiceVersion>(a.doc.services[i].data());
      (*map)[rec->name()->str()] = Record{rec};
    }
  }
  return *map;
}

// Both look up by string_view without building a std::string (absl's string hash is
// transparent; the std map is given a transparent hash, as a careful caller would).
struct StringHash : std::hash<std::string_view> {
  using is_transparent = void;
};
using AbslMap = absl::flat_hash_map<std::string, Record>;
using StdMap = std::unordered_map<std::string, Record, StringHash, std::equal_to<>>;

// Debian's absl has its own string_view type (not std's): hand each map its own.
template <typename Map>
auto key_of(std::string_view key) {
  if constexpr (std::is_same_v<Map, AbslMap>)
    return absl::string_view(key.data(), key.size());
  else
    return key;
}

void check_found(benchmark::State& state, size_t found) {
  if (found != static_cast<size_t>(state.iterations())) state.SkipWithError("a lookup of a registered name failed");
}

// --- lookup by name -------------------------------------------------------------------------

// Both sides go through a non-inlined function of the same shape, so a ratio cannot move because
// the compiler chose to inline one of them (absl's find was once measured 2.6x slower for that
// reason). Each returns the record's owner_team size, or ~0 when the name is not found.
[[gnu::noinline]] size_t roster_field(const View& view, std::string_view key) {
  auto svc = view.service(key);
  return svc ? svc->owner_team().size() : ~size_t{0};
}
template <typename Map>
[[gnu::noinline]] size_t peer_field(const Map& map, std::string_view key) {
  auto it = map.find(key_of<Map>(key));
  return it != map.end() ? it->second.record->owner_team()->size() : ~size_t{0};
}

// Throughput: consecutive keys are independent, so the CPU overlaps their misses.
template <typename Lookup>
void independent_lookups(benchmark::State& state, size_t n, Lookup lookup) {
  const auto& keys = shuffled_keys(n);
  size_t i = 0, found = 0, bytes = 0;
  for (auto _ : state) {
    const size_t field = lookup(keys[i]);
    found += field != ~size_t{0};
    bytes += field;
    benchmark::DoNotOptimize(bytes);
    if (++i == n) i = 0;
  }
  check_found(state, found);
  state.SetItemsProcessed(state.iterations());
}

void BM_LookupRoster(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Client& client = *lookup_arena(n).client;
  const View view = client.view();  // one View for the whole run: pinning is measured apart
  independent_lookups(state, n, [&](std::string_view key) { return roster_field(view, key); });
}

// The same keys by plain name in the federated arena, and in the registry that has each.
void BM_LookupFederated(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Client& client = *federated_arena(n).client;
  const View view = client.view();
  independent_lookups(state, n, [&](std::string_view key) { return roster_field(view, key); });
}

[[gnu::noinline]] size_t roster_field_in(const InRegistry* registries, std::string_view key) {
  auto svc = registries[bench::service_index(key) % 3].service(key);
  return svc ? svc->owner_team().size() : ~size_t{0};
}
void BM_LookupFederatedInRegistry(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Client& client = *federated_arena(n).client;
  const View view = client.view();
  const InRegistry registries[3] = {view.in("local"), view.in("eu"), view.in("us")};
  independent_lookups(state, n, [&](std::string_view key) { return roster_field_in(registries, key); });
}

template <typename Map>
void BM_LookupPeer(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const Map& map = peer_map<Map>(n);
  independent_lookups(state, n, [&](std::string_view key) { return peer_field(map, key); });
}

// --- lookup by name, each key depending on the previous result -----------------------------

// Latency, what a proxy pays per request: the next lookup cannot start before the previous one's
// record was read (its field feeds the next key's index), so misses do not overlap.
// Zero, but only known at run time: `i + 1 + (field & zero)` makes the next index depend on the
// field without changing the sequence.
volatile size_t g_zero = 0;

template <typename Lookup>
void dependent_lookups(benchmark::State& state, size_t n, Lookup lookup) {
  const auto& keys = shuffled_keys(n);
  const size_t zero = g_zero;
  size_t i = 0, found = 0;
  for (auto _ : state) {
    const size_t field = lookup(keys[i]);
    found += field != ~size_t{0};
    i = i + 1 + (field & zero);
    if (i >= n) i = 0;
  }
  check_found(state, found);
  state.SetItemsProcessed(state.iterations());
}

void BM_LookupDependentRoster(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Client& client = *lookup_arena(n).client;
  const View view = client.view();
  dependent_lookups(state, n, [&](std::string_view key) { return roster_field(view, key); });
}

void BM_LookupDependentFederated(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Client& client = *federated_arena(n).client;
  const View view = client.view();
  dependent_lookups(state, n, [&](std::string_view key) { return roster_field(view, key); });
}

template <typename Map>
void BM_LookupDependentPeer(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const Map& map = peer_map<Map>(n);
  dependent_lookups(state, n, [&](std::string_view key) { return peer_field(map, key); });
}

// --- View open + close ----------------------------------------------------------------------

void BM_ViewOpenClose(benchmark::State& state) {
  Client& client = *lookup_arena(kLookupSmall).client;
  { const View first = client.view(); }  // claims this thread's reader slot
  for (auto _ : state) {
    const View view = client.view();
    benchmark::DoNotOptimize(view.generation());
  }
}

// --- instances ------------------------------------------------------------------------------

// Iterates sets[0], sets[1], ... (one per iteration, round robin) summing port() + weight(), as
// a proxy choosing among healthy instances would; reports the time per instance yielded.
void iterate_healthy(benchmark::State& state, const std::vector<Instances>& sets) {
  size_t j = 0, instances = 0, sum = 0;
  for (auto _ : state) {
    for (auto inst : sets[j]) {
      sum += inst.port() + inst.weight();
      ++instances;
    }
    benchmark::DoNotOptimize(sum);
    if (++j == sets.size()) j = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(instances));
  state.counters["per_instance"] =
      benchmark::Counter(static_cast<double>(instances), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["instances_per_service"] = static_cast<double>(instances) / static_cast<double>(state.iterations());
}

// 1024 random services of the full registry, resolved in one View outside the timed loop: the
// loop measures iteration only (their entries, ~240 KB, stay in L2).
void BM_HealthyIterate(benchmark::State& state) {
  Arena& a = full_arena();
  const auto& keys = shuffled_keys(kFullServices);
  const View view = a.client->view();
  std::vector<Instances> sets;
  for (size_t i = 0; i < std::min<size_t>(1024, keys.size()); ++i) sets.push_back(view.instances(keys[i], Healthy));
  iterate_healthy(state, sets);
}

// One service over and over (its entries in L1, its loop branches learnt): the per-instance
// cost of the loop alone.
void BM_HealthyIterateHot(benchmark::State& state) {
  Arena& a = full_arena();
  const View view = a.client->view();
  iterate_healthy(state, {view.instances(shuffled_keys(kFullServices)[0], Healthy)});
}

// The same through the version-specific call, whose healthy filter is a prefix (no skip test).
void BM_HealthyIterateVersion(benchmark::State& state) {
  Arena& a = full_arena();
  const auto& keys = shuffled_keys(kFullServices);
  const View view = a.client->view();
  std::vector<Instances> sets;
  for (size_t i = 0; i < std::min<size_t>(1024, keys.size()); ++i) sets.push_back(view.instances(keys[i], "1.0.0", Healthy));
  iterate_healthy(state, sets);
}

// What a caller pays in practice: look the service up (random of 100k, cold) and iterate.
void BM_LookupAndHealthyIterate(benchmark::State& state) {
  Arena& a = full_arena();
  const auto& keys = shuffled_keys(kFullServices);
  const View view = a.client->view();
  size_t i = 0, instances = 0, sum = 0;
  for (auto _ : state) {
    for (auto inst : view.instances(keys[i], Healthy)) {
      sum += inst.port() + inst.weight();
      ++instances;
    }
    benchmark::DoNotOptimize(sum);
    if (++i == kFullServices) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(instances));
  state.counters["per_instance"] =
      benchmark::Counter(static_cast<double>(instances), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// --- instance changes (the writer's steady state) ---------------------------------------------

// Single-instance upserts of the full registry: a random service's instance with a new port,
// weight and health (10% down), as an agent receives them from upstream.
struct InstanceChanges {
  wire::RecordList records;  // 8-byte aligned copies of the FlatBuffers
  std::vector<shm::Batch> batches;

  // Changes to instances of services [0, services), each with `instances` instances.
  InstanceChanges(size_t count, size_t services, size_t instances) {
    std::mt19937_64 rng(99);
    flatbuffers::FlatBufferBuilder fbb(512);
    for (size_t k = 0; k < count; ++k) {
      const size_t s = rng() % services, i = rng() % instances, r = rng();
      const std::string service = bench::service_name(s), version = "1.0.0";
      const std::string id = service + "-" + version + "-" + std::to_string(i);
      const std::string address = "10." + std::to_string(s / 65536 % 256) + "." + std::to_string(s / 256 % 256) + "." +
                                  std::to_string(i + 1);
      std::vector<flatbuffers::Offset<wire::Label>> metadata{
          wire::CreateLabelDirect(fbb, "node", ("node-" + std::to_string(r % 5000)).c_str())};
      fbb.Finish(wire::CreateInstanceDirect(fbb, service.c_str(), version.c_str(), id.c_str(), address.c_str(),
                                            static_cast<uint16_t>(8000 + r % 1000), "eu-west-1a",
                                            static_cast<uint16_t>(50 + r % 100),
                                            r % 10 == 0 ? wire::Health::Down : wire::Health::Up));
      records.append({fbb.GetBufferPointer(), fbb.GetSize()});
      fbb.Clear();
    }
    for (size_t k = 0; k < count; ++k) {
      shm::Batch b;
      b.revision = 2 + k;
      b.upsert_instances.push_back(records[k]);
      batches.push_back(std::move(b));
    }
  }
};

const InstanceChanges& instance_changes() {
  static const InstanceChanges changes(1 << 14, kFullServices, 10);
  return changes;
}

void BM_ApplyOneInstanceChange(benchmark::State& state) {
  Arena& a = full_arena();
  const auto& changes = instance_changes();
  size_t k = 0;
  for (auto _ : state) {
    a.writer->apply(changes.batches[k]).value();
    k = (k + 1) & (changes.batches.size() - 1);
  }
  const shm::ArenaStats s = a.writer->stats();
  state.counters["retired_pending"] = static_cast<double>(s.retired_pending);
  state.SetItemsProcessed(state.iterations());
}

// A burst of changes that arrived together (one read of the stream brought `burst` Deltas), each
// its own generation, with the wake-up and the reclamation paid once (begin_burst/end_burst).
// Per change; compare with apply/one_instance_change (a burst of one).
void BM_ApplyBurst(benchmark::State& state) {
  Arena& a = full_arena();
  const auto& changes = instance_changes();
  const size_t burst = static_cast<size_t>(state.range(0));
  size_t k = 0;
  for (auto _ : state) {
    a.writer->begin_burst();
    for (size_t i = 0; i < burst; ++i) {
      a.writer->apply(changes.batches[k]).value();
      k = (k + 1) & (changes.batches.size() - 1);
    }
    a.writer->end_burst();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * burst));
  state.counters["per_change"] = benchmark::Counter(static_cast<double>(state.iterations() * burst),
                                                    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The same at one service size: 10 services, each one version with `instances` instances (no
// schema, no dependencies), a change to a random instance of a random one.
void BM_ApplyOneInstanceChangeByServiceSize(benchmark::State& state) {
  const size_t instances = static_cast<size_t>(state.range(0));
  const size_t services = 10;
  Arena& a = arena("service-size-" + std::to_string(instances),
                   {.services = services, .instances_per_version = instances, .dependencies_per_version = 0, .schemas = false},
                   services);
  const InstanceChanges changes(1 << 12, services, instances);
  size_t k = 0;
  for (auto _ : state) {
    a.writer->apply(changes.batches[k]).value();
    k = (k + 1) & (changes.batches.size() - 1);
  }
  state.counters["instances_per_service"] = static_cast<double>(instances);
  state.SetItemsProcessed(state.iterations());
}

// --- reader throughput, writer idle vs busy -------------------------------------------------

// Applies single-change batches at `per_second`, paced by the clock (catching up when behind,
// never by more than 10 ms of backlog), until told to stop.
struct PacedWriter {
  std::atomic<bool> stop{false};
  std::atomic<size_t> applied{0};
  std::thread thread;

  // `work(k)` is one change (or, for the diagnostic, what stands in for one).
  template <typename Work>
  PacedWriter(double per_second, Work work) {
    thread = std::thread([this, per_second, work] {
      prctl(PR_SET_TIMERSLACK, 1UL);  // default 50 µs slack would halve the rate
      const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_second));
      auto next = Clock::now();
      size_t k = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        work(k++);
        applied.fetch_add(1, std::memory_order_relaxed);
        next += period;
        const auto now = Clock::now();
        if (next > now)
          std::this_thread::sleep_until(next);
        else if (now - next > std::chrono::milliseconds(10))
          next = now;
      }
    });
  }
  ~PacedWriter() {
    stop = true;
    thread.join();
  }
};

// A View per lookup, as a request handler would open one; random keys of the full registry.
enum class Background { Idle, Writer, MembarrierOnly };

void Throughput(benchmark::State& state, Background background) {
  Arena& a = full_arena();
  const auto& changes = instance_changes();
  const auto& keys = shuffled_keys(kFullServices);
  Client& client = *a.client;
  { const View first = client.view(); }
  std::optional<PacedWriter> writer;
  if (background == Background::Writer)
    writer.emplace(10000.0, [&w = *a.writer, &changes](size_t k) {
      w.apply(changes.batches[k & (changes.batches.size() - 1)]).value();
    });
  // Diagnostic: only the writer's membarrier() (an IPI to every CPU running this process) at
  // the same rate, to tell its cost on the reader apart from the rest of apply().
  if (background == Background::MembarrierOnly)
    writer.emplace(10000.0, [](size_t) { syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0); });
  const auto start = Clock::now();
  size_t i = 0, found = 0, bytes = 0;
  for (auto _ : state) {
    const View view = client.view();
    auto svc = view.service(keys[i]);
    if (svc) {
      bytes += svc->owner_team().size();
      ++found;
    }
    benchmark::DoNotOptimize(bytes);
    if (++i == kFullServices) i = 0;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const size_t applied = writer ? writer->applied.load() : 0;
  writer.reset();
  check_found(state, found);
  state.SetItemsProcessed(state.iterations());
  state.counters["writer_changes_per_s"] = static_cast<double>(applied) / seconds;
}

void BM_ThroughputIdleWriter(benchmark::State& state) { Throughput(state, Background::Idle); }
void BM_ThroughputBusyWriter(benchmark::State& state) { Throughput(state, Background::Writer); }
void BM_ThroughputMembarrierOnly(benchmark::State& state) { Throughput(state, Background::MembarrierOnly); }

// --- full load into a fresh arena ------------------------------------------------------------

// The full registry's shape at `services` services (the full arena itself at its size).
Arena& load_source(size_t services) {
  if (services == kFullServices) return full_arena();
  return arena("full-" + std::to_string(services), {.services = services, .instances_per_version = 10}, services);
}

void BM_LoadFull(benchmark::State& state) {
  // Its decoded records; a fresh arena is made for each iteration.
  Arena& full = load_source(static_cast<size_t>(state.range(0)));
  shm::Batch batch = batch_of(full.doc);
  // What the server sends in the snapshot, computed as it does, once: the writer only uses it.
  const auto resolutions = shm::BatchResolver().resolve(batch);
  const size_t raw = raw_record_bytes(full.doc);
  shm::ArenaOptions options = full.options;
  int iteration = 0;
  double create_seconds = 0, used = 0, heap = 0, missing = 0;
  for (auto _ : state) {
    state.PauseTiming();
    options.name = arena_name("load-" + std::to_string(iteration++));
    const auto created = Clock::now();
    auto writer = shm::ArenaWriter::create(options).value();
    create_seconds += std::chrono::duration<double>(Clock::now() - created).count();
    state.ResumeTiming();
    try {
      writer->apply(batch).value();
    } catch (const Exception& e) {
      state.SkipWithError(e.what());
    }
    state.PauseTiming();
    const shm::ArenaStats s = writer->stats();
    used = static_cast<double>(s.heap_bytes - s.heap_free_bytes);
    heap = static_cast<double>(s.heap_bytes);
    {
      Client client = Client::open(options.name).value();
      missing = static_cast<double>(missing_services(client, full.generated.services));
    }
    writer->remove_segments();
    writer.reset();
    state.ResumeTiming();
  }
  state.counters["segment_used_bytes"] = used;
  state.counters["raw_record_bytes"] = static_cast<double>(raw);
  state.counters["segment_ratio"] = used / static_cast<double>(raw);
  state.counters["heap_bytes"] = heap;
  state.counters["segment_bytes"] = static_cast<double>(options.segment_bytes);
  state.counters["create_ms"] = create_seconds * 1000 / static_cast<double>(state.iterations());
  state.counters["records"] = static_cast<double>(batch.upsert_versions.size() + batch.upsert_instances.size());
  // Services a View cannot find after the load: must be 0.
  state.counters["missing_services"] = missing;
}

// The peer of load/full: the same records copied back to back (8-aligned) into a fresh shared
// mapping of the arena's size, made as the arena's is (its pages mapped in by the copy).
void BM_LoadMemcpyPeer(benchmark::State& state) {
  Arena& full = load_source(static_cast<size_t>(state.range(0)));
  shm::Batch batch = batch_of(full.doc);
  const auto resolutions = shm::BatchResolver().resolve(batch);  // the snapshot carries them too
  const size_t bytes = full.options.segment_bytes;
  int iteration = 0;
  size_t copied = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string name = "/roster." + arena_name("memcpy-" + std::to_string(iteration++)) + ".data";
    const int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    // Allocated up front, as Mapping::create does for the arena's segment.
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(bytes)) != 0 || posix_fallocate(fd, 0, static_cast<off_t>(bytes)) != 0)
      throw std::runtime_error("cannot create " + name);
    auto* base = static_cast<char*>(mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    close(fd);
    if (base == MAP_FAILED) throw std::runtime_error("cannot map " + name);
    state.ResumeTiming();
    size_t at = 0;
    for (const auto* records : {&batch.upsert_versions, &batch.upsert_instances, &batch.upsert_contracts,
                                &batch.resolutions})
      for (auto record : *records) {
        std::memcpy(base + at, record.data(), record.size());
        at += (record.size() + 7) & ~size_t{7};
      }
    benchmark::DoNotOptimize(base);
    benchmark::ClobberMemory();
    state.PauseTiming();
    copied = at;
    munmap(base, bytes);
    shm_unlink(name.c_str());
    state.ResumeTiming();
  }
  state.counters["copied_bytes"] = static_cast<double>(copied);
  state.counters["records"] = static_cast<double>(batch.upsert_versions.size() + batch.upsert_instances.size());
}

}  // namespace

BENCHMARK(BM_LookupRoster)->Name("lookup/roster")->Arg(kLookupSmall)->Arg(kLookupLarge);
BENCHMARK(BM_LookupPeer<AbslMap>)->Name("lookup/absl")->Arg(kLookupSmall)->Arg(kLookupLarge);
BENCHMARK(BM_LookupFederated)->Name("lookup/federated")->Arg(kLookupSmall)->Arg(kLookupLarge);
BENCHMARK(BM_LookupFederatedInRegistry)->Name("lookup/federated_in_registry")->Arg(kLookupSmall);
BENCHMARK(BM_LookupPeer<StdMap>)->Name("lookup/std")->Arg(kLookupSmall)->Arg(kLookupLarge);
BENCHMARK(BM_LookupDependentRoster)->Name("lookup_dependent/roster")->Arg(bench::scaled(10000, 100))->Arg(kLookupSmall)->Arg(kLookupLarge);
BENCHMARK(BM_LookupDependentFederated)->Name("lookup_dependent/federated")->Arg(kLookupSmall);
BENCHMARK(BM_LookupDependentPeer<AbslMap>)->Name("lookup_dependent/absl")->Arg(bench::scaled(10000, 100))->Arg(kLookupSmall)->Arg(kLookupLarge);
BENCHMARK(BM_ViewOpenClose)->Name("view/open_close");
BENCHMARK(BM_HealthyIterate)->Name("instances/healthy_iterate");
BENCHMARK(BM_HealthyIterateHot)->Name("instances/healthy_iterate_hot");
BENCHMARK(BM_HealthyIterateVersion)->Name("instances/healthy_iterate_version");
BENCHMARK(BM_LookupAndHealthyIterate)->Name("instances/lookup_and_healthy_iterate");
BENCHMARK(BM_ThroughputIdleWriter)->Name("throughput/idle_writer")->UseRealTime()->MinTime(bench::min_seconds(3));
BENCHMARK(BM_ThroughputBusyWriter)->Name("throughput/busy_writer")->UseRealTime()->MinTime(bench::min_seconds(3));
BENCHMARK(BM_ThroughputMembarrierOnly)->Name("throughput/membarrier_only")->UseRealTime()->MinTime(bench::min_seconds(3));
BENCHMARK(BM_ApplyOneInstanceChange)->Name("apply/one_instance_change")->Arg(kFullServices)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ApplyBurst)->Name("apply/burst")->Arg(16)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ApplyOneInstanceChangeByServiceSize)
    ->Name("apply/one_instance_change_by_service_size")
    ->Arg(10)
    ->Arg(bench::scaled(1000, 20))
    ->Arg(bench::scaled(10000, 40))
    ->Unit(benchmark::kMicrosecond);
// Three sizes show how the load grows with the data; each against its memcpy peer.
void load_sizes(benchmark::internal::Benchmark* b) {
  for (size_t services : {bench::scaled(10000, 20), bench::scaled(30000, 50), kFullServices})
    b->Arg(static_cast<int64_t>(services));
}
BENCHMARK(BM_LoadFull)->Name("load/full")->Apply(load_sizes)->Iterations(bench::repeats(3))->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadMemcpyPeer)->Name("load/memcpy_peer")->Apply(load_sizes)->Iterations(bench::repeats(3))->UseRealTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  for (int sig : {SIGINT, SIGTERM, SIGABRT, SIGSEGV, SIGBUS}) std::signal(sig, on_fatal_signal);
  std::atexit(unlink_all_arenas);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  arenas().clear();  // removes each arena's segments
  unlink_all_arenas();
  return 0;
}
