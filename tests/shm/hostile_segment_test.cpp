// Readers and the writer against segments someone else wrote: files of the wrong owner or mode,
// headers that do not fit their file, random bodies, a reader-slot file a reader tampered with,
// pins rewritten to hold memory, and replaced segments a long-lived reader must let go of.
// Every case must end in an error or an empty answer, never a signal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "arena_test_support.hpp"
#include "roster/client.hpp"

namespace roster {
namespace {

using testing::records;
using testing::version_json;

const char* kRegistry = R"({"services": [
  {"name": "users", "versions": [
    {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "identity", "tags": ["core"],
     "dependencies": [{"service": "db", "range": "^2"}],
     "instances": [{"id": "a", "address": "10.0.0.1", "port": 80}, {"id": "b", "address": "10.0.0.2", "port": 81}]},
    {"version": "1.1.0-rc.1", "lifecycle_stage": "beta", "owner_team": "identity"}]},
  {"name": "db", "versions": [{"version": "2.3.0", "lifecycle_stage": "stable", "owner_team": "storage"}]}],
  "contracts": [{"consumer": "users", "consumer_version": "1.0.0", "provider": "db", "provider_range": "^2",
                 "pact": {"consumer": {"name": "users"}, "provider": {"name": "db"}, "interactions": []}}]})";

class HostileSegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.name = testing::unique_arena_name("hostile");
    options_.segment_bytes = 4u << 20;
    options_.max_pin_age = std::chrono::milliseconds(300);
    writer_ = shm::ArenaWriter::create(options_).value();
    resolver_.apply(*writer_, records(kRegistry).batch(1)).value();
  }
  void TearDown() override {
    if (writer_) writer_->remove_segments();
    testing::remove_arena(options_.name);
  }
  std::string data_path() const { return "/dev/shm/roster." + options_.name + ".data"; }
  std::string readers_path() const { return "/dev/shm/roster." + options_.name + ".readers"; }

  // Overwrites `bytes` at `offset` of a segment file.
  static void poke(const std::string& path, uint64_t offset, const void* bytes, size_t size) {
    const int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::pwrite(fd, bytes, size, static_cast<off_t>(offset)), static_cast<ssize_t>(size));
    ::close(fd);
  }
  template <typename T>
  static void poke_value(const std::string& path, uint64_t offset, T value) {
    poke(path, offset, &value, sizeof value);
  }

  // Where `field` (a pointer into `record`, which a View read in place) lies in the data file: the
  // record's bytes are found in the file, so the offset does not depend on the mapping's address.
  uint64_t file_offset(const ServiceVersion& record, const void* field) const {
    const auto* bytes = record.bytes().data();
    std::vector<uint8_t> file(options_.segment_bytes);
    const int fd = ::open(data_path().c_str(), O_RDONLY);
    EXPECT_EQ(::pread(fd, file.data(), file.size(), 0), static_cast<ssize_t>(file.size()));
    ::close(fd);
    auto it = std::search(file.begin(), file.end(), bytes, bytes + record.bytes().size());
    EXPECT_NE(it, file.end());
    return static_cast<uint64_t>(it - file.begin()) +
           static_cast<uint64_t>(static_cast<const uint8_t*>(field) - bytes);
  }

  // Every lookup a reader can make; none may crash, whatever the segment holds.
  static void walk_everything(Client& client) {
    View view = client.view();
    for (const char* name : {"users", "db", "nope"}) {
      if (auto s = view.service(name)) {
        (void)s->name();
        (void)s->owner_team();
        (void)s->verified();
        (void)s->registry();
      }
      for (auto registry : view.where(name)) {
        (void)view.in(registry).service(name);
        for (auto& v : view.in(registry).versions(name)) (void)v.registry();
        for (auto inst : view.in(registry).instances(name, Healthy)) (void)inst.id();
        for (auto& d : view.in(registry).dependencies(name, Transitive)) (void)d.range;
        for (auto& d : view.in(registry).dependents(name, Transitive)) (void)d.registry();
      }
      (void)view.latest(name, Latest::IncludingPrereleases);
      (void)view.service(name, "1.0.0");
      for (auto& v : view.versions(name)) (void)v.version();
      for (auto inst : view.instances(name)) (void)inst.address(), (void)inst.verified();
      for (auto inst : view.instances(name, "1.0.0", Healthy)) (void)inst.id();
      for (auto& d : view.dependencies(name, Transitive)) (void)d.range;
      for (auto& d : view.dependents(name, Transitive)) (void)d.name();
      for (auto* c : view.contracts(name)) (void)c->consumer();
    }
    for (auto v : view.by_team("identity")) (void)v.name();
    for (auto v : view.by_tag("core")) (void)v.name();
    for (auto v : view.by_stage(wire::LifecycleStage::Stable)) (void)v.name();
    for (auto name : view.service_names()) (void)view.service(name);
    for (auto name : view.changed_since(0)) (void)name.size();
    (void)view.staleness();
    for (auto& r : view.registries()) (void)r.name, (void)r.store, (void)r.staleness;
  }

  shm::ArenaOptions options_;
  std::unique_ptr<shm::ArenaWriter> writer_;
  shm::BatchResolver resolver_;  // what the server would send with each batch
};

