// shm::clean_up_abandoned: the segments a writer killed before (or while) naming its arena left
// in /dev/shm. Dead writers' segments go, a live writer's stay, and a publish cut between its two
// renames is finished so readers find a matching pair again.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "arena_test_support.hpp"
#include "roster/client.hpp"
#include "roster/detail/layout.hpp"

namespace roster {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::records;
using testing::version_json;

class AbandonedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.name = testing::unique_arena_name("abandoned");
    options_.segment_bytes = 4u << 20;
  }
  void TearDown() override {
    children_.clear();
    testing::remove_arena(options_.name);
  }

  std::string path(const std::string& suffix) const { return "/dev/shm/roster." + options_.name + suffix; }
  std::vector<std::string> pending() const {
    std::vector<std::string> out;
    for (auto& f : testing::arena_files(options_.name))
      if (f.find(".new.") != std::string::npos) out.push_back(f);
    return out;
  }

  // A writer in a child process that creates its segments (and, with `publish`, names them with
  // one service), reports, then waits to be killed.
  ChildProcess& writer_child(bool publish) {
    const shm::ArenaOptions options = options_;
    children_.push_back(ChildProcess::spawn(
        [options, publish](testing::Channel& channel) {
          auto writer = shm::ArenaWriter::create(options).value();
          shm::BatchResolver writer_resolver;  // what the server would send with each batch
          if (publish) {
            const auto r = records(version_json("second", "2.0.0"));
            writer_resolver.apply(*writer, r.batch(2)).value();
          }
          channel.send_u64(1);
          channel.receive_u64(30s);
          return 0;
        },
        30));
    ChildProcess& child = *children_.back();
    EXPECT_TRUE(child.channel().receive_u64(10s));
    return child;
  }
  static void kill(ChildProcess& child) {
    child.kill9();
    ASSERT_TRUE(child.wait(5s));
  }

  shm::ArenaOptions options_;
  std::vector<std::unique_ptr<ChildProcess>> children_;
};

TEST_F(AbandonedTest, SegmentsOfAWriterKilledBeforeNamingThemAreRemoved) {
  ChildProcess& child = writer_child(/*publish=*/false);
  ASSERT_EQ(pending().size(), 2u);
  kill(child);
  ASSERT_EQ(pending().size(), 2u) << "the kernel does not remove them";
  const auto cleaned = shm::clean_up_abandoned(options_.name);
  EXPECT_EQ(cleaned.removed, 2u);
  EXPECT_FALSE(cleaned.publish_finished);
  EXPECT_TRUE(testing::arena_files(options_.name).empty());
}

TEST_F(AbandonedTest, ALiveWritersSegmentsAreKeptInThisProcessAndOthers) {
  auto own = shm::ArenaWriter::create(options_).value();  // unnamed: nothing published yet
  ChildProcess& child = writer_child(/*publish=*/false);
  ASSERT_EQ(pending().size(), 4u);
  const auto cleaned = shm::clean_up_abandoned(options_.name);
  EXPECT_EQ(cleaned.removed, 0u);
  EXPECT_EQ(pending().size(), 4u);
  // Once the other writer dies, only its pair goes.
  kill(child);
  EXPECT_EQ(shm::clean_up_abandoned(options_.name).removed, 2u);
  EXPECT_EQ(pending().size(), 2u);
  own->remove_segments();
}

TEST_F(AbandonedTest, AReadersSegmentWithoutItsDataSegmentIsRemoved) {
  ChildProcess& child = writer_child(/*publish=*/false);
  kill(child);
  for (auto& f : pending())
    if (f.find(".data.") != std::string::npos) ::unlink(("/dev/shm/" + f).c_str());
  EXPECT_EQ(shm::clean_up_abandoned(options_.name).removed, 1u);
  EXPECT_TRUE(testing::arena_files(options_.name).empty());
}

// The writer of a new arena named its readers segment, then died before naming its data segment:
// readers would find the old data with the new readers (ids that do not match). The clean-up
// gives the new data segment the name and tells readers of the old one it was replaced.
TEST_F(AbandonedTest, APublishCutBetweenItsTwoRenamesIsFinished) {
  auto first = shm::ArenaWriter::create(options_).value();
  shm::BatchResolver first_resolver;  // what the server would send with each batch
  first_resolver.apply(*first, records(version_json("first", "1.0.0")).batch(1)).value();
  Client client = Client::open(options_.name).value();
  ASSERT_TRUE(client.view().service("first"));
  // Keep the first data segment under another name while the second writer publishes, then put
  // both files back as they would be had the second writer died between its two renames.
  ASSERT_EQ(::link(path(".data").c_str(), path(".data.kept").c_str()), 0);
  ChildProcess& second = writer_child(/*publish=*/true);
  const std::string suffix = ".new." + std::to_string(second.pid()) + ".1";
  kill(second);
  ASSERT_EQ(::rename(path(".data").c_str(), path(".data" + suffix).c_str()), 0);
  ASSERT_EQ(::rename(path(".data.kept").c_str(), path(".data").c_str()), 0);
  {  // The second writer's take_name had marked the first segment replaced; in the cut it has not.
    const int fd = ::open(path(".data").c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    void* base = ::mmap(nullptr, sizeof(shm::detail::SegmentHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    ASSERT_NE(base, MAP_FAILED);
    static_cast<shm::detail::SegmentHeader*>(base)->replaced.store(0);
    ::munmap(base, sizeof(shm::detail::SegmentHeader));
  }
  EXPECT_FALSE(Client::open(options_.name)) << "old data with new readers must not open";

  const auto cleaned = shm::clean_up_abandoned(options_.name);
  EXPECT_TRUE(cleaned.publish_finished);
  EXPECT_EQ(cleaned.removed, 0u);
  EXPECT_TRUE(pending().empty());
  Client fresh = Client::open(options_.name).value();
  EXPECT_TRUE(fresh.view().service("second"));
  EXPECT_FALSE(fresh.view().service("first"));
  EXPECT_TRUE(client.view().service("second")) << "the open client re-attaches to the finished arena";
  first.reset();  // a named writer's destructor leaves the (now replaced) name alone
}

}  // namespace
}  // namespace roster
