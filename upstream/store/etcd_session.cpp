// The etcd store's session: one etcd lease per server, kept alive once a second, behind
//  - the election: the server whose id the leader key holds runs the registry's timers; the key
//    goes with the lease, so a server that dies hands leadership on within the lease's TTL;
//  - the renewal reports: the instances that renewed here, put once per report interval under
//    renewals/<server id> (one write per server per interval, however many instances renew).
// A server believes it leads only until its lease would run out counted from the last
// keepalive it sent, minus a margin, so it stops acting before anyone else can win.
#include <algorithm>
#include <cstring>

#include "etcd_connection.hpp"
#include "roster/base/log.hpp"

namespace roster::upstream {

namespace {

constexpr std::chrono::milliseconds kCallTimeout{1000};
constexpr size_t kReportChunk = 128 * 1024;  // 1 MiB of hashes

void deadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  ctx.set_wait_for_ready(true);  // a member that is coming back gets the whole timeout to answer
}

}  // namespace

bool EtcdStore::Impl::session_step() {
  const int64_t sent_at = wall_ms();
  const int64_t ttl_ms = std::chrono::milliseconds(options.session_ttl).count();
  if (lease_id.load(std::memory_order_relaxed) == 0) {
    grpc::ClientContext ctx;
    deadline(ctx);
    etcdserverpb::LeaseGrantRequest req;
    req.set_ttl(options.session_ttl.count());
    etcdserverpb::LeaseGrantResponse resp;
    if (auto status = connection()->lease->LeaseGrant(&ctx, req, &resp); !status.ok() || !resp.error().empty()) {
      last_session_error = "granting a lease: " + (status.ok() ? resp.error() : status.error_message());
      return false;
    }
    lease_id.store(resp.id(), std::memory_order_relaxed);
  } else {
    grpc::ClientContext ctx;
    deadline(ctx);
    auto connection = this->connection();
    auto stream = connection->lease->LeaseKeepAlive(&ctx);
    etcdserverpb::LeaseKeepAliveRequest req;
    req.set_id(lease_id.load(std::memory_order_relaxed));
    etcdserverpb::LeaseKeepAliveResponse resp;
    const bool answered = stream->Write(req) && stream->WritesDone() && stream->Read(&resp);
    auto status = stream->Finish();
    if (!answered) {
      last_session_error = "keeping the lease alive: " + status.error_message();
      return false;
    }
    if (resp.ttl() <= 0) {  // the lease ran out (we were away too long): start a new session
      lease_id.store(0, std::memory_order_relaxed);
      leader_until_ms.store(0, std::memory_order_relaxed);
      log::warn("etcd session lease expired; leadership (if held) is lost");
      return session_step();
    }
  }
  const int64_t id = lease_id.load(std::memory_order_relaxed);

  // The election: take the leader key if nobody holds it, else see whether we do.
  etcdserverpb::TxnRequest txn;
  auto* cmp = txn.add_compare();
  cmp->set_key(leader_key());
  cmp->set_target(etcdserverpb::Compare::CREATE);
  cmp->set_result(etcdserverpb::Compare::EQUAL);
  cmp->set_create_revision(0);
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(leader_key());
  put->set_value(server_id);
  put->set_lease(id);
  txn.add_failure()->mutable_request_range()->set_key(leader_key());
  grpc::ClientContext ctx;
  deadline(ctx);
  etcdserverpb::TxnResponse resp;
  if (auto status = connection()->kv->Txn(&ctx, txn, &resp); !status.ok()) {
    last_session_error = "campaigning: " + status.error_message();
    return false;
  }
  bool leader = resp.succeeded();
  if (!leader && resp.responses_size() > 0 && resp.responses(0).response_range().kvs_size() > 0) {
    const auto& holder = resp.responses(0).response_range().kvs(0);
    leader = holder.value() == server_id && holder.lease() == id;
  }
  const bool was = leader_until_ms.load(std::memory_order_relaxed) > wall_ms();
  if (leader) compact_history(sent_at, resp.header().revision());
  // The lease lasts ttl from when the keepalive was sent; stop believing a second before that.
  leader_until_ms.store(leader ? sent_at + ttl_ms - 1000 : 0, std::memory_order_relaxed);
  if (leader != was) log::info("etcd election: this server ({}) {} the leader", server_id, leader ? "is now" : "is no longer");

  // The renewals since the last report (each instance once), as puts on the session lease of
  // at most kReportChunk hashes each, well under etcd's default 1.5 MiB request limit.
  std::vector<uint64_t> batch;
  {
    std::lock_guard lock(mu);
    batch.swap(unreported);
  }
  std::sort(batch.begin(), batch.end());
  batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
  for (size_t at = 0; at < batch.size(); at += kReportChunk) {
    const size_t count = std::min(kReportChunk, batch.size() - at);
    grpc::ClientContext put_ctx;
    deadline(put_ctx);
    etcdserverpb::PutRequest req;
    req.set_key(renewals_prefix() + server_id);
    req.set_value(std::string(reinterpret_cast<const char*>(batch.data() + at), count * sizeof(uint64_t)));
    req.set_lease(id);
    etcdserverpb::PutResponse put_resp;
    if (auto status = connection()->kv->Put(&put_ctx, req, &put_resp); !status.ok()) {
      last_session_error = "reporting renewals: " + status.error_message();
      std::lock_guard lock(mu);
      unreported.insert(unreported.end(), batch.begin() + at, batch.end());  // next time
      return false;
    }
  }
  return true;
}