TEST_F(HostileSegmentTest, FilesOfAnotherUserOrWritableByOthersAreRefused) {
  ASSERT_TRUE(Client::open(options_.name));
  ASSERT_EQ(::chmod(readers_path().c_str(), 0666), 0);
  auto open = Client::open(options_.name);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().code, "untrusted_arena");
  EXPECT_NE(open.error().message.find("writable by anyone"), std::string::npos) << open.error().message;
  ASSERT_EQ(::chmod(readers_path().c_str(), 0660), 0);
  ASSERT_EQ(::chmod(data_path().c_str(), 0660), 0);  // readers never write the data segment
  EXPECT_EQ(Client::open(options_.name).error().code, "untrusted_arena");
  ASSERT_EQ(::chmod(data_path().c_str(), 0640), 0);

  if (::geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
  ASSERT_EQ(::chown(data_path().c_str(), 65534, static_cast<gid_t>(-1)), 0);  // as if "nobody" made it
  auto squatted = Client::open(options_.name);
  ASSERT_FALSE(squatted);
  EXPECT_EQ(squatted.error().kind, ErrorKind::Unauthorized);
  EXPECT_NE(squatted.error().message.find("uid 65534"), std::string::npos) << squatted.error().message;
  // A deployment whose agent runs as that user says so, in code or in the environment.
  ASSERT_EQ(::chown(readers_path().c_str(), 65534, static_cast<gid_t>(-1)), 0);
  EXPECT_TRUE(Client::open(options_.name, {.owner = 65534}));
  ::setenv("ROSTER_ARENA_OWNER", "65534", 1);
  EXPECT_TRUE(Client::open(options_.name));
  ::unsetenv("ROSTER_ARENA_OWNER");
  EXPECT_FALSE(Client::open(options_.name, {.owner = 0}));
}

TEST_F(HostileSegmentTest, AHeaderThatDoesNotFitItsFileIsRefused) {
  const auto header = offsetof(shm::detail::SegmentHeader, service_table);
  poke_value<uint64_t>(data_path(), header, uint64_t{1} << 40);
  auto far = Client::open(options_.name);
  ASSERT_FALSE(far);
  EXPECT_EQ(far.error().code, "not_an_arena");
  EXPECT_NE(far.error().message.find("service table"), std::string::npos) << far.error().message;

  poke_value<uint64_t>(data_path(), header, 64);  // back in range, but...
  poke_value<uint64_t>(data_path(), offsetof(shm::detail::SegmentHeader, service_capacity), 3);  // not a power of two
  EXPECT_EQ(Client::open(options_.name).error().code, "not_an_arena");
}

