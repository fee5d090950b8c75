// Lookup by name through the C ABI against the C++ client, same arena, same keys, same run; keys
// independent (throughput) and each depending on the previous result (latency).
// Target (issue 7): C ABI <= 1.1x the C++ client. Both obtain the same information: the C call
// fills the whole roster_service, so the C++ side reads every one of those fields too.
#include <benchmark/benchmark.h>

#include "bench_scale.hpp"
#include "registry_generator.hpp"
#include "roster/client.hpp"
#include "roster/roster.h"
#include "roster/shm/batch_resolver.hpp"
#include "roster/shm/writer.hpp"
#include "roster/wire/json_decoder.hpp"

namespace {

const size_t kServices = roster::bench::scaled(100000);

struct Arena {
  std::string name = "bench-c-abi-" + std::to_string(getpid());
  std::unique_ptr<roster::shm::ArenaWriter> writer;
  std::vector<std::string> keys;
  Arena() {
    roster::wire::CodecLimits limits;
    limits.max_document_bytes = size_t{1} << 30;
    roster::wire::JsonDecoder decoder(limits);
    auto doc = decoder.decode(roster::bench::generate_registry_json({.services = kServices, .instances_per_version = 1}));
    roster::shm::ArenaOptions options;
    options.name = name;
    options.segment_bytes = size_t{1} << 30;
    options.max_services = kServices;
    writer = roster::shm::ArenaWriter::create(options).value();
    roster::shm::Batch batch;
    for (size_t i = 0; i < doc.services.size(); ++i) batch.upsert_versions.push_back(doc.services[i]);
    roster::shm::BatchResolver().apply(*writer, batch).value();  // with the server's resolutions
    keys = roster::bench::shuffled_service_names(kServices, 7);
  }
  ~Arena() { writer->remove_segments(); }
};

Arena& arena() {
  static Arena a;
  return a;
}

// Everything roster_service_get fills, read through the C++ client.
size_t touch(const roster::ServiceVersion& v) {
  const auto& r = v.record();
  auto len = [](const flatbuffers::String* s) { return s ? s->size() : 0u; };
  size_t sum = v.name().size() + v.version().size() + v.owner_team().size() + v.description().size() +
               v.documentation_url().size() + len(r.deprecation_reason()) + static_cast<size_t>(v.stage()) +
               static_cast<size_t>(r.created_at_ms() + r.updated_at_ms() + r.deprecated_at_ms() + r.sunset_at_ms()) +
               r.revision() + (r.tags() ? r.tags()->size() : 0) + (r.labels() ? r.labels()->size() : 0) +
               (r.dependencies() ? r.dependencies()->size() : 0) + (r.endpoints() ? r.endpoints()->size() : 0);
  if (auto* schema = r.api_schema()) sum += static_cast<size_t>(schema->format()) + schema->document()->size() + schema->hash();
  return sum;
}

// Zero, known only at run time: with `dependent`, the next key's index depends on the fields the
// previous lookup read (as a proxy's next request waits for its last answer), without changing
// the sequence.
volatile size_t g_zero = 0;

// A compile-time choice: a run-time one would compile to a conditional move, which depends on
// `fields` either way.
template <bool Dependent>
size_t next_index(size_t i, size_t fields, size_t zero, size_t n) {
  if constexpr (Dependent) i += fields & zero;
  return i + 1 >= n ? 0 : i + 1;
}

template <bool dependent>
void BM_Cpp(benchmark::State& state) {
  auto& a = arena();
  const size_t zero = g_zero;
  roster::Client client = roster::Client::open(a.name).value();
  roster::View view = client.view();
  size_t i = 0, sum = 0;
  for (auto _ : state) {
    auto v = view.service(a.keys[i]);
    const size_t fields = touch(*v);
    sum += fields;
    i = next_index<dependent>(i, fields, zero, a.keys.size());
  }
  benchmark::DoNotOptimize(sum);
}

template <bool dependent>
void BM_CAbi(benchmark::State& state) {
  auto& a = arena();
  roster_client* client;
  if (roster_open(a.name.c_str(), &client) != ROSTER_OK) return state.SkipWithError(roster_last_error());
  roster_view view;
  roster_view_begin(client, &view);
  const size_t zero = g_zero;
  size_t i = 0, sum = 0;
  roster_service svc;
  for (auto _ : state) {
    const std::string& key = a.keys[i];
    roster_service_get(&view, key.data(), key.size(), &svc);
    const size_t fields = svc.name.len + svc.version.len + svc.owner_team.len + svc.description.len + svc.documentation_url.len +
           svc.deprecation_reason.len + static_cast<size_t>(svc.stage) +
           static_cast<size_t>(svc.created_at_ms + svc.updated_at_ms + svc.deprecated_at_ms + svc.sunset_at_ms) +
           svc.revision + svc.tag_count + svc.label_count + svc.dependency_count + svc.endpoint_count +
           static_cast<size_t>(svc.schema_format) + svc.schema_document.len + svc.schema_hash;
    sum += fields;
    i = next_index<dependent>(i, fields, zero, a.keys.size());
  }
  benchmark::DoNotOptimize(sum);
  roster_view_end(&view);
  roster_close(&client);
}

}  // namespace

BENCHMARK(BM_Cpp<false>)->Name("lookup_all_fields/cpp/" + std::to_string(kServices));
BENCHMARK(BM_CAbi<false>)->Name("lookup_all_fields/c_abi/" + std::to_string(kServices));
BENCHMARK(BM_Cpp<true>)->Name("lookup_all_fields_dependent/cpp/" + std::to_string(kServices));
BENCHMARK(BM_CAbi<true>)->Name("lookup_all_fields_dependent/c_abi/" + std::to_string(kServices));

BENCHMARK_MAIN();
