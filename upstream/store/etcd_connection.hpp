// What the parts of the etcd store share: the gRPC stubs, the key layout, and the state the
// watch and session threads hand to the server's thread. Private to upstream/store.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "roster/upstream/etcd_store.hpp"

namespace roster::upstream {

// The first key after every key that starts with `prefix` (etcd's range_end for a prefix).
std::string prefix_end(std::string prefix);

// Milliseconds on the wall clock (what lease and leadership deadlines are kept in).
int64_t wall_ms();

// Raises `value` to `to` unless it is already there (revisions only grow).
inline void raise_to(std::atomic<uint64_t>& value, uint64_t to) {
  uint64_t now = value.load(std::memory_order_relaxed);
  while (now < to && !value.compare_exchange_weak(now, to, std::memory_order_relaxed)) {
  }
}

// A gRPC failure as a store Error naming the endpoints and what was being done.
Error etcd_error(const grpc::Status& status, const std::string& endpoints, const std::string& doing);

struct EtcdStore::Impl {
  EtcdOptions options;
  std::string endpoints_text;  // "h:p,h:p", for messages
  std::string server_id;       // random, made at open
  std::string identity;

  // One gRPC channel to the members, in an order that starts with the one it prefers. gRPC's
  // pick_first stays on a member that hangs without closing its connections (a stopped process,
  // a one-way partition), so when the session stops getting answers the store fails over: a new
  // channel that prefers the next member (fail_over), and the watch restarts on it.
  struct Connection {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<etcdserverpb::KV::Stub> kv;
    std::unique_ptr<etcdserverpb::Watch::Stub> watch;
    std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  };
  std::vector<std::string> addresses;  // resolved "a.b.c.d:port", in the order given
  std::shared_ptr<Connection> connection() const {
    std::lock_guard lock(connection_mu);
    return current;
  }
  // A watch stream on the whole prefix from revision `from`, on `connection` (which the caller
  // keeps alive while the stream runs); nullptr when the request could not be sent.
  using WatchStream = grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>;
  std::unique_ptr<WatchStream> watch_prefix(Connection& connection, grpc::ClientContext& ctx, uint64_t from) const;
  // Connects preferring addresses[first]; callers holding the old connection finish on it.
  void connect(size_t first);
  void fail_over();
  mutable std::mutex connection_mu;
  std::shared_ptr<Connection> current;  // guarded by connection_mu
  size_t preferred = 0;                 // guarded by connection_mu

  std::string rev_key() const { return options.prefix + "rev"; }
  std::string records_prefix() const { return options.prefix + "r/"; }
  std::string record_key(RecordKind kind, const std::string& key) const {
    return records_prefix() + static_cast<char>('0' + static_cast<int>(kind)) + "/" + key;
  }
  std::string leader_key() const { return options.prefix + "leader"; }
  std::string renewals_prefix() const { return options.prefix + "renewals/"; }

  // Parses watch events (in revision order) into registry changes and other servers' renewal
  // reports; keys it does not know are left out. Bytes in etcd are not trusted: a malformed key
  // or report is skipped (the registry verifies record bytes).
  void parse_events(const google::protobuf::RepeatedPtrField<mvccpb::Event>& events, std::vector<Change>& changes,
                    std::vector<std::vector<uint64_t>>* reports) const;

  // The newest registry revision known here (committed here, seen by the watch, or reported by
  // a lost commit_at race). Only grows; relaxed is enough, nothing is published through it.
  std::atomic<uint64_t> revision{0};

  // --- the watch (etcd_watch.cpp) and what it hands over ---
  std::mutex mu;
  std::condition_variable cv;                   // pending, seen, resync, watch_from or stopping moved
  std::vector<Change> pending;                  // guarded by mu
  std::vector<std::vector<uint64_t>> reports;   // guarded by mu
  uint64_t seen = 0;                            // guarded by mu: newest revision in pending or scanned
  bool resync = false;                          // guarded by mu: the watch lost history; scan again
  uint64_t watch_from = 0;                      // guarded by mu: where the next stream starts (0: after a scan)
  grpc::ClientContext* watch_context = nullptr;  // guarded by mu: the live stream's, to cancel it
  // Held while notify runs, so that once on_changes(nullptr) returns it runs no more.
  std::mutex notify_mu;
  std::function<void()> notify;  // guarded by notify_mu
  void wake() {
    std::lock_guard lock(notify_mu);
    if (notify) notify();
  }
  bool stopping = false;                        // guarded by mu
  std::thread watch_thread;
  void run_watch();
  // Restarts the watch from `from` (a scan read everything before it).
  void restart_watch(uint64_t from);

  // --- the session (etcd_session.cpp): lease, election, renewal reports ---
  std::vector<uint64_t> unreported;  // guarded by mu
  // Written by the session thread only; read by the server's. Relaxed: each is one self-contained
  // value (a deadline or a flag) that nothing else is published through.
  std::atomic<int64_t> lease_id{0};
  std::atomic<int64_t> leader_until_ms{0};
  std::atomic<bool> reachable{true};  // false after two session steps in a row got no answer
  std::string last_session_error;  // the session thread's own, for its log lines
  // The session thread's own: (when, etcd revision) seen by each step while leading, and how
  // far it compacted.
  std::deque<std::pair<int64_t, int64_t>> history;
  int64_t compacted_to = 0;
  void compact_history(int64_t now_ms, int64_t revision);
  std::thread session_thread;
  void run_session();
  bool session_step();
  void resign();

  void stop();  // ends both threads
};

}  // namespace roster::upstream
