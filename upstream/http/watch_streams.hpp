// GET /v1/watch: the registry's changes as server-sent events (text/event-stream), one event per
// durable revision, from the agents' change feed:
//
//   id: 42
//   event: change
//   data: {"revision":42,"from":41,"changes":[{"kind":"instance","op":"put","service":"a",...}]}
//
// A stream starts after ?index=N (or the Last-Event-ID header, which a reconnecting EventSource
// sends and which wins): every revision after N, from memory or the store's log, then each new
// one. Without either it starts at the current revision with `event: start` (id: that revision).
// When N is no longer kept (or is another store's, or the catch-up would be too big) and when the
// registry is re-read, the stream says `event: reset` (id: the revision now): re-read everything,
// then follow on. Comments (": keepalive") keep idle proxies from cutting the stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "roster/net/event_loop.hpp"
#include "roster/net/http_deferred.hpp"
#include "roster/upstream/change_feed.hpp"
#include "roster/upstream/registry.hpp"

namespace roster::upstream {

struct WatchOptions {
  size_t max_streams = 1024;
  std::chrono::milliseconds keepalive{15'000};
  // A catch-up larger than this is replaced by a reset: re-reading is cheaper for both sides.
  size_t max_catch_up_bytes = 512 * 1024;
};

// The JSON of one Delta frame's event data: {"revision", "from", "changes": [...]}.
std::string change_json(const Frame& delta);

class WatchStreams {
 public:
  WatchStreams(net::EventLoop& loop, Registry& registry, WatchOptions options);
  ~WatchStreams();
  WatchStreams(const WatchStreams&) = delete;
  WatchStreams& operator=(const WatchStreams&) = delete;

  // The answer to GET /v1/watch: a stream, or 400 (a bad index or Last-Event-ID) or 503 (at
  // max_streams).
  net::HttpResponse open(const net::HttpRequest& request);
  size_t size() const { return streams_.size(); }

 private:
  void start(std::shared_ptr<net::HttpDeferred> stream, std::optional<uint64_t> after);
  // Sends `text` to every stream; those too far behind are dropped (the server cut them).
  void broadcast(const std::string& text);
  void keepalive();

  net::EventLoop& loop_;
  Registry& registry_;
  WatchOptions options_;
  std::map<uint64_t, std::shared_ptr<net::HttpDeferred>> streams_;
  uint64_t next_id_ = 1;
  net::EventLoop::TimerId keepalive_timer_ = 0;
  ChangeFeed::Subscription subscription_;
};

}  // namespace roster::upstream
