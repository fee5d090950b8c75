// Fuzz harness: the registry JSON decoder (wire::JsonDecoder), what every registry body the HTTP
// API takes goes through (POST /v1/registry, PUT .../versions/..., PUT .../instances/...).
//
// The input is one JSON document, decoded as a registry or service version document and as an
// instance document. Checked beyond "no crash, no sanitizer error":
//   - all or nothing: ok() means no errors; an error means no records at all;
//   - every record of an ok document passes FlatBuffers verification (it goes to the arena);
//   - an ok document survives JSON -> records -> JSON -> records byte for byte, its services'
//     settings included (as tests/wire/json_roundtrip_test.cpp promises for the example registry).
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/verify.hpp"

namespace {

using namespace roster;
using namespace roster::wire;

void check_all_or_nothing(const DecodedDocument& doc) {
  if (doc.ok()) {
    FUZZ_CHECK(doc.errors.empty());
  } else {
    FUZZ_CHECK(doc.services.empty() && doc.instances.empty() && doc.contracts.empty() && doc.settings.empty());
    for (const auto& e : doc.errors) FUZZ_CHECK(!e.code.empty());
  }
}

template <typename T>
std::vector<const T*> verified(const RecordList& list) {
  std::vector<const T*> out;
  for (size_t i = 0; i < list.size(); ++i) {
    FUZZ_CHECK(verify<T>(list[i]).has_value());
    out.push_back(flatbuffers::GetRoot<T>(list[i].data()));
  }
  return out;
}

bool same(const RecordList& a, const RecordList& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!std::equal(a[i].begin(), a[i].end(), b[i].begin(), b[i].end())) return false;
  return true;
}

// A service's settings as a policy record (a mode left out is written as the default's, BACKWARD).
std::vector<uint8_t> policy_of(const DecodedSettings& s) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(CreateServicePolicy(fbb, fbb.CreateString(s.service), s.compatibility.value_or(CompatibilityMode::Backward),
                                 s.sunset_after_days.value_or(0), s.retire_after_days.value_or(0)));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

// The settings, by service, as the encoder writes them back.
std::map<std::string, std::vector<uint8_t>> policies_of(const std::vector<DecodedSettings>& settings) {
  std::map<std::string, std::vector<uint8_t>> out;
  for (const auto& s : settings) out[s.service] = policy_of(s);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // One decoder for every input, as the server keeps one: it reuses its buffers between calls.
  static JsonDecoder decoder(CodecLimits{.max_document_bytes = size_t{1} << 20,
                                         .max_embedded_document_bytes = size_t{256} << 10,
                                         .max_depth = 256});
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  DecodedDocument doc = decoder.decode(json);
  check_all_or_nothing(doc);
  if (doc.ok()) {
    const auto policies = policies_of(doc.settings);
    FUZZ_CHECK(policies.size() == doc.settings.size());  // a service's settings appear once
    RegistryRecords records{verified<ServiceVersion>(doc.services), verified<Instance>(doc.instances),
                            verified<Contract>(doc.contracts), {}};
    for (const auto& [name, bytes] : policies) records.policies.push_back(flatbuffers::GetRoot<ServicePolicy>(bytes.data()));
    std::vector<const Instance*> orphans;
    const std::string again = to_registry_json(records, false, &orphans);
    FUZZ_CHECK(orphans.empty());
    DecodedDocument second = decoder.decode(again);
    if (!second.ok()) std::fprintf(stderr, "re-decoding failed: %s\n%s\n", second.errors[0].to_string().c_str(), again.c_str());
    FUZZ_CHECK(second.ok());
    FUZZ_CHECK(same(doc.services, second.services));
    FUZZ_CHECK(same(doc.instances, second.instances));
    FUZZ_CHECK(same(doc.contracts, second.contracts));
    FUZZ_CHECK(policies_of(second.settings) == policies);
  }

  DecodedDocument instance = decoder.decode_instance(json, "svc", "1.0.0");
  check_all_or_nothing(instance);
  if (instance.ok()) {
    FUZZ_CHECK(instance.services.empty() && instance.contracts.empty());
    FUZZ_CHECK(instance.instances.size() == 1);
    for (auto* i : verified<Instance>(instance.instances)) {
      FUZZ_CHECK(i->service()->string_view() == "svc");
      FUZZ_CHECK(i->version()->string_view() == "1.0.0");
    }
  }
  return 0;
}
