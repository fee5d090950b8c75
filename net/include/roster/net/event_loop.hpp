// A single-threaded io_uring event loop: sockets, timers and cross-thread wake-ups.
//
// Threading: everything except post() and stop() must be called on the loop thread (the thread
// inside run()), or before run() starts / after it returns. Callbacks always run on the loop
// thread, never from inside the call that registered them, and must not throw (an exception
// leaves run() with the loop still consistent, but that is a bug to fix, not a control path).
//
// Every operation completes exactly once: its callback gets the result or a negative errno.
// close(fd) cancels what is pending on fd; those callbacks then get -ECANCELED, even when the
// kernel had already finished the operation (its result is dropped: the fd is gone).
// That result is io_uring's own convention (bytes or a negative errno), kept at this lowest layer
// only: every callback above the loop turns a negative result (bar the -ECANCELED its own close()
// asked for) into an Error or a log line at once, and never hands the raw number on.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace roster::net {

class EventLoop {
 public:
  using TimerId = uint64_t;
  // fd >= 0: a new connection (close-on-exec, non-blocking), owned by the callee. fd < 0: the
  // listener stopped accepting (-ECANCELED after close(listen_fd), or a fatal errno); the
  // callback is never called again.
  using AcceptCallback = std::function<void(int fd)>;
  // Bytes transferred (recv: 0 means the peer closed), or a negative errno.
  using IoCallback = std::function<void(ssize_t result)>;
  // 0 once connected, or a negative errno (-ECONNREFUSED, -ECANCELED, ...).
  using ConnectCallback = std::function<void(int result)>;

  // `entries` sizes the submission queue; the completion queue gets 4x that, and the kernel
  // keeps overflowing completions rather than dropping them (IORING_FEAT_NODROP).
  // Throws std::system_error when io_uring cannot be set up (disabled by sysctl or seccomp, a
  // locked-memory limit too low): a daemon cannot run without it.
  explicit EventLoop(unsigned entries = 1024);
  // Cancels every pending operation and waits for the kernel to let go of their buffers (no
  // callback runs). Destroy on the loop thread or after run() returned.
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Accepts connections on listen_fd until close(listen_fd) (or a fatal error).
  void accept(int listen_fd, AcceptCallback on_accept);
  // One receive into `buffer` (non-empty), which must stay valid until the callback runs.
  void recv(int fd, std::span<uint8_t> buffer, IoCallback on_done);
  // Sends bytes[offset..] completely (looping over partial sends), then reports the total sent.
  // `bytes` is shared so one encoded buffer can go to many connections without copies. At most
  // one send_all per fd at a time: two concurrent ones could interleave their partial sends.
  // Never raises SIGPIPE (a closed peer gives -EPIPE).
  void send_all(int fd, std::shared_ptr<const std::vector<uint8_t>> bytes, size_t offset,
                IoCallback on_done);
  // Connects a (preferably non-blocking) stream socket.
  void connect(int fd, const sockaddr_storage& address, socklen_t length, ConnectCallback on_done);

  // Runs fn once, `delay` from now. Timers due at the same time run in the order they were set.
  TimerId after(std::chrono::milliseconds delay, std::function<void()> fn);
  // True when the timer was pending (it will not run); false when it already ran or never was.
  bool cancel_timer(TimerId id);

  // Thread-safe: runs fn on the loop thread soon, in post order per posting thread.
  void post(std::function<void()> fn);
  // Runs until stop(). A stop() that comes before run() makes run() return at once.
  void run();
  // Thread-safe; run() returns after the callbacks of the current iteration.
  void stop();

  // Cancels every pending operation on fd (their callbacks get -ECANCELED), then closes fd.
  void close(int fd);

  // Operations not yet completed (accepts count as one each); for leak checks in tests.
  size_t pending_operations() const;
  bool in_loop_thread() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::net
