// OpenAPI diff of two generated ~5 MB documents: many paths and operations, components
// reached through $refs (shared, self- and mutually recursive), nested inline objects. The
// second document carries a few scattered changes (breaking and harmless). Target: the diff
// alone within 100 ms.
//
//   build/bench/schema_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include <benchmark/benchmark.h>

#include "bench_scale.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/governance/openapi_diff.hpp"

namespace {

using roster::governance::diff_openapi;
using roster::governance::OpenApiDiff;
using roster::governance::parse_json;

const size_t kTargetBytes = roster::bench::scaled(5'000'000, 50'000);
constexpr int kPeople = 50;  // shared Person/Team pairs (mutually recursive)

// Builds one document; `changed` selects the second version. Both versions draw the same random
// numbers in the same order, so they differ only where `changed` is tested.
class Generator {
 public:
  Generator(int resources, bool changed) : resources_(resources), changed_(changed) {}

  std::string run() {
    out_.reserve(kTargetBytes + kTargetBytes / 4);
    out_ += R"({"openapi":"3.0.3","info":{"title":"generated","version":")";
    out_ += changed_ ? "2.0.0" : "1.0.0";
    out_ += R"("},"security":[{"oauth":["read"]}],"paths":{)";
    for (int r = 0; r < resources_; ++r) paths(r);
    out_ += R"(},"components":{"securitySchemes":{"oauth":{"type":"oauth2","flows":{"clientCredentials":{)"
            R"("tokenUrl":"https://auth.example/token","scopes":{"read":"read","write":"write"}}}}},)";
    out_ += R"("parameters":{"Limit":{"name":"limit","in":"query","schema":{"type":"integer","minimum":1}},)"
            R"("Offset":{"name":"offset","in":"query","schema":{"type":"integer","minimum":0}},)"
            R"("Id":{"name":"id","in":"path","required":true,"schema":{"type":"string","format":"uuid"}}},)";
    out_ += R"("responses":{"Error":{"description":"error","content":{"application/problem+json":{"schema":)"
            R"({"$ref":"#/components/schemas/Error"}}}}},"requestBodies":{)";
    for (int r = 0; r < resources_; ++r) {
      if (r) out_ += ',';
      out_ += "\"Res" + std::to_string(r) + R"(":{"required":true,"content":{"application/json":{"schema":)" +
              ref("Res", r) + "}}}";
    }
    out_ += R"(},"schemas":{)";
    shared_schemas();
    for (int r = 0; r < resources_; ++r) resource_schemas(r);
    out_ += "}}}";
    return std::move(out_);
  }

 private:
  static std::string ref(std::string_view name, int n) {
    return R"({"$ref":"#/components/schemas/)" + std::string(name) + std::to_string(n) + "\"}";
  }

  // The template of the item path; one resource's placeholder is renamed (harmless).
  std::string item_path(int r) const {
    const bool renamed = changed_ && r == resources_ * 3 / 4;
    return "/v1/res" + std::to_string(r) + (renamed ? "/{resId}" : "/{id}");
  }

  void paths(int r) {
    const std::string n = std::to_string(r), res = ref("Res", r);
    const std::string error = R"({"$ref":"#/components/responses/Error"})";
    const std::string json_res = R"({"application/json":{"schema":)" + res + "}}";
    if (r) out_ += ',';
    out_ += "\"/v1/res" + n + R"(":{"get":{"operationId":"listRes)" + n + R"(","summary":")" +
            (changed_ && r % 10 == 0 ? "Lists every resource " : "List resources ") + n + R"(","tags":["res)" + n +
            R"("],"parameters":[{"$ref":"#/components/parameters/Limit"},)"
            R"({"$ref":"#/components/parameters/Offset"},{"name":"filter","in":"query","schema":{"type":"string"}})";
    if (changed_ && r == resources_ / 2)
      out_ += R"(,{"name":"tenant","in":"header","required":true,"schema":{"type":"string"}})";
    out_ += R"(],"responses":{"200":{"description":"a page","content":{"application/json":{"schema":)"
            R"({"type":"object","required":["items"],"properties":{"items":{"type":"array","items":)" +
            res + R"(},"next":{"type":"string","nullable":true}}}}}},"default":)" + error + "}},";
    out_ += R"("post":{"operationId":"createRes)" + n + R"(","requestBody":{"$ref":"#/components/requestBodies/Res)" +
            n + R"("},"responses":{"201":{"description":"created","content":)" + json_res + R"(},"400":)" + error +
            "}}},";
    out_ += "\"" + item_path(r) + R"(":{"parameters":[{"$ref":"#/components/parameters/Id"}],)";
    out_ += R"("get":{"operationId":"getRes)" + n + R"(","responses":{"200":{"description":"one","content":)" +
            json_res + R"(},"404":)" + error + "}},";
    for (std::string_view method : {"put", "patch"})
      out_ += "\"" + std::string(method) + R"(":{"requestBody":{"required":true,"content":)" + json_res +
              R"(},"responses":{"200":{"description":"updated","content":)" + json_res + R"(},"404":)" + error + "}},";
    if (!(changed_ && r == resources_ / 7))
      out_ += R"("delete":{"security":[{"oauth":["write"]}],"responses":{"204":{"description":"gone"}}},)";
    out_ += R"("head":{"responses":{"200":{"description":"exists"}}}})";
  }

  // A nested inline object, `depth` levels deep.
  void nested(int depth) {
    out_ += R"({"type":"object","properties":{)";
    const int fields = 2 + static_cast<int>(rng_() % 4);
    for (int f = 0; f < fields; ++f) {
      out_ += "\"n" + std::to_string(depth) + "_" + std::to_string(f) + "\":";
      out_ += f % 2 ? R"({"type":"integer","format":"int64"})" : R"({"type":"string","maxLength":64})";
      out_ += ',';
    }
    out_ += R"("deeper":)";
    if (depth > 1)
      nested(depth - 1);
    else
      out_ += R"({"type":"boolean"})";
    out_ += "}}";
  }

  void shared_schemas() {
    out_ += R"("Error":{"type":"object","required":["code"],"properties":{"code":{"type":"string"},)"
            R"("message":{"type":"string"}}},)";
    out_ += R"("Address":{"type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"},)"
            R"("zip":{"type":"string"},"country":{"type":"string","enum":["DE","FR","NL","PL","SE","US","CA","JP",)"
            R"("BR","IN"]}}},)";
    out_ += R"("Node":{"type":"object","properties":{"label":{"type":"string"},"children":{"type":"array",)"
            R"("items":{"$ref":"#/components/schemas/Node"}}}})";
    for (int p = 0; p < kPeople; ++p) {
      const bool drop_email = changed_ && p == 3;
      out_ += ",\"Person" + std::to_string(p) +
              R"(":{"type":"object","required":["name"],"properties":{)"
              R"("name":{"type":"string"},)" +
              (drop_email ? "" : R"("email":{"type":"string","format":"email"},)") + R"("team":)" + ref("Team", p) +
              "}},";
      out_ += "\"Team" + std::to_string(p) +
              R"(":{"type":"object","properties":{"name":{"type":"string"},)"
              R"("lead":)" +
              ref("Person", p) + R"(,"members":{"type":"array","items":)" + ref("Person", p) + "}}}";
    }
  }

  void resource_schemas(int r) {
    const std::string n = std::to_string(r);
    const bool count_changed = changed_ && r == resources_ / 5;
    const bool status_widened = changed_ && r == resources_ / 3;
    const bool unit_removed = changed_ && r == resources_ * 2 / 3;
    const bool note_added = changed_ && r == resources_ * 4 / 5;
    out_ += ",\"Res" + n + R"(":{"type":"object","description":")" +
            (changed_ && r % 10 == 0 ? "A generated resource, number " : "Resource ") + n +
            R"(","required":["id","name","status"],"properties":{)";
    out_ += R"("id":{"type":"string","format":"uuid","readOnly":true},"name":{"type":"string","maxLength":200},)";
    out_ += std::string(R"("status":{"type":"string","enum":["active","inactive","pending")") +
            (status_widened ? R"(,"archived")" : "") + "]},";
    out_ += R"("created":{"type":"string","format":"date-time"},"count":{"type":")" +
            std::string(count_changed ? "string" : "integer") + R"(","format":"int32"},"price":{"type":"number"},)";
    out_ += R"("tags":{"type":"array","items":{"type":"string"}},"owner":)" + ref("Person", r % kPeople) +
            R"(,"address":{"$ref":"#/components/schemas/Address"},"items":{"type":"array","items":)" + ref("Item", r) +
            R"(},"parent":)" + ref("Res", r) + R"(,"tree":{"$ref":"#/components/schemas/Node"},)";
    if (note_added) out_ += R"("note":{"type":"string"},)";
    const int extra = static_cast<int>(rng_() % 8);
    for (int f = 0; f < extra; ++f)
      out_ += "\"field" + std::to_string(f) + R"(":{"type":")" + (f % 3 ? "string" : "number") + "\"},";
    out_ += R"("meta":)";
    nested(2 + static_cast<int>(rng_() % 3));
    out_ += "}}";
    out_ += ",\"Item" + n +
            R"(":{"type":"object","required":["sku"],"properties":{"sku":{"type":"string"},)"
            R"("qty":{"type":"integer","minimum":1},)" +
            (unit_removed ? "" : R"("unit":{"type":"number"},)") +
            R"("options":{"type":"object","additionalProperties":{"type":"string"}}}})";
  }

  int resources_;
  bool changed_;
  std::mt19937 rng_{20240601};  // raw draws only: distributions differ between standard libraries
  std::string out_;
};

struct Corpus {
  std::string old_text, new_text;
  rapidjson::Document old_doc, new_doc, old_again;  // old_again: the old text parsed twice
  OpenApiDiff expected;
  std::string error;
};

// Built once per process (and never freed): generating and checking takes seconds.
const Corpus& corpus() {
  static const Corpus* c = [] {
    auto* c = new Corpus;
    // Scale the resource count until the first document holds at least kTargetBytes.
    int resources = 100;
    for (size_t size = Generator(resources, false).run().size(); size < kTargetBytes;
         size = Generator(resources, false).run().size())
      resources = static_cast<int>(static_cast<double>(resources) * kTargetBytes / size) + 1;
    c->old_text = Generator(resources, false).run();
    c->new_text = Generator(resources, true).run();
    auto old_doc = parse_json(c->old_text);
    auto new_doc = parse_json(c->new_text);
    if (!old_doc || !new_doc) {
      c->error = "generated JSON does not parse: " + (old_doc ? new_doc : old_doc).error().message;
      return c;
    }
    c->old_doc = std::move(*old_doc);
    c->new_doc = std::move(*new_doc);
    c->old_again = *parse_json(c->old_text);  // the text old_doc parsed from
    c->expected = diff_openapi(c->old_doc, c->new_doc);
    // Every planted change must be found, or the timing means nothing.
    for (std::string_view id : {"operation-removed", "response-property-type-changed", "request-property-type-changed",
                                "response-enum-widened", "parameter-added-required", "response-property-removed",
                                "request-property-added", "response-property-added"}) {
      bool found = false;
      for (const auto& f : c->expected.findings) found |= f.id == id;
      if (!found) c->error += "planted change not found: " + std::string(id) + "; ";
    }
    for (const auto& f : c->expected.findings)
      if (f.id == "path-removed" || f.id == "path-added") c->error += "template rename reported as " + f.id + "; ";
    return c;
  }();
  return *c;
}

void count(benchmark::State& state, const Corpus& c, const OpenApiDiff& result) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(c.old_text.size() + c.new_text.size()));
  state.counters["old_MB"] = static_cast<double>(c.old_text.size()) / 1e6;
  state.counters["new_MB"] = static_cast<double>(c.new_text.size()) / 1e6;
  state.counters["findings"] = static_cast<double>(result.findings.size());
}

void BM_ParseAndDiff(benchmark::State& state) {
  const Corpus& c = corpus();
  if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
  OpenApiDiff result;
  for (auto _ : state) {
    const auto old_doc = parse_json(c.old_text);
    const auto new_doc = parse_json(c.new_text);
    result = diff_openapi(*old_doc, *new_doc);
    benchmark::DoNotOptimize(result.findings.data());
  }
  if (result.findings != c.expected.findings) state.SkipWithError("parse + diff disagrees with the reference diff");
  count(state, c, result);
}
BENCHMARK(BM_ParseAndDiff)->Unit(benchmark::kMillisecond);

void BM_Diff(benchmark::State& state) {
  const Corpus& c = corpus();
  if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
  OpenApiDiff result;
  for (auto _ : state) {
    result = diff_openapi(c.old_doc, c.new_doc);
    benchmark::DoNotOptimize(result.findings.data());
  }
  count(state, c, result);
}
BENCHMARK(BM_Diff)->Unit(benchmark::kMillisecond);

// The unchanged case (two parses of one text): the floor of a diff.
void BM_DiffUnchanged(benchmark::State& state) {
  const Corpus& c = corpus();
  if (!c.error.empty()) return state.SkipWithError(c.error.c_str());
  OpenApiDiff result;
  for (auto _ : state) {
    result = diff_openapi(c.old_doc, c.old_again);
    benchmark::DoNotOptimize(result.findings.data());
  }
  if (!result.findings.empty()) state.SkipWithError("a document differs from itself");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(2 * c.old_text.size()));
}
BENCHMARK(BM_DiffUnchanged)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
