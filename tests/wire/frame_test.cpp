#include "roster/wire/frame.hpp"

#include <gtest/gtest.h>

#include "roster/wire/roster_generated.h"
#include "roster/wire/verify.hpp"

namespace roster::wire {
namespace {

std::vector<uint8_t> hello_payload(const std::string& agent) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(CreateHello(fbb, fbb.CreateString(agent), 99, fbb.CreateString("secret")));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

TEST(Frame, RoundTripsManyFramesFedByteByByte) {
  std::vector<uint8_t> stream;
  for (int i = 0; i < 5; ++i) append_frame(stream, FrameType::Hello, hello_payload("agent-" + std::to_string(i)));
  append_frame(stream, FrameType::Keepalive, {});
  FrameReader reader;
  int hellos = 0, keepalives = 0;
  for (uint8_t byte : stream) {
    reader.feed({&byte, 1});
    while (auto frame = reader.next()) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(frame->payload.data()) % 8, 0u);
      if (frame->type == FrameType::Hello) {
        ASSERT_TRUE(verify<Hello>(frame->payload));
        auto* hello = flatbuffers::GetRoot<Hello>(frame->payload.data());
        EXPECT_EQ(hello->agent_id()->str(), "agent-" + std::to_string(hellos));
        EXPECT_EQ(hello->last_revision(), 99u);
        ++hellos;
      } else {
        EXPECT_EQ(frame->type, FrameType::Keepalive);
        EXPECT_TRUE(frame->payload.empty());
        ++keepalives;
      }
    }
  }
  EXPECT_EQ(hellos, 5);
  EXPECT_EQ(keepalives, 1);
  EXPECT_FALSE(reader.error());
  EXPECT_EQ(reader.buffered(), 0u);
  EXPECT_EQ(reader.stream_offset(), stream.size());
}

TEST(Frame, TruncatedFrameWaitsForMore) {
  std::vector<uint8_t> stream;
  append_frame(stream, FrameType::Hello, hello_payload("a"));
  FrameReader reader;
  reader.feed({stream.data(), stream.size() - 1});
  EXPECT_FALSE(reader.next());
  EXPECT_FALSE(reader.error());
  EXPECT_EQ(reader.buffered(), stream.size() - 1);
}

struct BadHeader {
  const char* name;
  std::vector<uint8_t> bytes;
  const char* message;
};

TEST(Frame, MalformedHeadersAreErrorsWithOffsets) {
  std::vector<uint8_t> good;
  append_frame(good, FrameType::Keepalive, {});
  const std::vector<BadHeader> cases = {
      {"too short", {2, 0, 0, 0, 4, 1, 0, 0}, "shorter than the frame header"},
      {"oversized", {0, 0, 0, 0x7f, 4, 1, 0, 0}, "exceeds the limit"},
      {"bad version", {4, 0, 0, 0, 4, 9, 0, 0}, "unsupported protocol version 9"},
      {"old version", {4, 0, 0, 0, 4, 1, 0, 0}, "unsupported protocol version 1 (this side speaks 2)"},
      {"unknown type", {4, 0, 0, 0, 77, kProtocolVersion, 0, 0}, "unknown frame type 77"},
      {"reserved", {4, 0, 0, 0, 4, kProtocolVersion, 1, 0}, "reserved header bytes"},
  };
  for (auto& c : cases) {
    FrameReader reader;
    reader.feed(good);  // one good frame first, so the bad one is at offset 8
    ASSERT_TRUE(reader.next());
    reader.feed(c.bytes);
    EXPECT_FALSE(reader.next()) << c.name;
    ASSERT_TRUE(reader.error()) << c.name;
    EXPECT_EQ(reader.error()->offset, 8u) << c.name;
    EXPECT_NE(reader.error()->message.find("frame at offset 8"), std::string::npos) << reader.error()->message;
    EXPECT_NE(reader.error()->message.find(c.message), std::string::npos) << reader.error()->message;
    // Failed for good: later bytes are ignored.
    reader.feed(good);
    EXPECT_FALSE(reader.next());
  }
}

TEST(Frame, MaxFrameSizeIsConfigurable) {
  std::vector<uint8_t> stream;
  append_frame(stream, FrameType::Hello, hello_payload(std::string(200, 'x')));
  FrameReader small(64);
  small.feed(stream);
  EXPECT_FALSE(small.next());
  ASSERT_TRUE(small.error());
  FrameReader large(4096);
  large.feed(stream);
  EXPECT_TRUE(large.next());
}

TEST(Frame, MisalignedPayloadIsCopiedToAlignedStorage) {
  std::vector<uint8_t> stream;
  append_frame(stream, FrameType::Error, std::vector<uint8_t>(3, 0));  // 3-byte payload misaligns the next
  append_frame(stream, FrameType::Hello, hello_payload("b"));
  FrameReader reader;
  reader.feed(stream);
  ASSERT_TRUE(reader.next());
  auto frame = reader.next();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->offset, 11u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(frame->payload.data()) % 8, 0u);
  EXPECT_TRUE(verify<Hello>(frame->payload));
}

}  // namespace
}  // namespace roster::wire