// etcd keeps every old value until compacted, and each renewal report overwrites its key once a
// second: without compaction etcd's database grows by the reports' size every second until it
// hits its quota and refuses every write. The leader compacts away history older than
// options.keep_history (agents further behind get a snapshot).
void EtcdStore::Impl::compact_history(int64_t now_ms, int64_t revision) {
  if (options.keep_history.count() == 0) return;
  if (history.empty() || history.back().second < revision) history.emplace_back(now_ms, revision);
  const int64_t keep_ms = std::chrono::milliseconds(options.keep_history).count();
  int64_t compact_to = 0;
  while (!history.empty() && history.front().first <= now_ms - keep_ms) {
    compact_to = history.front().second;
    history.pop_front();
  }
  if (compact_to <= compacted_to) return;
  grpc::ClientContext ctx;
  deadline(ctx);
  etcdserverpb::CompactionRequest req;
  req.set_revision(compact_to);
  etcdserverpb::CompactionResponse resp;
  if (auto status = connection()->kv->Compact(&ctx, req, &resp); status.ok() || status.error_message().find("compacted") != std::string::npos)
    compacted_to = compact_to;
  else
    log::warn("etcd: compacting history up to revision {} failed: {}", compact_to, status.error_message());
}

void EtcdStore::Impl::run_session() {
  int failures = 0;
  std::unique_lock lock(mu);
  while (!stopping) {
    lock.unlock();
    failures = session_step() ? 0 : failures + 1;
    if (failures == 2)
      log::warn("etcd at {} is not answering (no quorum?): writes fail until it does ({}); trying the members in turn",
                endpoints_text, last_session_error);
    // No answer twice in a row: try the next member first (the one we prefer may hang), and
    // after four a new lease (the old one may be gone).
    if (failures >= 2) fail_over();
    if (failures > 0 && failures % 4 == 0) lease_id.store(0, std::memory_order_relaxed);
    if (failures == 0 && !reachable.load(std::memory_order_relaxed)) log::info("etcd at {} answers again", endpoints_text);
    reachable.store(failures < 2, std::memory_order_relaxed);
    if (failures > 0) leader_until_ms.store(0, std::memory_order_relaxed);  // unsure: stop acting now
    lock.lock();
    cv.wait_for(lock, options.report_interval, [&] { return stopping; });
  }
}

void EtcdStore::Impl::resign() {
  const int64_t id = lease_id.exchange(0, std::memory_order_relaxed);
  leader_until_ms.store(0, std::memory_order_relaxed);
  if (id == 0) return;
  // Revoking the lease deletes the leader key and our report at once: another server takes over
  // now rather than after the TTL.
  grpc::ClientContext ctx;
  deadline(ctx);
  etcdserverpb::LeaseRevokeRequest req;
  req.set_id(id);
  etcdserverpb::LeaseRevokeResponse resp;
  (void)connection()->lease->LeaseRevoke(&ctx, req, &resp);
}

bool EtcdStore::leads() const { return impl_->leader_until_ms.load(std::memory_order_relaxed) > wall_ms(); }

void EtcdStore::report_renewals(std::vector<uint64_t> instance_hashes) {
  std::lock_guard lock(impl_->mu);
  auto& out = impl_->unreported;
  out.insert(out.end(), instance_hashes.begin(), instance_hashes.end());
}

std::vector<std::vector<uint64_t>> EtcdStore::take_renewal_reports() {
  std::lock_guard lock(impl_->mu);
  return std::exchange(impl_->reports, {});
}

}  // namespace roster::upstream
