// The registry's change feed: every committed revision as one encoded Delta frame (shared by every
// agent connection), the newest ones kept in a ring so resuming agents catch up from memory, and
// any number of subscribers told of each new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "roster/wire/frame.hpp"

namespace roster::upstream {

class ChangeFeed {
 public:
  // Called with each frame published, or with a null frame after reset().
  using Listener = std::function<void(const wire::EncodedFrame& frame, uint64_t revision)>;

  // Unsubscribes when destroyed; safe to destroy before or after the feed, and from a listener.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(Subscription&&) noexcept = default;
    Subscription& operator=(Subscription&&) noexcept;
    ~Subscription();
    void unsubscribe();

   private:
    friend class ChangeFeed;
    struct Listeners;
    Subscription(std::weak_ptr<Listeners> listeners, uint64_t id) : listeners_(std::move(listeners)), id_(id) {}
    std::weak_ptr<Listeners> listeners_;
    uint64_t id_ = 0;
  };

  // Keeps the newest `capacity` frames.
  explicit ChangeFeed(size_t capacity);

  using Time = std::chrono::steady_clock::time_point;
  // Appends the frame that takes the registry from revision `from` to `revision` (revisions only
  // grow, with gaps where the store's do) and calls every subscriber. `written`: when the write
  // was applied on this server (a group-committed one waits for its fsync before publishing).
  void publish(uint64_t from, uint64_t revision, wire::EncodedFrame frame, Time written = std::chrono::steady_clock::now());
  // When the newest frame's write was applied (what a subscriber measures fan-out lag from).
  Time newest_written() const { return newest_written_; }
  [[nodiscard]] Subscription subscribe(Listener listener);

  // The frames from `revision` up to the newest, when the ring still holds the one that follows
  // `revision` (or `revision` is the newest); nullopt otherwise.
  std::optional<std::vector<wire::EncodedFrame>> since(uint64_t revision) const;
  // The registry was re-read (its store lost track, or a commit failed): forgets every frame and
  // tells every subscriber with a null frame (revision 0), so agents resume afresh.
  void reset();

 private:
  size_t capacity_;
  struct Entry {
    uint64_t from, revision;
    wire::EncodedFrame frame;
  };
  void tell(const wire::EncodedFrame& frame, uint64_t revision);
  std::deque<Entry> ring_;  // oldest first
  Time newest_written_{};
  std::shared_ptr<Subscription::Listeners> listeners_;
};

}  // namespace roster::upstream
