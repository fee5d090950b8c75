// JSON registry document -> FlatBuffers records, one core. Target (DESIGN.md): >= 300 MB/s.
// Peer in the same run: simdjson's DOM parser on the same bytes, which only parses (no
// validation, no encoding): the ceiling for any simdjson-based decoder.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <map>

#include "bench_scale.hpp"
#include "registry_generator.hpp"
#include "roster/wire/json_decoder.hpp"

namespace {

const std::string& registry_of(size_t services) {
  static std::map<size_t, std::string> cache;
  auto& doc = cache[services];
  if (doc.empty()) doc = roster::bench::generate_registry_json({.services = services});
  return doc;
}

roster::wire::CodecLimits unlimited() {
  roster::wire::CodecLimits limits;
  limits.max_document_bytes = size_t{4} << 30;
  return limits;
}

void BM_JsonToFlatBuffers(benchmark::State& state) {
  const std::string& json = registry_of(static_cast<size_t>(state.range(0)));
  roster::wire::JsonDecoder decoder(unlimited());
  size_t records = 0;
  for (auto _ : state) {
    auto doc = decoder.decode(json);
    if (!doc.ok()) state.SkipWithError(doc.errors[0].to_string().c_str());
    records = doc.services.size() + doc.instances.size();
    benchmark::DoNotOptimize(doc);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
  state.counters["records"] = static_cast<double>(records);
  state.counters["doc_MB"] = static_cast<double>(json.size()) / 1e6;
}

void BM_SimdjsonDomParse(benchmark::State& state) {
  const std::string& json = registry_of(static_cast<size_t>(state.range(0)));
  simdjson::padded_string padded(json);
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::dom::element root;
    if (parser.parse(padded).get(root)) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(root);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}

}  // namespace

BENCHMARK(BM_JsonToFlatBuffers)->Name("codec/json_to_flatbuffers")->Arg(roster::bench::scaled(1000, 10))->Arg(roster::bench::scaled(100000))->Unit(benchmark::kMillisecond)->UseRealTime()->MinWarmUpTime(roster::bench::min_seconds(0.5));
BENCHMARK(BM_SimdjsonDomParse)->Name("codec/simdjson_dom_parse")->Arg(roster::bench::scaled(1000, 10))->Arg(roster::bench::scaled(100000))->Unit(benchmark::kMillisecond)->UseRealTime()->MinWarmUpTime(roster::bench::min_seconds(0.5));

BENCHMARK_MAIN();
