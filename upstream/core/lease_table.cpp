#include "roster/upstream/lease_table.hpp"

#include <algorithm>

#include "roster/base/log.hpp"

namespace roster::upstream {

LeaseTable::LeaseTable(LeaseOptions options, int64_t now_ms) : options_(options), window_start_ms_(now_ms) {}

std::chrono::milliseconds LeaseTable::renew_every(std::chrono::milliseconds ttl) const {
  return std::max(std::chrono::milliseconds(1000), std::min(options_.renewal_interval, ttl / 3));
}

const Lease& LeaseTable::grant(const InstanceKey& key, int64_t now_ms, std::optional<std::chrono::milliseconds> ttl) {
  const auto lasts = ttl.value_or(options_.duration);
  return leases_[key] = Lease{now_ms + lasts.count(), lasts, renew_every(lasts)};
}

std::optional<Lease> LeaseTable::renew(const InstanceKey& key, int64_t now_ms) {
  auto it = leases_.find(key);
  if (it == leases_.end()) return std::nullopt;
  it->second.expires_at_ms = now_ms + it->second.ttl.count();
  ++renewals_;
  ++renewals_in_window_;
  return it->second;
}

void LeaseTable::release(const InstanceKey& key) { leases_.erase(key); }

std::optional<Lease> LeaseTable::find(const InstanceKey& key) const {
  auto it = leases_.find(key);
  if (it == leases_.end()) return std::nullopt;
  return it->second;
}

std::vector<InstanceKey> LeaseTable::expired(int64_t now_ms) {
  const auto window = options_.renewal_window.count();
  if (now_ms - window_start_ms_ >= window) {
    // A window closed: compare its renewals with what the leases at its start should have sent,
    // each at its own period.
    renewals_last_window_ = renewals_in_window_;
    expected_last_window_ = expected_in_window_;
    have_full_window_ = leases_at_window_start_ > 0;
    const size_t leases_last_window = leases_at_window_start_;
    renewals_in_window_ = 0;
    leases_at_window_start_ = leases_.size();
    expected_in_window_ = 0;
    for (auto& [key, lease] : leases_)
      expected_in_window_ += static_cast<double>(window) / std::max<int64_t>(1, lease.renew_every.count());
    window_start_ms_ = now_ms;
    const bool deficit = options_.self_preservation && have_full_window_ &&
                         leases_last_window >= options_.self_preservation_min_leases &&
                         static_cast<double>(renewals_last_window_) <
                             options_.self_preservation_threshold * expected_last_window_;
    if (!deficit)
      deficit_since_ms_ = 0;
    else if (deficit_since_ms_ == 0)
      deficit_since_ms_ = now_ms;
  }
  const bool held_too_long = deficit_since_ms_ != 0 && now_ms - deficit_since_ms_ > options_.self_preservation_max_hold.count();
  const bool preserving = deficit_since_ms_ != 0 && !held_too_long;
  if (preserving != self_preserving_)
    log::warn("self-preservation {}: {} renewals in the last window, {:.0f} expected{}", preserving ? "ON" : "off",
              renewals_last_window_, expected_last_window_,
              preserving ? "; instances are not expired until renewals recover"
              : held_too_long ? "; held longer than --self-preservation-max-hold: expiring leases again"
                              : "");
  self_preserving_ = preserving;
  std::vector<InstanceKey> out;
  if (preserving) return out;
  for (auto& [key, lease] : leases_)
    if (lease.expires_at_ms <= now_ms) out.push_back(key);
  return out;
}

}  // namespace roster::upstream
