#include "roster/net/stop_on_signal.hpp"

#include <pthread.h>

namespace roster::net {

StopOnSignal::StopOnSignal(EventLoop& loop) {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals_, nullptr);  // inherited by threads started after this
  signal(SIGPIPE, SIG_IGN);
  waiter_ = std::thread([this, &loop] {
    int sig = 0;
    sigwait(&signals_, &sig);
    loop.stop();  // thread-safe
  });
}

StopOnSignal::~StopOnSignal() {
  // A signal aimed at the waiter ends its sigwait if nobody sent one.
  pthread_kill(waiter_.native_handle(), SIGTERM);
  waiter_.join();
}

}  // namespace roster::net