TEST_F(HostileSegmentTest, ATruncatedSegmentIsRefused) {
  ASSERT_EQ(::truncate(data_path().c_str(), 65536), 0);
  auto open = Client::open(options_.name);
  ASSERT_FALSE(open);
  EXPECT_EQ(open.error().code, "not_an_arena");
  EXPECT_NE(open.error().message.find("the file has 65536"), std::string::npos) << open.error().message;
  ASSERT_EQ(::truncate(data_path().c_str(), 10), 0);  // shorter than a header
  EXPECT_EQ(Client::open(options_.name).error().code, "not_an_arena");
}

TEST_F(HostileSegmentTest, RandomBodiesBehindAValidHeaderNeverCrashAReader) {
  auto client = Client::open(options_.name).value();
  walk_everything(client);  // sound, first
  const int fd = ::open(data_path().c_str(), O_RDONLY);
  std::vector<uint8_t> sound(options_.segment_bytes);
  ASSERT_EQ(::pread(fd, sound.data(), sound.size(), 0), static_cast<ssize_t>(sound.size()));
  ::close(fd);
  uint64_t heap = 0;
  std::memcpy(&heap, sound.data() + offsetof(shm::detail::SegmentHeader, heap_offset), sizeof heap);
  // The header and the tables stay as they are, so lookups reach the heap; there, noise of two
  // kinds: flipped bytes where the nodes and records are, then pure noise.
  std::mt19937_64 rng(42);
  bool saw_corrupt = false;
  for (int round = 0; round < 40; ++round) {
    std::vector<uint8_t> body = sound;
    if (round < 30) {
      for (int flips = 0; flips < 1 + round; ++flips) body[heap + rng() % 65536] ^= static_cast<uint8_t>(1 + rng() % 255);
    } else {
      for (uint64_t i = heap; i < body.size(); ++i) body[i] = static_cast<uint8_t>(rng());
    }
    poke(data_path(), heap, body.data() + heap, body.size() - heap);
    auto fresh = Client::open(options_.name);
    ASSERT_TRUE(fresh) << fresh.error().message;
    walk_everything(*fresh);
    View view = fresh->view();
    for (const char* name : {"users", "db"}) (void)view.service(name), (void)view.dependencies(name, Transitive);
    saw_corrupt |= view.corrupt();
  }
  EXPECT_TRUE(saw_corrupt) << "no lookup ever noticed the damage";
}

TEST_F(HostileSegmentTest, DamagedRecordsReadAsEmptyAndFailVerification) {
  auto client = Client::open(options_.name).value();
  View view = client.view();
  auto users = view.service("users");
  ASSERT_TRUE(users && users->verified());
  // Send the record's root offset far outside the segment: its accessors must read zeros.
  const auto* base = reinterpret_cast<const uint8_t*>(users->bytes().data());
  uint64_t record_offset = 0;
  {
    // Find the record's offset in the file by its bytes (the mapping is read-only here).
    const int fd = ::open(data_path().c_str(), O_RDONLY);
    std::vector<uint8_t> file(options_.segment_bytes);
    ASSERT_EQ(::pread(fd, file.data(), file.size(), 0), static_cast<ssize_t>(file.size()));
    ::close(fd);
    auto it = std::search(file.begin(), file.end(), base, base + users->bytes().size());
    ASSERT_NE(it, file.end());
    record_offset = static_cast<uint64_t>(it - file.begin());
  }
  view = client.view();
  poke_value<uint32_t>(data_path(), record_offset, 0xfffffff0u);
  auto damaged = view.service("users");
  ASSERT_TRUE(damaged);
  EXPECT_FALSE(damaged->verified());
  (void)damaged->name();        // reads the guard window's zeros: no signal
  (void)damaged->owner_team();
  walk_everything(client);
}

