// set_revision: in place on what the decoder writes, by re-encoding on a record without the field.
#include "roster/wire/record_revision.hpp"

#include <gtest/gtest.h>

#include "roster/wire/json_decoder.hpp"
#include "roster/wire/verify.hpp"

namespace roster::wire {
namespace {

std::vector<uint8_t> bytes_of(std::span<const uint8_t> record) { return {record.begin(), record.end()}; }

TEST(SetRevision, OverwritesTheDecodersPlaceholderInPlace) {
  auto doc = JsonDecoder().decode(R"({"name": "svc", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t", "revision": 7,
                                      "instances": [{"id": "i1", "address": "10.0.0.1", "port": 80}]})");
  ASSERT_TRUE(doc.ok()) << doc.errors[0].to_string();
  auto version = bytes_of(doc.services[0]), instance = bytes_of(doc.instances[0]);
  EXPECT_EQ(flatbuffers::GetRoot<ServiceVersion>(version.data())->revision(), 0u);  // the client's 7 is not kept
  const size_t version_size = version.size(), instance_size = instance.size();
  set_revision<ServiceVersion>(version, 41);
  set_revision<Instance>(instance, 42);
  EXPECT_EQ(version.size(), version_size);
  EXPECT_EQ(instance.size(), instance_size);
  ASSERT_TRUE(verify<ServiceVersion>(version));
  ASSERT_TRUE(verify<Instance>(instance));
  EXPECT_EQ(flatbuffers::GetRoot<ServiceVersion>(version.data())->revision(), 41u);
  EXPECT_EQ(flatbuffers::GetRoot<Instance>(instance.data())->revision(), 42u);
  EXPECT_EQ(flatbuffers::GetRoot<Instance>(instance.data())->address()->str(), "10.0.0.1");
}

TEST(SetRevision, ReencodesARecordWrittenWithoutTheField) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(CreateContractDirect(fbb, "web", "1.0.0", "api", "^1", "{}"));
  std::vector<uint8_t> contract(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  for (uint64_t revision : {5u, 6u}) {  // the second stamp lands in place on the rebuilt record
    set_revision<Contract>(contract, revision);
    ASSERT_TRUE(verify<Contract>(contract));
    auto* c = flatbuffers::GetRoot<Contract>(contract.data());
    EXPECT_EQ(c->revision(), revision);
    EXPECT_EQ(c->consumer()->str(), "web");
    EXPECT_EQ(c->provider_range()->str(), "^1");
    EXPECT_EQ(c->pact()->str(), "{}");
  }
}

}  // namespace
}  // namespace roster::wire
