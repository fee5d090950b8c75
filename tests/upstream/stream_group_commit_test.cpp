// The stream server with a registry that commits in the background: an agent that needs a
// snapshot while writes are pending gets it once they are durable (at their revision, with no
// delta repeating what it holds), and one waiting for writes whose group fails is dropped, to
// resume against the re-read registry.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../net/net_test_support.hpp"
#include "gated_store.hpp"
#include "roster/net/socket.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/upstream/stream_server.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::upstream {
namespace {

using namespace net::testing;

struct Received {
  wire::FrameType type;
  uint64_t from = 0, revision = 0;
  size_t services = 0;
};

// Each test with the agents served on the server's loop (0) and on two sender threads.
class StreamGroupCommitTest : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    store_ = std::make_unique<GatedStore>(dir_.file("data"));
    registry_ = std::move(*Registry::open(*store_, {}, [] { return int64_t{1'000'000}; }));
    // As roster-server wires it: outcomes come back on the loop.
    committer_ = std::make_unique<GroupCommitter>(*store_, [this](const GroupOutcome& outcome) {
      lt_.loop.post([this, outcome] { registry_->group_committed(outcome); });
    });
    registry_->commit_in_background(committer_.get());
    const int fd = net::listen_tcp("127.0.0.1", 0).value();
    port_ = net::local_port(fd);
    lt_.call([&] {
      StreamOptions options;
      options.sender_threads = GetParam();
      server_ = std::make_unique<StreamServer>(lt_.loop, *registry_, options);
      server_->listen(fd);
    });
  }
  void TearDown() override {
    store_->open_gate();
    lt_.call([&] { server_.reset(); });
    committer_.reset();  // commits what is left, then its outcomes go nowhere
    lt_.stop();
  }

  void put(const std::string& name) {
    auto doc = decoder_.decode(R"({"name": ")" + name + R"(", "version": "1.0.0", "lifecycle_stage": "beta", "owner_team": "t"})");
    lt_.call([&] { ASSERT_TRUE(registry_->put_version(doc.services[0], doc.instances)); });
  }
  uint64_t durable() { return lt_.call([&] { return registry_->durable_revision(); }); }

  int connect_agent() {
    const int fd = net::connect_blocking(net::parse_address("127.0.0.1:" + std::to_string(port_)).value()).value();
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(wire::CreateHello(fbb, fbb.CreateString("agent"), 0));
    std::vector<uint8_t> bytes;
    wire::append_frame(bytes, wire::FrameType::Hello, {fbb.GetBufferPointer(), fbb.GetSize()});
    write_all(fd, std::string(bytes.begin(), bytes.end()));
    return fd;
  }
  // The next Snapshot or Delta frame (keepalives skipped), or nullopt at EOF or after `timeout`.
  std::optional<Received> next(int fd, std::chrono::milliseconds timeout) {
    for (;;) {
      while (auto f = reader_.next()) {
        if (f->type == wire::FrameType::Snapshot) {
          auto* s = flatbuffers::GetRoot<wire::Snapshot>(f->payload.data());
          return Received{f->type, 0, s->revision(), s->services() ? s->services()->size() : 0};
        }
        if (f->type == wire::FrameType::Delta) {
          auto* d = flatbuffers::GetRoot<wire::Delta>(f->payload.data());
          return Received{f->type, d->from_revision(), d->revision(), d->upsert_services() ? d->upsert_services()->size() : 0};
        }
      }
      if (!readable(fd, timeout)) return std::nullopt;
      const std::string bytes = read_some(fd, timeout);
      if (bytes.empty()) return std::nullopt;  // EOF
      reader_.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
    }
  }
  static bool readable(int fd, std::chrono::milliseconds wait) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
  }

  TempDir dir_;
  std::unique_ptr<GatedStore> store_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<GroupCommitter> committer_;
  LoopThread lt_;
  std::unique_ptr<StreamServer> server_;
  uint16_t port_ = 0;
  wire::JsonDecoder decoder_;
  wire::FrameReader reader_;
};

TEST_P(StreamGroupCommitTest, ASnapshotMadeWhileWritesArePendingWaitsForThemAndReplacesTheirDeltas) {
  put("a");
  ASSERT_TRUE(eventually([&] { return durable() == 1; }));
  store_->close_gate();
  put("b");  // revision 2, pending
  store_->wait_for_groups(2);
  Fd fd(connect_agent());
  EXPECT_FALSE(next(fd, 150ms)) << "a snapshot holding a write that is not durable left the server";
  store_->open_gate();
  auto snapshot = next(fd, 5s);
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->type, wire::FrameType::Snapshot);
  EXPECT_EQ(snapshot->revision, 2u);
  EXPECT_EQ(snapshot->services, 2u);
  // The next change follows on from the snapshot: no delta repeats revision 2.
  put("c");
  auto delta = next(fd, 5s);
  ASSERT_TRUE(delta);
  EXPECT_EQ(delta->type, wire::FrameType::Delta);
  EXPECT_EQ(delta->from, 2u);
  EXPECT_EQ(delta->revision, 3u);
}

TEST_P(StreamGroupCommitTest, AnAgentWaitingForWritesWhoseGroupFailsIsDroppedToResume) {
  put("a");
  ASSERT_TRUE(eventually([&] { return durable() == 1; }));
  store_->close_gate();
  store_->fail_next = true;
  put("lost");
  store_->wait_for_groups(2);
  Fd fd(connect_agent());
  EXPECT_FALSE(next(fd, 100ms));
  store_->open_gate();
  // The registry re-reads the store (revision 1, without "lost") and every agent resumes: the
  // connection closes with nothing sent.
  bool closed = false;
  for (auto deadline = std::chrono::steady_clock::now() + 5s; !closed && std::chrono::steady_clock::now() < deadline;)
    if (readable(fd, 100ms)) {
      const std::string bytes = read_some(fd, 1s);
      if (bytes.empty()) closed = true;
      reader_.feed({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
      while (auto f = reader_.next())
        EXPECT_NE(f->type, wire::FrameType::Snapshot) << "the snapshot holding the failed write was sent";
    }
  EXPECT_TRUE(closed);
  EXPECT_EQ(lt_.call([&] { return registry_->revision(); }), 1u);
  EXPECT_EQ(lt_.call([&] { return registry_->version("lost", "1.0.0") == nullptr; }), true);
}

INSTANTIATE_TEST_SUITE_P(SenderThreads, StreamGroupCommitTest, ::testing::Values(0u, 2u));

}  // namespace
}  // namespace roster::upstream