// A record whose tag vector claims 2^32 - 1 entries: by_tag looped over all of them (reading the
// guard window's zeros) for every entry of the list, a hang (found by fuzz/shm_reader). A vector
// that does not fit the heap is not looked into.
TEST_F(HostileSegmentTest, ATagCountPastTheHeapDoesNotHangALookup) {
  auto client = Client::open(options_.name).value();
  uint64_t length_offset = 0;
  {
    View view = client.view();
    auto users = view.service("users");
    ASSERT_TRUE(users && users->record().tags() && users->record().tags()->size() == 1);
    length_offset = file_offset(*users, users->record().tags());
  }
  poke_value<uint32_t>(data_path(), length_offset, 0xffffffffu);
  const auto start = std::chrono::steady_clock::now();
  View view = client.view();
  size_t found = 0;
  for (auto v : view.by_tag("core")) found += v.name() == "users";
  EXPECT_EQ(found, 0u);  // its tags cannot be read
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  walk_everything(client);
}

// A dependent's record whose name claims 4 GiB: dependents("db") looked that name up, hashing
// 4 GiB of the guard window's zero pages, seconds per lookup (found by fuzz/shm_reader). No
// service name is longer than 256 bytes, so such a name names nothing.
TEST_F(HostileSegmentTest, ANameLongerThanAnyServiceNameIsNotHashed) {
  auto client = Client::open(options_.name).value();
  uint64_t name_length_offset = 0;
  {
    View view = client.view();
    auto users = view.service("users");
    ASSERT_TRUE(users && users->record().name());
    ASSERT_EQ(view.dependents("db").size(), 1u);
    name_length_offset = file_offset(*users, users->record().name());
  }
  poke_value<uint32_t>(data_path(), name_length_offset, 0xfffffff0u);
  const auto start = std::chrono::steady_clock::now();
  View view = client.view();
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(view.dependents("db", Transitive).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  walk_everything(client);
}

// The service table as service_names() reads it: a node whose name no longer matches its slot's
// hash, or whose name claims more than its node holds, is left out (and marks the View corrupt);
// the other services are still listed.
TEST_F(HostileSegmentTest, ServiceNamesSkipNodesThatDoNotFitTheirSlot) {
  auto client = Client::open(options_.name).value();
  {
    View view = client.view();
    ASSERT_EQ(view.service_names(), (std::vector<std::string_view>{"db", "users"}));
  }
  // Find the slot of "users" and its node through the file.
  std::vector<uint8_t> file(options_.segment_bytes);
  const int fd = ::open(data_path().c_str(), O_RDONLY);
  ASSERT_EQ(::pread(fd, file.data(), file.size(), 0), static_cast<ssize_t>(file.size()));
  ::close(fd);
  uint64_t table = 0, capacity = 0, node = 0;
  std::memcpy(&table, file.data() + offsetof(shm::detail::SegmentHeader, service_table), sizeof table);
  std::memcpy(&capacity, file.data() + offsetof(shm::detail::SegmentHeader, service_capacity), sizeof capacity);
  for (uint64_t i = 0; i < capacity && !node; ++i) {
    uint64_t head = 0;
    std::memcpy(&head, file.data() + table + i * sizeof(shm::detail::ServiceSlot) +
                           offsetof(shm::detail::ServiceSlot, head), sizeof head);
    if (head && std::memcmp(file.data() + head + sizeof(shm::detail::ServiceNode), "users", 5) == 0) node = head;
  }
  ASSERT_NE(node, 0u);
  // A name byte changed: its hash is no longer the slot's.
  poke(data_path(), node + sizeof(shm::detail::ServiceNode), "x", 1);
  {
    View view = client.view();
    EXPECT_EQ(view.service_names(), std::vector<std::string_view>{"db"});
    EXPECT_EQ(view.changed_since(0), std::vector<std::string_view>{"db"});
    EXPECT_TRUE(view.corrupt());
  }
  // A name longer than its node.
  poke(data_path(), node + sizeof(shm::detail::ServiceNode), "u", 1);
  poke_value<uint32_t>(data_path(), node + offsetof(shm::detail::ServiceNode, name_bytes), 0xfffffff0u);
  View view = client.view();
  EXPECT_EQ(view.service_names(), std::vector<std::string_view>{"db"});
  EXPECT_TRUE(view.corrupt());
  walk_everything(client);
}

// The slot's latest record (what service(name) reads without touching the node) answers only for
// its own service: another service's record, a plain lookup given a registry's record, a word
// past the heap or not at a record, each sends the lookup to the node path, which answers as
// before. A latest_since newer than the View does the same.
TEST_F(HostileSegmentTest, ASlotsLatestRecordAnswersOnlyForItsOwnService) {
  using shm::detail::pack_latest;
  using shm::detail::ServiceNode;
  using shm::detail::ServiceSlot;
  auto client = Client::open(options_.name).value();
  const auto users = testing::service_slot_in_file(options_.name, "users");
  const auto db = testing::service_slot_in_file(options_.name, "db");
  ASSERT_NE(users.latest, 0u);
  ASSERT_NE(db.latest, 0u);
  const uint64_t latest_at = users.offset + offsetof(ServiceSlot, latest);
  const shm::detail::LatestRecord own = shm::detail::unpack_latest(users.latest);
  for (uint64_t word : {db.latest, pack_latest({own.record, own.bytes, own.registry, false}),
                        pack_latest({uint64_t{1} << 38, own.bytes, 0, true}), pack_latest({own.record + 8, own.bytes, 0, true}),
                        pack_latest({own.record, 0xffffff, 0, true}), ~uint64_t{0}}) {
    SCOPED_TRACE(word);
    poke_value(data_path(), latest_at, word);
    View view = client.view();
    auto found = view.service("users");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->name(), "users");
    EXPECT_EQ(found->version(), "1.0.0");
    EXPECT_EQ(view.latest("users", Latest::Stable)->owner_team(), "identity");
    EXPECT_EQ(view.service("db")->name(), "db");
    walk_everything(client);
  }
  // The word is what the lookup reads: with the node's name damaged (the node path finds nothing
  // now), the slot's own record still answers.
  poke_value(data_path(), latest_at, users.latest);
  poke(data_path(), users.head + sizeof(ServiceNode), "x", 1);
  {
    View view = client.view();
    ASSERT_TRUE(view.service("users"));
    EXPECT_EQ(view.service("users")->version(), "1.0.0");
    EXPECT_FALSE(view.service("users", "1.0.0"));
  }
  // A latest_since newer than every View: the node path, which finds nothing.
  poke_value(data_path(), users.offset + offsetof(ServiceSlot, latest_since), ~uint64_t{0});
  View view = client.view();
  EXPECT_FALSE(view.service("users"));
  walk_everything(client);
}

