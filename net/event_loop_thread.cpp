#include "roster/net/event_loop_thread.hpp"

#include <pthread.h>

#include <exception>

#include "roster/base/log.hpp"

namespace roster::net {

EventLoopThread::EventLoopThread(std::string name, unsigned entries) : loop_(entries) {
  thread_ = std::thread([this, name = std::move(name)] {
    ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
    try {
      loop_.run();
    } catch (const std::exception& e) {
      // A callback threw: a bug (EventLoop's contract). The connections this loop owns cannot be
      // served any more and nothing would notice a dead thread: fail loudly.
      log::error("event loop thread: {}", e.what());
      std::terminate();
    }
  });
}

EventLoopThread::~EventLoopThread() { finish(); }

void EventLoopThread::finish(std::function<void()> last) {
  if (!thread_.joinable()) return;
  // stop() from inside a posted task: everything posted before it runs first (post order).
  loop_.post([this, last = std::move(last)] {
    if (last) last();
    loop_.stop();
  });
  thread_.join();
}

}  // namespace roster::net
