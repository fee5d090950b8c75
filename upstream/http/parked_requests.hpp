// Blocking queries parked until the registry passes their index or their wait ends; each is then
// answered afresh (its route run again), so the body is that of the revision it reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>

#include "roster/net/event_loop.hpp"
#include "roster/net/http_deferred.hpp"
#include "roster/upstream/change_feed.hpp"
#include "roster/upstream/registry.hpp"

namespace roster::upstream {

class ParkedRequests {
 public:
  using Answer = std::function<net::HttpResponse(const net::HttpRequest&)>;
  // Wakes parked requests as the feed publishes revisions: once they are durable (and on a
  // reset, which re-reads the registry, whatever the revision then).
  ParkedRequests(net::EventLoop& loop, Registry& registry, Answer answer);
  ~ParkedRequests();
  ParkedRequests(const ParkedRequests&) = delete;
  ParkedRequests& operator=(const ParkedRequests&) = delete;

  // Answers `request` through `handle` once a revision after `index` is published, or after
  // `wait`. The handle's on_gone frees the slot when the client leaves first.
  void park(net::HttpRequest request, uint64_t index, std::chrono::milliseconds wait,
            std::shared_ptr<net::HttpDeferred> handle);
  size_t size() const { return parked_.size(); }

 private:
  struct Parked {
    net::HttpRequest request;
    uint64_t index;
    std::shared_ptr<net::HttpDeferred> handle;
    net::EventLoop::TimerId timer;
  };
  void wake(uint64_t id);
  void on_published(bool reset, uint64_t revision);

  net::EventLoop& loop_;
  Answer answer_;
  std::map<uint64_t, Parked> parked_;
  uint64_t next_id_ = 1;
  ChangeFeed::Subscription subscription_;
};

}  // namespace roster::upstream