// The federation fields: a header naming more registries than an arena holds is refused; a node
// naming a registry past the table reads as no registry (list entries are bounded the same way).
TEST_F(HostileSegmentTest, RegistryFieldsOutOfRangeAreRefusedOrReadAsNone) {
  std::vector<uint8_t> file(options_.segment_bytes);
  const int fd = ::open(data_path().c_str(), O_RDONLY);
  ASSERT_EQ(::pread(fd, file.data(), file.size(), 0), static_cast<ssize_t>(file.size()));
  ::close(fd);
  // Every node's registry and every list entry's registry: past the table.
  uint64_t table = 0, capacity = 0;
  std::memcpy(&table, file.data() + offsetof(shm::detail::SegmentHeader, service_table), sizeof table);
  std::memcpy(&capacity, file.data() + offsetof(shm::detail::SegmentHeader, service_capacity), sizeof capacity);
  for (uint64_t i = 0; i < capacity; ++i) {
    uint64_t head = 0;
    std::memcpy(&head, file.data() + table + i * sizeof(shm::detail::ServiceSlot) + offsetof(shm::detail::ServiceSlot, head),
                sizeof head);
    if (head) poke_value<uint16_t>(data_path(), head + offsetof(shm::detail::ServiceNode, registry), 0x7fff);
  }
  auto client = Client::open(options_.name).value();
  {
    View view = client.view();
    ASSERT_TRUE(view.service("users"));
    EXPECT_EQ(view.service("users")->registry(), "");
  }
  walk_everything(client);
  // More registries than an arena holds: not an arena.
  poke_value<uint32_t>(data_path(), offsetof(shm::detail::SegmentHeader, federated), 9);
  auto refused = Client::open(options_.name);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("registries"), std::string::npos);
}

