// An EventLoop running on a thread of its own, for work spread over several io_urings (the agent
// streams' sender threads). EventLoop's rules hold for loop(): from other threads, post() only.
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "roster/net/event_loop.hpp"

namespace roster::net {

class EventLoopThread {
 public:
  // `name`: the thread's name in top, perf and /proc (15 characters at most are kept).
  explicit EventLoopThread(std::string name, unsigned entries = 1024);
  ~EventLoopThread();  // finish() if not done yet
  EventLoopThread(const EventLoopThread&) = delete;
  EventLoopThread& operator=(const EventLoopThread&) = delete;

  EventLoop& loop() { return loop_; }
  // Runs `last` on the loop thread after what was posted before, stops the loop and waits for the
  // thread to end. Callbacks of operations still pending never run; the loop's destructor cancels
  // them. Call from another thread, once.
  void finish(std::function<void()> last = {});

 private:
  EventLoop loop_;
  std::thread thread_;
};

}  // namespace roster::net
