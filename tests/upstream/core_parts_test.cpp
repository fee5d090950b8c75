// The domain core's parts on their own: typed record keys, the lease table and the change feed.
#include <gtest/gtest.h>

#include "roster/upstream/change_feed.hpp"
#include "roster/upstream/lease_table.hpp"
#include "roster/upstream/record_keys.hpp"

namespace roster::upstream {
namespace {

using namespace std::chrono_literals;

TEST(RecordKeys, EncodeAndDecodeEachKind) {
  const VersionKey v{"user", "1.2.3"};
  EXPECT_EQ(store_key(v), std::string("user\0" "1.2.3", 10));
  EXPECT_EQ(version_key(store_key(v)).value(), v);
  const InstanceKey i{"user", "1.2.3", "i-1"};
  EXPECT_EQ(store_key(i), std::string("user\0" "1.2.3\0" "i-1", 14));
  EXPECT_EQ(instance_key(store_key(i)).value(), i);
  const ContractKey c{"web", "2.0.0", "user"};
  EXPECT_EQ(contract_key(store_key(c)).value(), c);
  // A key of the wrong shape is corrupt data, not a crash.
  auto bad = instance_key(store_key(v));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::Corrupt);
  // Typed keys order as the store orders the encoded ones (name, then version).
  EXPECT_LT((VersionKey{"a", "9"}), (VersionKey{"ab", "1"}));
  EXPECT_LT(store_key(VersionKey{"a", "9"}), store_key(VersionKey{"ab", "1"}));
}

TEST(LeaseTable, EachLeaseRenewsByItsOwnTtl) {
  LeaseTable leases({.duration = 90s, .renewal_interval = 30s}, 0);
  const InstanceKey a{"s", "1.0.0", "a"}, b{"s", "1.0.0", "b"};
  EXPECT_EQ(leases.grant(a, 1000).expires_at_ms, 91'000);
  EXPECT_EQ(leases.grant(b, 1000, 6s).expires_at_ms, 7'000);
  EXPECT_EQ(leases.find(b)->renew_every, 2s);  // a third of a short lease
  EXPECT_EQ(leases.find(a)->renew_every, 30s);
  EXPECT_EQ(leases.renew(b, 5000)->expires_at_ms, 11'000);
  EXPECT_EQ(leases.expired(10'000), std::vector<InstanceKey>{});
  EXPECT_EQ(leases.expired(11'000), std::vector<InstanceKey>{b});
  leases.release(b);
  EXPECT_FALSE(leases.renew(b, 12'000));
  EXPECT_EQ(leases.renewals(), 1u);
}

TEST(ChangeFeed, ResumesFromTheRingAndCallsEverySubscriber) {
  ChangeFeed feed(3);
  auto frame = [](uint8_t tag) { return wire::make_frame(wire::FrameType::Keepalive, std::vector<uint8_t>(8, tag)); };
  std::vector<uint64_t> first, second;
  auto a = feed.subscribe([&](const wire::EncodedFrame&, uint64_t r) { first.push_back(r); });
  {
    auto b = feed.subscribe([&](const wire::EncodedFrame&, uint64_t r) { second.push_back(r); });
    for (uint64_t r = 1; r <= 2; ++r) feed.publish(r - 1, r, frame(static_cast<uint8_t>(r)));
  }  // b unsubscribed
  for (uint64_t r = 3; r <= 5; ++r) feed.publish(r - 1, r, frame(static_cast<uint8_t>(r)));
  EXPECT_EQ(first, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(second, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(feed.since(2)->size(), 3u);  // 3, 4, 5
  EXPECT_EQ(feed.since(5)->size(), 0u);
  EXPECT_FALSE(feed.since(1));  // 2 fell out of the ring

  // Revisions with gaps (a shared store's): frames chain on the revision each one follows.
  ChangeFeed gaps(4);
  gaps.publish(0, 10, frame(10));
  gaps.publish(10, 14, frame(14));
  gaps.publish(14, 15, frame(15));
  EXPECT_EQ(gaps.since(10)->size(), 2u);
  EXPECT_EQ(gaps.since(0)->size(), 3u);
  EXPECT_EQ(gaps.since(15)->size(), 0u);
  EXPECT_FALSE(gaps.since(12));  // not a revision the registry had: a snapshot

  // A listener may unsubscribe itself while it is being called.
  ChangeFeed::Subscription self;
  int calls = 0;
  self = feed.subscribe([&](const wire::EncodedFrame&, uint64_t) {
    ++calls;
    self.unsubscribe();
  });
  feed.publish(5, 6, frame(6));
  feed.publish(6, 7, frame(7));
  EXPECT_EQ(calls, 1);
}

TEST(ChangeFeed, ASubscriptionMayOutliveItsFeed) {
  ChangeFeed::Subscription s;
  {
    ChangeFeed feed(1);
    s = feed.subscribe([](const wire::EncodedFrame&, uint64_t) {});
  }
  s.unsubscribe();  // no-op, no crash
}

}  // namespace
}  // namespace roster::upstream