TEST_F(HostileSegmentTest, TheWriterIgnoresWhatReadersWriteIntoTheirFile) {
  auto client = Client::open(options_.name).value();
  { View v = client.view(); }
  // Every reader may write this file: a huge slot count, garbage pins and owners.
  poke_value<uint32_t>(readers_path(), offsetof(shm::detail::ReaderSegmentHeader, slot_count), 0x7fffffff);
  for (uint32_t i = 0; i < 8; ++i) {
    const uint64_t slot = sizeof(shm::detail::ReaderSegmentHeader) + i * sizeof(shm::detail::ReaderSlot);
    poke_value<uint64_t>(readers_path(), slot + offsetof(shm::detail::ReaderSlot, owner), 0xdeadbeef);
    poke_value<uint64_t>(readers_path(), slot + offsetof(shm::detail::ReaderSlot, evicted), ~uint64_t{0});
  }
  for (uint64_t r = 2; r < 20; ++r) resolver_.apply(*writer_, records(version_json("svc", "1.0." + std::to_string(r))).batch(r)).value();
  EXPECT_TRUE(Client::open(options_.name));  // the slot count is bounded by the file's size
}

TEST_F(HostileSegmentTest, APinRewrittenToHoldMemoryIsStillRevoked) {
  // A live reader (it holds its slot's lock) that rewrites its own pin behind its View's back.
  auto client = Client::open(options_.name).value();
  std::optional<View> view(client.view());  // takes slot 0
  const uint64_t slot0 = sizeof(shm::detail::ReaderSegmentHeader);
  const auto pinned = slot0 + offsetof(shm::detail::ReaderSlot, pinned);
  for (uint64_t round = 2; round < 12; ++round) {
    // Something that is not a reader keeps its pin just behind, creeping forward slowly.
    poke_value<uint64_t>(readers_path(), pinned, round / 4 + 1);
    resolver_.apply(*writer_, records(version_json("users", "1.0.0")).batch(round)).value();
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  writer_->reclaim();
  auto stats = writer_->stats();
  EXPECT_GE(stats.evicted_views, 1u) << "the creeping pin was never revoked";
  EXPECT_EQ(stats.dead_readers, 0u);  // it is alive: revoked, not released
}

TEST_F(HostileSegmentTest, AReplacedSegmentIsUnmappedOnceNoViewUsesIt) {
  auto client = Client::open(options_.name).value();
  std::optional<View> held(client.view());  // a View on the first segment
  for (int restart = 0; restart < 3; ++restart) {
    auto next = shm::ArenaWriter::create(options_).value();
    shm::BatchResolver next_resolver;  // what the server would send with each batch
    next_resolver.apply(*next, records(kRegistry).batch(10 + restart)).value();
    writer_ = std::move(next);
    resolver_ = std::move(next_resolver);
    View v = client.view();  // re-attaches
    EXPECT_EQ(v.revision(), static_cast<uint64_t>(10 + restart));
  }
  // The held View still reads its generation; the ones in between were dropped already.
  EXPECT_TRUE(held->service("users"));
  EXPECT_EQ(client.attachments(), 2u);
  held.reset();  // the last View on a replaced segment: it goes
  EXPECT_EQ(client.attachments(), 1u);
  // A thread of its own that never opens another View does not hold the current one back either.
  std::thread([&] { View v = client.view(); }).join();
  auto next = shm::ArenaWriter::create(options_).value();
  shm::BatchResolver next_resolver;  // what the server would send with each batch
  next_resolver.apply(*next, records(kRegistry).batch(20)).value();
  writer_ = std::move(next);
  resolver_ = std::move(next_resolver);
  { View v = client.view(); }
  EXPECT_EQ(client.attachments(), 1u);
}

}  // namespace
}  // namespace roster
