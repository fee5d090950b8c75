#include "roster/upstream/change_feed.hpp"

#include <algorithm>

namespace roster::upstream {

struct ChangeFeed::Subscription::Listeners {
  std::map<uint64_t, Listener> by_id;
  uint64_t next_id = 1;
};

ChangeFeed::Subscription& ChangeFeed::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    listeners_ = std::move(other.listeners_);
    id_ = other.id_;
    other.listeners_.reset();
  }
  return *this;
}

ChangeFeed::Subscription::~Subscription() { unsubscribe(); }

void ChangeFeed::Subscription::unsubscribe() {
  if (auto listeners = listeners_.lock()) listeners->by_id.erase(id_);
  listeners_.reset();
}

ChangeFeed::ChangeFeed(size_t capacity)
    : capacity_(capacity), listeners_(std::make_shared<Subscription::Listeners>()) {}

void ChangeFeed::publish(uint64_t from, uint64_t revision, wire::EncodedFrame frame, Time written) {
  newest_written_ = written;
  if (capacity_ > 0) {
    ring_.push_back({from, revision, frame});
    while (ring_.size() > capacity_) ring_.pop_front();
  }
  tell(frame, revision);
}

void ChangeFeed::reset() {
  ring_.clear();
  tell(nullptr, 0);
}

void ChangeFeed::tell(const wire::EncodedFrame& frame, uint64_t revision) {
  // By id, looked up afresh: a listener may unsubscribe itself or others while being called.
  std::vector<uint64_t> ids;
  for (auto& [id, listener] : listeners_->by_id) ids.push_back(id);
  for (uint64_t id : ids)
    if (auto it = listeners_->by_id.find(id); it != listeners_->by_id.end()) it->second(frame, revision);
}

ChangeFeed::Subscription ChangeFeed::subscribe(Listener listener) {
  const uint64_t id = listeners_->next_id++;
  listeners_->by_id.emplace(id, std::move(listener));
  return Subscription(listeners_, id);
}

std::optional<std::vector<wire::EncodedFrame>> ChangeFeed::since(uint64_t revision) const {
  std::vector<wire::EncodedFrame> out;
  if (!ring_.empty() && ring_.back().revision == revision) return out;
  // The frame that follows `revision` exactly, and every one after it.
  auto first = std::find_if(ring_.begin(), ring_.end(), [&](const Entry& e) { return e.from == revision; });
  if (first == ring_.end()) return std::nullopt;
  for (auto it = first; it != ring_.end(); ++it) out.push_back(it->frame);
  return out;
}

}  // namespace roster::upstream
