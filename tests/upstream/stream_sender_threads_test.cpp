// Agents served by sender threads, over real loopback TCP: spread over the threads, every agent
// gets its snapshot and then every delta once, in revision order; the metrics add up across the
// threads; a registry re-read and close() reach the agents on every thread.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "../net/net_test_support.hpp"
#include "registry_fixture.hpp"
#include "roster/net/socket.hpp"
#include "roster/upstream/stream_server.hpp"
#include "roster/wire/frame.hpp"

namespace roster::upstream {
namespace {

using namespace net::testing;

// One agent's end: says Hello for nothing held, then reads Snapshot and Delta frames.
struct Agent {
  Fd fd;
  wire::FrameReader reader;

  explicit Agent(uint16_t port) : fd(connect_from("127.0.0.1", port)) {
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CreateHello(fbb, fbb.CreateString("agent"), 0));
    std::vector<uint8_t> bytes;
    wire::append_frame(bytes, wire::FrameType::Hello, {fbb.GetBufferPointer(), fbb.GetSize()});
    write_all(fd, std::string(bytes.begin(), bytes.end()));
  }

  // The revision the next Snapshot (last chunk) or Delta brings the agent to, and the revision a
  // Delta starts from (0 for a snapshot); keepalives skipped. Throws on a timeout.
  std::pair<uint64_t, uint64_t> next() {
    for (;;) {
      while (auto f = reader.next()) {
        if (f->type == wire::FrameType::Snapshot) {
          auto* s = flatbuffers::GetRoot<wire::Snapshot>(f->payload.data());
          if (s->last()) return {0, s->revision()};
        } else if (f->type == wire::FrameType::Delta) {
          auto* d = flatbuffers::GetRoot<wire::Delta>(f->payload.data());
          return {d->from_revision(), d->revision()};
        }
      }
      const std::string bytes = read_some(fd);
      if (bytes.empty()) throw std::runtime_error("the server closed the stream");
      reader.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    }
  }
};

class StreamSenderThreadsTest : public RegistryFixture {
 protected:
  void start(unsigned threads, StreamOptions options = {}) {
    int fd = net::listen_tcp("127.0.0.1", 0).value();
    port_ = net::local_port(fd);
    options.sender_threads = threads;
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
  uint64_t put(const std::string& name) {
    return lt_.call([&] {
      EXPECT_TRUE(
          put_version(R"({"name": ")" + name + R"(", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t"})"));
      return registry_->revision();
    });
  }
  size_t agents() { return lt_.call([&] { return server_->connected_agents(); }); }
  // A sample's value in the server's metrics text ("name value" on a line of its own).
  double metric(const std::string& name) {
    const std::string text = lt_.call([&] {
      base::PrometheusText out;
      server_->metrics(out);
      return out.text();
    });
    const auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) throw std::runtime_error("no metric " + name);
    return std::stod(text.substr(at + name.size() + 2));
  }

  LoopThread lt_;
  std::unique_ptr<StreamServer> server_;
  uint16_t port_ = 0;
};

TEST_F(StreamSenderThreadsTest, EveryAgentGetsEveryDeltaOnceInRevisionOrder) {
  start(3);
  const uint64_t first = put("before");
  std::vector<std::unique_ptr<Agent>> all;
  for (int i = 0; i < 30; ++i) all.push_back(std::make_unique<Agent>(port_));
  ASSERT_TRUE(eventually([&] { return agents() == 30; }));
  for (auto& a : all) EXPECT_EQ(a->next(), std::make_pair(uint64_t{0}, first));
  uint64_t last = first;
  for (int i = 0; i < 20; ++i) last = put("s" + std::to_string(i));
  for (auto& a : all)
    for (uint64_t revision = first + 1; revision <= last; ++revision)
      ASSERT_EQ(a->next(), std::make_pair(revision - 1, revision));
  // Counted on three threads, read on the loop: one lag per delta and agent, catch-ups not timed.
  EXPECT_TRUE(eventually([&] { return metric("roster_fanout_lag_seconds_count") == 30 * 20; }));
  EXPECT_EQ(metric("roster_stream_frames_sent_total"), 30 * 21);
  EXPECT_EQ(metric("roster_connected_agents"), 30);
}

TEST_F(StreamSenderThreadsTest, AnAgentLeavingIsCountedOnItsThread) {
  start(2);
  auto a = std::make_unique<Agent>(port_);
  Agent b(port_);
  ASSERT_TRUE(eventually([&] { return agents() == 2; }));
  a.reset();
  EXPECT_TRUE(eventually([&] { return agents() == 1; }));
  const uint64_t revision = put("after");
  b.next();  // the snapshot
  EXPECT_EQ(b.next().second, revision);
}

// A bound no delta fits in: every agent is cut off by its own thread as the delta arrives, each
// while its thread goes through its agents (so the walk must survive the entry it is on leaving).
TEST_F(StreamSenderThreadsTest, AgentsBehindTheirBoundAreCutOffOnTheirThreads) {
  StreamOptions options;
  options.max_queued_bytes = 1;
  start(2, options);
  std::vector<std::unique_ptr<Agent>> all;
  for (int i = 0; i < 8; ++i) all.push_back(std::make_unique<Agent>(port_));
  ASSERT_TRUE(eventually([&] { return agents() == 8; }));
  for (auto& a : all) a->next();  // the snapshot: a catch-up, not bounded
  put("too-big");
  EXPECT_TRUE(eventually([&] { return agents() == 0; }));
  EXPECT_EQ(metric("roster_stream_agents_cut_off_total"), 8);
  for (auto& a : all) EXPECT_NO_THROW(read_until_close(a->fd));
}

TEST_F(StreamSenderThreadsTest, ClosingTheServerClosesTheAgentsOnEveryThread) {
  start(3);
  std::vector<std::unique_ptr<Agent>> all;
  for (int i = 0; i < 9; ++i) all.push_back(std::make_unique<Agent>(port_));
  ASSERT_TRUE(eventually([&] { return agents() == 9; }));
  lt_.call([&] { server_.reset(); });
  for (auto& a : all) EXPECT_NO_THROW(read_until_close(a->fd));  // EOF, not a timeout
}

}  // namespace
}  // namespace roster::upstream
