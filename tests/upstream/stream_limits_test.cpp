// The stream server's limits for peers that have not said a good Hello yet, over real loopback
// TCP: the frame size before Hello, the connection cap, the per-address limit.
#include "roster/upstream/stream_server.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../net/net_test_support.hpp"
#include "registry_fixture.hpp"
#include "roster/net/socket.hpp"
#include "roster/wire/verify.hpp"

namespace roster::upstream {
namespace {

using namespace net::testing;

std::string header(uint32_t length, wire::FrameType type) {
  std::string h(8, '\0');
  for (int i = 0; i < 4; ++i) h[i] = static_cast<char>(length >> (8 * i));
  h[4] = static_cast<char>(type);
  h[5] = static_cast<char>(wire::kProtocolVersion);
  return h;
}

std::string frame(wire::FrameType type, std::string_view payload) {
  return header(static_cast<uint32_t>(4 + payload.size()), type) + std::string(payload);
}

std::string hello(const std::string& agent_id) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CreateHello(fbb, fbb.CreateString(agent_id), 0));
  return frame(wire::FrameType::Hello, {reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize()});
}

struct ErrorFrame {
  uint32_t code = 0;
  std::string message;
};

// Reads frames until an Error frame, which it returns; fails the test on EOF first.
ErrorFrame read_error_frame(int fd, std::chrono::milliseconds timeout = 2s) {
  wire::FrameReader reader;
  for (;;) {
    std::string bytes = read_some(fd, timeout);
    if (bytes.empty()) {
      ADD_FAILURE() << "the server closed without an Error frame";
      return {};
    }
    reader.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    while (auto f = reader.next()) {
      if (f->type != wire::FrameType::Error) continue;
      EXPECT_TRUE(wire::verify<wire::StreamError>(f->payload));
      auto* e = flatbuffers::GetRoot<wire::StreamError>(f->payload.data());
      return {e->code(), e->message()->str()};
    }
  }
}

// Each test with the agents served on the server's loop (0) and on two sender threads.
class StreamLimitsTest : public RegistryFixture, public ::testing::WithParamInterface<unsigned> {
 protected:
  void start(StreamOptions options) {
    options.sender_threads = GetParam();
    int fd = net::listen_tcp("127.0.0.1", 0).value();
    port_ = net::local_port(fd);
    lt_.call([&] {
      server_ = std::make_unique<StreamServer>(lt_.loop, *registry_, options);
      server_->listen(fd);
    });
  }
  void TearDown() override {
    lt_.call([&] { server_.reset(); });
    lt_.stop();
    RegistryFixture::TearDown();
  }

  int connect_from(const char* local_ip) const { return net::testing::connect_from(local_ip, port_); }
  size_t agents() { return lt_.call([&] { return server_->connected_agents(); }); }

  LoopThread lt_;
  std::unique_ptr<StreamServer> server_;
  uint16_t port_ = 0;
};

// 16 peers announcing 16 MiB frames took the server from 7 MB to 253 MB: each frame was buffered
// whole before anyone knew who sent it. The header alone is refused now.
TEST_P(StreamLimitsTest, AHugeFrameBeforeHelloIsRefusedOnItsHeader) {
  start({});
  Fd fd(connect_from("127.0.0.1"));
  write_all(fd, header((16u << 20) - 4, wire::FrameType::Hello));  // just under the normal limit
  auto t0 = std::chrono::steady_clock::now();
  ErrorFrame error = read_error_frame(fd);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);  // at once, not at the Hello timeout
  EXPECT_EQ(error.code, 400u);
  EXPECT_NE(error.message.find("exceeds the limit of 65536 bytes"), std::string::npos) << error.message;
  EXPECT_EQ(read_until_close(fd), "");
}

// Once the Hello is accepted the normal frame limit applies, from the very next byte: a 100 KiB
// frame sent in the same write as the Hello is taken, and offsets keep counting from the start.
TEST_P(StreamLimitsTest, AfterAGoodHelloTheNormalFrameLimitApplies) {
  start({});
  Fd fd(connect_from("127.0.0.1"));
  const std::string greeting = hello("big-keepalive");
  const std::string keepalive = frame(wire::FrameType::Keepalive, std::string(100 * 1024, '\0'));
  write_all(fd, greeting + keepalive);
  ASSERT_TRUE(eventually([&] { return agents() == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(agents(), 1u);  // not refused
  std::string bad = header(4, wire::FrameType::Keepalive);
  bad[5] = 9;  // an unknown protocol version
  write_all(fd, bad);
  ErrorFrame error = read_error_frame(fd);
  EXPECT_NE(error.message.find("frame at offset " + std::to_string(greeting.size() + keepalive.size()) + ":"),
            std::string::npos)
      << error.message;
}

TEST_P(StreamLimitsTest, ConnectionsBeyondTheCapAreRefused) {
  StreamOptions options;
  options.max_connections = 2;
  start(options);
  Fd a(connect_from("127.0.0.1")), b(connect_from("127.0.0.2"));
  write_all(a, hello("a"));
  ASSERT_TRUE(eventually([&] { return agents() == 1; }));
  Fd c(connect_from("127.0.0.3"));
  ErrorFrame error = read_error_frame(c);
  EXPECT_EQ(error.code, 503u);
  EXPECT_NE(error.message.find("limit of 2 stream connections"), std::string::npos) << error.message;
  EXPECT_EQ(agents(), 1u);
}

TEST_P(StreamLimitsTest, StrangersFromOneAddressDoNotCrowdOutOthers) {
  StreamOptions options;
  options.max_unauthenticated_per_address = 2;
  start(options);
  std::vector<std::unique_ptr<Fd>> strangers;
  for (int i = 0; i < 2; ++i) strangers.push_back(std::make_unique<Fd>(connect_from("127.0.0.1")));
  Fd third(connect_from("127.0.0.1"));
  ErrorFrame error = read_error_frame(third);
  EXPECT_EQ(error.code, 503u);
  EXPECT_NE(error.message.find("127.0.0.1 has 2 connections waiting for their Hello"), std::string::npos)
      << error.message;
  // Another address is served...
  Fd other(connect_from("127.0.0.2"));
  write_all(other, hello("other"));
  ASSERT_TRUE(eventually([&] { return agents() == 1; }));
  // ...and an agent whose Hello was accepted no longer counts against its address.
  write_all(*strangers[0], hello("first"));
  ASSERT_TRUE(eventually([&] { return agents() == 2; }));
  Fd again(connect_from("127.0.0.1"));
  write_all(again, hello("again"));
  EXPECT_TRUE(eventually([&] { return agents() == 3; }));
}

INSTANTIATE_TEST_SUITE_P(SenderThreads, StreamLimitsTest, ::testing::Values(0u, 2u));

}  // namespace
}  // namespace roster::upstream
