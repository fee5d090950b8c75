// Corrupt FlatBuffers are rejected by the verifier; whatever it accepts is safe to read.
#include "roster/wire/verify.hpp"

#include <gtest/gtest.h>

#include <random>

#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/snapshot.hpp"

namespace roster::wire {
namespace {

std::vector<uint64_t> sample_snapshot(size_t& size) {
  JsonDecoder decoder;
  auto doc = decoder.decode(R"({"services": [{"name": "svc", "versions": [{"version": "1.0.0",
      "lifecycle_stage": "stable", "owner_team": "t", "tags": ["x"], "labels": {"a": "b"},
      "dependencies": [{"service": "d", "range": "^1"}],
      "instances": [{"id": "i", "address": "h", "port": 1, "metadata": {"k": "v"}}]}]}]})");
  EXPECT_TRUE(doc.ok());
  auto snapshot = build_snapshot(doc.services, doc.instances, doc.contracts, 1);
  size = snapshot.size();
  std::vector<uint64_t> aligned((size + 7) / 8);
  std::memcpy(aligned.data(), snapshot.data(), size);
  return aligned;
}

std::span<const uint8_t> as_bytes(const std::vector<uint64_t>& v, size_t size) {
  return {reinterpret_cast<const uint8_t*>(v.data()), size};
}

TEST(Verify, AcceptsAValidSnapshot) {
  size_t size;
  auto buf = sample_snapshot(size);
  EXPECT_TRUE(verify<Snapshot>(as_bytes(buf, size)));
}

TEST(Verify, RejectsEmptyShortAndTruncated) {
  size_t size;
  auto buf = sample_snapshot(size);
  EXPECT_FALSE(verify<Snapshot>({}));
  EXPECT_FALSE(verify<Snapshot>(as_bytes(buf, 3)));
  for (size_t n = 4; n < size; n += 8) EXPECT_FALSE(verify<Snapshot>(as_bytes(buf, n))) << n;
  auto refused = verify<Snapshot>(as_bytes(buf, 8));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Corrupt);
  EXPECT_NE(refused.error().message.find("not a valid Snapshot buffer (8 bytes)"), std::string::npos)
      << refused.error().message;
}

TEST(Verify, RejectsMisalignedBuffers) {
  size_t size;
  auto buf = sample_snapshot(size);
  std::vector<uint8_t> shifted(size + 1);
  std::memcpy(shifted.data() + 1, buf.data(), size);
  auto refused = verify<Snapshot>({shifted.data() + 1, size});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("aligned"), std::string::npos);
}

// Keeps the reads of accepted buffers from being optimised away.
volatile size_t read_sink = 0;

TEST(Verify, RandomCorruptionIsRejectedOrHarmless) {
  size_t size;
  const auto original = sample_snapshot(size);
  std::mt19937 rng(12345);
  int rejected = 0, accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    auto buf = original;
    auto* bytes = reinterpret_cast<uint8_t*>(buf.data());
    for (int flips = 1 + trial % 4; flips > 0; --flips) bytes[rng() % size] ^= static_cast<uint8_t>(1 + rng() % 255);
    if (!verify<Snapshot>(as_bytes(buf, size))) {
      ++rejected;
      continue;
    }
    // Accepted: reading every field must stay in bounds (ASan builds check this).
    auto records = open_snapshot(*flatbuffers::GetRoot<Snapshot>(bytes));
    std::string json = to_registry_json({records.versions, records.instances, records.contracts, {}});
    read_sink = read_sink + json.size();
    ++accepted;
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(accepted, 100) << "the reading path for accepted corrupt buffers was not exercised";
}

TEST(Verify, NestedRecordsAreVerified) {
  // A snapshot whose nested record bytes are garbage must be rejected as a whole.
  RecordList services;
  std::vector<uint8_t> garbage(64, 0xAB);
  services.append(garbage);
  auto snapshot = build_snapshot(services, {}, {}, 1);
  std::vector<uint64_t> aligned((snapshot.size() + 7) / 8);
  std::memcpy(aligned.data(), snapshot.data(), snapshot.size());
  EXPECT_FALSE(verify<Snapshot>(as_bytes(aligned, snapshot.size())));
}

}  // namespace
}  // namespace roster::wire
