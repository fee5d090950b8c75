// Clean shutdown for roster's daemons: SIGTERM and SIGINT stop the event loop (a dedicated
// thread waits for them; every other thread has them blocked), and SIGPIPE is ignored (a closed
// peer is an -EPIPE, not a death). Construct it in main() before starting any other thread.
#pragma once

#include <signal.h>

#include <thread>

#include "roster/net/event_loop.hpp"

namespace roster::net {

class StopOnSignal {
 public:
  explicit StopOnSignal(EventLoop& loop);
  ~StopOnSignal();  // also ends the waiting thread when the loop stopped for another reason
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  sigset_t signals_;
  std::thread waiter_;
};

}  // namespace roster::net
