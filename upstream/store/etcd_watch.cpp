// The etcd store's watch: one stream on the prefix, from the revision after the last scan, whose
// events become the changes take_changes hands over and the renewal reports of other servers.
// It reconnects (to any member) from the revision after the last event it delivered; when etcd
// compacted that revision away it asks for a scan instead (take_changes says store_resync).
#include "etcd_connection.hpp"

namespace roster::upstream {

void EtcdStore::Impl::restart_watch(uint64_t from) {
  std::lock_guard lock(mu);
  pending.clear();  // the scan read all of it; the new stream repeats anything newer
  resync = false;
  watch_from = from;
  if (watch_context) watch_context->TryCancel();
  cv.notify_all();
}

void EtcdStore::Impl::run_watch() {
  std::unique_lock lock(mu);
  while (!stopping) {
    if (watch_from == 0) {  // before the first scan, or after a compaction until the next one
      cv.wait(lock);
      continue;
    }
    const uint64_t from = watch_from;
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    // A member cut off from the cluster's leader ends the stream rather than going quiet, so the
    // watch moves to a member that still hears every commit.
    ctx.AddMetadata("hasleader", "true");
    watch_context = &ctx;
    lock.unlock();

    auto connection = this->connection();  // kept alive while its stream runs
    auto stream = watch_prefix(*connection, ctx, from);
    uint64_t next = from;
    bool compacted = false;
    etcdserverpb::WatchResponse resp;
    while (stream && stream->Read(&resp)) {
      if (resp.compact_revision() > 0) {
        compacted = true;
        break;
      }
      if (resp.canceled()) break;
      if (resp.events_size() == 0) continue;
      std::vector<Change> changes;
      std::vector<std::vector<uint64_t>> new_reports;
      parse_events(resp.events(), changes, &new_reports);
      next = static_cast<uint64_t>(resp.events(resp.events_size() - 1).kv().mod_revision()) + 1;
      {
        std::lock_guard guard(mu);
        if (watch_from != from) break;  // a scan restarted the watch: these are stale
        for (auto& c : changes) {
          seen = std::max(seen, c.revision);
          raise_to(revision, c.revision);
          pending.push_back(std::move(c));
        }
        for (auto& r : new_reports) reports.push_back(std::move(r));
      }
      cv.notify_all();
      wake();
    }
    ctx.TryCancel();
    if (stream) (void)stream->Finish();

    lock.lock();
    watch_context = nullptr;
    if (watch_from == from) {  // not restarted by a scan meanwhile
      if (compacted) {
        watch_from = 0;
        resync = true;
        lock.unlock();
        cv.notify_all();
        wake();
        lock.lock();
        continue;
      }
      watch_from = next;
    }
    // Before reconnecting, a pause (a stop or a scan cuts it short).
    cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping || watch_from != next; });
  }
}

}  // namespace roster::upstream
