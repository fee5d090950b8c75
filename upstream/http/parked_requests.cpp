#include "parked_requests.hpp"

#include <vector>

namespace roster::upstream {

ParkedRequests::ParkedRequests(net::EventLoop& loop, Registry& registry, Answer answer)
    : loop_(loop), answer_(std::move(answer)) {
  subscription_ = registry.feed().subscribe(
      [this](const Frame& frame, uint64_t revision) { on_published(frame == nullptr, revision); });
}

ParkedRequests::~ParkedRequests() {
  for (auto& [id, p] : parked_) {
    loop_.cancel_timer(p.timer);
    p.handle->on_gone(nullptr);
  }
}

void ParkedRequests::park(net::HttpRequest request, uint64_t index, std::chrono::milliseconds wait,
                          std::shared_ptr<net::HttpDeferred> handle) {
  const uint64_t id = next_id_++;
  handle->on_gone([this, id] {
    if (auto it = parked_.find(id); it != parked_.end()) {
      loop_.cancel_timer(it->second.timer);
      parked_.erase(it);
    }
  });
  const auto timer = loop_.after(wait, [this, id] { wake(id); });
  parked_.emplace(id, Parked{std::move(request), index, std::move(handle), timer});
}

void ParkedRequests::wake(uint64_t id) {
  auto it = parked_.find(id);
  if (it == parked_.end()) return;
  Parked p = std::move(it->second);
  parked_.erase(it);
  loop_.cancel_timer(p.timer);  // false when this is the timer running
  p.handle->on_gone(nullptr);
  p.handle->complete(answer_(p.request));
}

void ParkedRequests::on_published(bool reset, uint64_t revision) {
  std::vector<uint64_t> due;
  for (auto& [id, p] : parked_)
    if (reset || p.index < revision) due.push_back(id);
  for (uint64_t id : due) wake(id);
}

}  // namespace roster::upstream
