// What servers that share one store tell each other besides registry records: who runs the
// registry's timers (lease expiry, scheduled lifecycle moves), and which instances renewed where.
// A store only one server holds (SQLite) has no Cluster: that server leads and hears every renewal.
#pragma once

#include <cstdint>
#include <vector>

namespace roster::upstream {

class Cluster {
 public:
  virtual ~Cluster() = default;

  // True while this server holds the election: only then does it expire leases and make
  // scheduled lifecycle moves. Two servers may both believe it for an instant around a handover;
  // the registry's conditional commits keep their writes from both landing.
  virtual bool leads() const = 0;

  // Hands over the instances (hashes of their store keys) that renewed here since the last call;
  // they reach every other server within about a second, as one small write per server.
  virtual void report_renewals(std::vector<uint64_t> instance_hashes) = 0;

  // The renewal batches other servers reported since the last call.
  virtual std::vector<std::vector<uint64_t>> take_renewal_reports() = 0;
};

}  // namespace roster::upstream
