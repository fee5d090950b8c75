// Instance leases, the one source of lease truth (as in Eureka): an instance lives while it
// renews; a lease that runs out removes it, unless self-preservation holds. Renewals are not
// writes: they live in memory only, and after a server restart every instance gets a full lease.
//
// Self-preservation: when far fewer renewals arrive in a window than the leases at its start
// should have sent (each at its own renewal period), the network is more likely at fault than
// the instances, so nothing expires until renewals recover. It never engages on a registry of
// fewer than `self_preservation_min_leases` leases (where one dead instance is a large share), and
// it lets go after `self_preservation_max_hold` (a partition that long is treated as a loss: the
// leases that ran out expire, and the next windows count only the leases left).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "roster/upstream/record_keys.hpp"

namespace roster::upstream {

struct LeaseOptions {
  std::chrono::milliseconds duration{90'000};          // a lease granted without a ttl of its own
  std::chrono::milliseconds renewal_interval{30'000};  // how often instances are told to renew
  bool self_preservation = true;
  double self_preservation_threshold = 0.85;  // renewals below this share of expected: stop expiring
  std::chrono::milliseconds renewal_window{60'000};
  size_t self_preservation_min_leases = 10;
  std::chrono::milliseconds self_preservation_max_hold{15 * 60'000};
};

struct Lease {
  int64_t expires_at_ms = 0;          // Unix ms
  std::chrono::milliseconds ttl{0};   // what each renewal extends it by
  // How often its instance should renew: the server's interval, or more often when the lease is
  // short (three tries before it runs out).
  std::chrono::milliseconds renew_every{0};
};

class LeaseTable {
 public:
  LeaseTable(LeaseOptions options, int64_t now_ms);

  // A fresh lease from now: `ttl`, or the default duration.
  const Lease& grant(const InstanceKey& key, int64_t now_ms, std::optional<std::chrono::milliseconds> ttl = {});
  // Extends the lease by its own ttl; nullopt when there is none (the instance must register).
  std::optional<Lease> renew(const InstanceKey& key, int64_t now_ms);
  void release(const InstanceKey& key);
  std::optional<Lease> find(const InstanceKey& key) const;

  // The instances whose leases ran out by now, unless self-preservation holds (then none).
  // Closes the renewal window when it is due, so call it periodically.
  std::vector<InstanceKey> expired(int64_t now_ms);

  bool self_preserving() const { return self_preserving_; }
  uint64_t renewals() const { return renewals_; }
  size_t size() const { return leases_.size(); }
  const LeaseOptions& options() const { return options_; }

 private:
  std::chrono::milliseconds renew_every(std::chrono::milliseconds ttl) const;

  LeaseOptions options_;
  std::map<InstanceKey, Lease> leases_;
  uint64_t renewals_ = 0;
  // The renewal window for self-preservation.
  int64_t window_start_ms_;
  uint64_t renewals_in_window_ = 0, renewals_last_window_ = 0;
  size_t leases_at_window_start_ = 0;
  double expected_in_window_ = 0, expected_last_window_ = 0;  // renewals the leases should send
  bool have_full_window_ = false, self_preserving_ = false;
  int64_t deficit_since_ms_ = 0;  // when renewals first fell short (0: they did not)
};

}  // namespace roster::upstream
