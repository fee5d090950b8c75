#include "roster/net/event_loop.hpp"

#include <liburing.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

namespace roster::net {
namespace {

using Clock = std::chrono::steady_clock;

enum class OpKind : uint8_t { Accept, Recv, Send, Connect, Wake };

// user_data of the cancel requests the loop submits: never an Op address (Ops are aligned), and
// distinct from liburing's own LIBURING_UDATA_TIMEOUT, which older kernels without
// IORING_FEAT_EXT_ARG make visible to peeks.
constexpr uint64_t kCancelTag = 1;

// One request per SQE is capped: the SQE length field is 32 bits, and send_all loops anyway.
constexpr size_t kMaxChunk = size_t{1} << 30;

// One pending operation. Its address is the SQE's user_data; it lives from the call that starts
// it to the callback, across re-issues (partial sends, accept re-arming, poll fallbacks).
struct Op {
  OpKind kind;
  int fd;
  bool in_kernel = false;   // an SQE carrying this op is queued or in flight
  bool cancelled = false;   // close(fd) ran: report -ECANCELED whatever the kernel says
  bool polling = false;     // waiting on a POLL_ADD before retrying (see on_completion)
  bool linked = false;      // in its fd's list
  Op* prev = nullptr;       // the fd's list, so close(fd) finds what to cancel
  Op* next = nullptr;
  EventLoop::TimerId parked_timer = 0;  // accept backing off after EMFILE and friends

  EventLoop::AcceptCallback on_accept;
  EventLoop::IoCallback on_io;
  EventLoop::ConnectCallback on_connect;

  std::span<uint8_t> buffer;                          // recv
  std::shared_ptr<const std::vector<uint8_t>> bytes;  // send_all
  size_t offset = 0;
  size_t start = 0;
  sockaddr_storage address{};  // connect: kept until completion, the kernel reads it at issue
  socklen_t address_length = 0;

  Op(OpKind k, int f) : kind(k), fd(f) {}
};

}  // namespace

struct EventLoop::Impl {
  io_uring ring{};
  int wake_fd = -1;
  Op* wake_op = nullptr;
  bool shutting_down = false;

  std::unordered_map<int, Op*> by_fd;  // head of each fd's list of pending ops
  size_t live_ops = 0;                 // user ops allocated and not yet completed
  size_t in_kernel = 0;                // SQEs of ops (wake op included) not yet completed

  // Timers live in user space, ordered by (deadline, id): ties fire in the order they were set,
  // cancel is a map erase with no kernel round trip, and the only kernel involvement is the
  // wait timeout of io_uring_submit_and_wait_timeout (no SQE per timer). The HTTP server re-arms
  // an idle timer per request, so cheap cancel matters more than a kernel-side timer would give.
  std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers;
  std::unordered_map<TimerId, Clock::time_point> timer_deadlines;
  TimerId next_timer = 1;

  // Work queued on the loop thread itself (deferred callbacks, post() from callbacks): no lock,
  // no wake-up needed since the loop drains it before it waits again.
  std::vector<std::function<void()>> local_tasks;
  std::mutex posted_mutex;
  std::vector<std::function<void()>> posted;  // guarded by posted_mutex
  // Set by the first poster after a drain; later posters skip the eventfd write. The loop clears
  // it before taking posted_mutex to drain, so a poster that sees `true` knows its task is either
  // in the queue that drain will take or that the loop has not cleared the flag yet (seq_cst; the
  // mutex orders the queue itself).
  std::atomic<bool> wake_pending{false};
  std::atomic<bool> stop_requested{false};
  std::atomic<std::thread::id> loop_thread{};

  explicit Impl(unsigned entries);
  ~Impl();

  io_uring_sqe* get_sqe();
  void issue(Op* op);
  void link(Op* op);
  void unlink(Op* op);
  void finish(Op* op, ssize_t result);
  void on_completion(uint64_t user_data, int res);
  void on_accept_result(Op* op, int res);
  void cancel_in_kernel(Op* op);
  void close_fd(int fd);
  void wake();
  void run_tasks();
  void fire_timers();
  void reap();
  TimerId add_timer(std::chrono::milliseconds delay, std::function<void()> fn);
  bool remove_timer(TimerId id);
};

EventLoop::Impl::Impl(unsigned entries) {
  if (entries == 0) throw std::invalid_argument("EventLoop: entries must be > 0");
  io_uring_params params{};
  // A larger CQ than SQ: one accept SQE can yield a completion per connection burst, and
  // completions of many sockets can land between two reaps.
  // COOP_TASKRUN: this loop always enters the kernel to wait, so completions need no
  // inter-processor interrupt to run their task work. SUBMIT_ALL: one bad SQE (say, a recv on
  // a just-closed fd) must not leave the rest of the batch (cancels included) unsubmitted.
  params.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL;
  params.cq_entries = entries * 4;
  int rc = io_uring_queue_init_params(entries, &ring, &params);
  if (rc == -EINVAL) {  // kernels before 5.18/5.19 reject the newer flags: do without them
    params = {};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 4;
    rc = io_uring_queue_init_params(entries, &ring, &params);
  }
  if (rc < 0) {
    std::string what = "io_uring_queue_init(" + std::to_string(entries) + " entries) failed";
    if (rc == -EPERM || rc == -ENOSYS)
      what += " (io_uring disabled? see sysctl kernel.io_uring_disabled and seccomp profiles)";
    else if (rc == -ENOMEM)
      what += " (locked-memory limit too low? see ulimit -l)";
    throw std::system_error(-rc, std::system_category(), what);
  }
  // Non-blocking so the drain after a wake-up never blocks. The loop watches it with POLL_ADD
  // rather than an io_uring READ: older kernels complete a READ on an O_NONBLOCK file at once
  // with -EAGAIN (6.x poll-arms it), while POLL_ADD waits everywhere.
  wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    int err = errno;
    io_uring_queue_exit(&ring);
    throw std::system_error(err, std::system_category(), "eventfd for the event loop");
  }
  wake_op = new Op(OpKind::Wake, wake_fd);
  issue(wake_op);
}

EventLoop::Impl::~Impl() {
  shutting_down = true;
  // Cancel everything and wait for the kernel to finish with our buffers, so that a recv buffer
  // freed after ~EventLoop can never be written into. No callback runs.
  for (auto& [fd, head] : by_fd) {
    for (Op* op = head; op != nullptr;) {
      Op* next = op->next;
      op->linked = false;
      op->cancelled = true;
      if (op->in_kernel) {
        cancel_in_kernel(op);
      } else {  // a parked accept: nothing in the kernel refers to it
        --live_ops;
        delete op;
      }
      op = next;
    }
  }
  by_fd.clear();
  if (wake_op->in_kernel) cancel_in_kernel(wake_op);
  io_uring_submit(&ring);
  auto give_up = Clock::now() + std::chrono::seconds(5);
  while (in_kernel > 0 && Clock::now() < give_up) {
    __kernel_timespec ts{0, 100'000'000};
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
    if (rc < 0) continue;
    uint64_t data = cqe->user_data;
    int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    if (data == kCancelTag || data == LIBURING_UDATA_TIMEOUT) continue;
    Op* op = reinterpret_cast<Op*>(data);
    op->in_kernel = false;
    --in_kernel;
    if (op->kind == OpKind::Accept && !op->polling && res >= 0) ::close(res);
    if (op != wake_op) delete op;
  }
  // Ops still in flight after 5 s (stuck in an io-wq worker) are leaked rather than freed under
  // the kernel's feet; io_uring_queue_exit tears the ring down regardless.
  if (!wake_op->in_kernel) delete wake_op;
  io_uring_queue_exit(&ring);
  ::close(wake_fd);
}

io_uring_sqe* EventLoop::Impl::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (sqe == nullptr) {  // SQ full: hand the batch to the kernel now and retry
    io_uring_submit(&ring);
    sqe = io_uring_get_sqe(&ring);
  }
  if (sqe == nullptr) throw std::runtime_error("io_uring submission queue is full");
  return sqe;
}

void EventLoop::Impl::issue(Op* op) {
  io_uring_sqe* sqe = get_sqe();
  if (op->polling) {
    // Fallback when an operation reports -EAGAIN instead of waiting (kernels without
    // IORING_FEAT_FAST_POLL, or files the kernel treats as non-blocking): wait for readiness,
    // then issue the operation again.
    bool out = op->kind == OpKind::Send || op->kind == OpKind::Connect;
    io_uring_prep_poll_add(sqe, op->fd, out ? POLLOUT : POLLIN);
  } else {
    switch (op->kind) {
      case OpKind::Accept:
        // One-shot accept re-armed after each completion rather than multishot (5.19+): it works
        // on every io_uring kernel and accept rate is not this service's hot path.
        io_uring_prep_accept(sqe, op->fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        break;
      case OpKind::Recv:
        io_uring_prep_recv(sqe, op->fd, op->buffer.data(), std::min(op->buffer.size(), kMaxChunk), 0);
        break;
      case OpKind::Send:
        io_uring_prep_send(sqe, op->fd, op->bytes->data() + op->offset,
                           std::min(op->bytes->size() - op->offset, kMaxChunk), MSG_NOSIGNAL);
        break;
      case OpKind::Connect:
        io_uring_prep_connect(sqe, op->fd, reinterpret_cast<const sockaddr*>(&op->address),
                              op->address_length);
        break;
      case OpKind::Wake:
        io_uring_prep_poll_add(sqe, op->fd, POLLIN);
        break;
    }
  }
  io_uring_sqe_set_data(sqe, op);
  op->in_kernel = true;
  ++in_kernel;
}

void EventLoop::Impl::link(Op* op) {
  auto [it, inserted] = by_fd.try_emplace(op->fd, op);
  if (!inserted) {
    op->next = it->second;
    it->second->prev = op;
    it->second = op;
  }
  op->linked = true;
}

void EventLoop::Impl::unlink(Op* op) {
  if (!op->linked) return;
  if (op->prev != nullptr) {
    op->prev->next = op->next;
  } else {
    auto it = by_fd.find(op->fd);
    if (op->next != nullptr) it->second = op->next;
    else by_fd.erase(it);
  }
  if (op->next != nullptr) op->next->prev = op->prev;
  op->prev = op->next = nullptr;
  op->linked = false;
}

void EventLoop::Impl::finish(Op* op, ssize_t result) {
  // Free the op before the callback runs: the callback may start new ops on the same fd, close
  // it, or throw, and the loop must already be consistent when it does.
  unlink(op);
  --live_ops;
  std::unique_ptr<Op> owned(op);
  switch (op->kind) {
    case OpKind::Accept: {
      auto cb = std::move(op->on_accept);
      owned.reset();
      cb(static_cast<int>(result));
      break;
    }
    case OpKind::Recv:
    case OpKind::Send: {
      auto cb = std::move(op->on_io);
      owned.reset();
      cb(result);
      break;
    }
    case OpKind::Connect: {
      auto cb = std::move(op->on_connect);
      owned.reset();
      cb(static_cast<int>(result));
      break;
    }
    case OpKind::Wake:
      break;
  }
}

void EventLoop::Impl::on_completion(uint64_t user_data, int res) {
  if (user_data == kCancelTag || user_data == LIBURING_UDATA_TIMEOUT) return;
  Op* op = reinterpret_cast<Op*>(user_data);
  op->in_kernel = false;
  --in_kernel;

  if (op->kind == OpKind::Wake) {
    uint64_t count;
    while (::read(wake_fd, &count, sizeof count) == sizeof count) {
    }
    if (!shutting_down) issue(op);  // posted tasks are drained by the main loop iteration
    return;
  }
  if (op->cancelled) {
    // The kernel may have completed the op before the cancel reached it: drop the result (an
    // accepted socket would otherwise leak) and report the cancellation the caller asked for.
    if (op->kind == OpKind::Accept && !op->polling && res >= 0) ::close(res);
    finish(op, -ECANCELED);
    return;
  }
  if (op->polling) {
    op->polling = false;
    if (res < 0) {
      finish(op, res);
    } else if (op->kind == OpKind::Connect) {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      finish(op, -err);
    } else {
      issue(op);
    }
    return;
  }
  if (res == -EAGAIN || (op->kind == OpKind::Connect && (res == -EINPROGRESS || res == -EALREADY))) {
    op->polling = true;
    issue(op);
    return;
  }
  if (res == -EINTR && op->kind != OpKind::Connect) {  // an io-wq worker was interrupted: retry
    issue(op);
    return;
  }
  switch (op->kind) {
    case OpKind::Accept:
      on_accept_result(op, res);
      return;
    case OpKind::Recv:
    case OpKind::Connect:
      finish(op, res);
      return;
    case OpKind::Send:
      if (res > 0) {
        op->offset += static_cast<size_t>(res);
        if (op->offset < op->bytes->size()) {
          issue(op);  // partial send: the socket buffer filled; continue from where it stopped
        } else {
          finish(op, static_cast<ssize_t>(op->offset - op->start));
        }
      } else {
        finish(op, res == 0 ? -EPIPE : res);  // 0 for a non-empty send: treat as a dead peer
      }
      return;
    case OpKind::Wake:
      return;
  }
}

void EventLoop::Impl::on_accept_result(Op* op, int res) {
  if (res >= 0) {
    // Re-arm before the callback: if the callback closes the listener, close() then finds the
    // op in the kernel and cancels it like any other.
    issue(op);
    op->on_accept(res);
    return;
  }
  switch (-res) {
    case ECONNABORTED:  // the peer gave up while queued, or per-connection trouble: keep going
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      issue(op);
      return;
    case EMFILE:  // out of descriptors or memory: retrying at once would spin; back off a little
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
      op->parked_timer = add_timer(std::chrono::milliseconds(100), [this, op] {
        op->parked_timer = 0;
        issue(op);
      });
      return;
    default:  // EBADF, EINVAL (not listening), ENOTSOCK, ...: this listener is done
      finish(op, res);
  }
}

void EventLoop::Impl::cancel_in_kernel(Op* op) {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_cancel64(sqe, reinterpret_cast<uint64_t>(op), 0);
  io_uring_sqe_set_data64(sqe, kCancelTag);
}

void EventLoop::Impl::close_fd(int fd) {
  auto it = by_fd.find(fd);
  if (it != by_fd.end()) {
    Op* op = it->second;
    by_fd.erase(it);
    while (op != nullptr) {
      Op* next = op->next;
      // Detached from the fd index at once: the fd number may be reused by the next accept
      // before these ops' completions arrive, and new ops on it must not be confused with them.
      op->linked = false;
      op->prev = op->next = nullptr;
      op->cancelled = true;
      if (op->in_kernel) {
        // By address (user_data), not IORING_ASYNC_CANCEL_FD: works on every io_uring kernel
        // and cannot hit a request on a reused fd number.
        cancel_in_kernel(op);
      } else {  // a parked accept: nothing in the kernel to cancel, complete it from the loop
        remove_timer(op->parked_timer);
        op->parked_timer = 0;
        local_tasks.push_back([this, op] { finish(op, -ECANCELED); });
      }
      op = next;
    }
  }
  // Submit before ::close: an op whose SQE is still queued in the SQ would otherwise be issued
  // against a closed fd number, or worse against another socket that reused it. Once submitted,
  // an in-flight op holds its own reference to the file, so closing the fd is safe.
  if (io_uring_sq_ready(&ring) > 0) io_uring_submit(&ring);
  ::close(fd);
}

void EventLoop::Impl::wake() {
  uint64_t one = 1;
  // EAGAIN only when the counter is at its maximum, which means a wake-up is pending anyway.
  [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof one);
}

void EventLoop::Impl::run_tasks() {
  if (!local_tasks.empty()) {
    std::vector<std::function<void()>> batch;
    batch.swap(local_tasks);
    for (auto& task : batch) task();
  }
  wake_pending.store(false);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mutex);
    batch.swap(posted);
  }
  for (auto& task : batch) task();
}

void EventLoop::Impl::fire_timers() {
  auto now = Clock::now();
  // Timers set by callbacks during this pass wait for the next pass, even with a zero delay,
  // so a timer that re-arms itself cannot starve the loop. Every such timer has id >= limit and
  // a deadline >= now, so everything ordered after it is either new or not yet due.
  TimerId limit = next_timer;
  while (!timers.empty()) {
    auto it = timers.begin();
    if (it->first.first > now || it->first.second >= limit) break;
    auto fn = std::move(it->second);
    timer_deadlines.erase(it->first.second);
    timers.erase(it);
    fn();
  }
}

void EventLoop::Impl::reap() {
  // Mark each CQE seen before dispatching it: a callback that throws leaves the rest in the
  // ring for the next run() instead of losing them. Bounded so timers and posted tasks still get
  // their turn under a flood of completions.
  unsigned budget = ring.cq.ring_entries;
  io_uring_cqe* cqe = nullptr;
  while (budget-- > 0 && io_uring_peek_cqe(&ring, &cqe) == 0) {
    uint64_t data = cqe->user_data;
    int res = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
    on_completion(data, res);
  }
}

EventLoop::TimerId EventLoop::Impl::add_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
  TimerId id = next_timer++;
  auto deadline = Clock::now() + std::max(delay, std::chrono::milliseconds(0));
  timers.emplace(std::make_pair(deadline, id), std::move(fn));
  timer_deadlines.emplace(id, deadline);
  return id;
}

bool EventLoop::Impl::remove_timer(TimerId id) {
  auto it = timer_deadlines.find(id);
  if (it == timer_deadlines.end()) return false;
  timers.erase(std::make_pair(it->second, id));
  timer_deadlines.erase(it);
  return true;
}

// ---------------------------------------------------------------------------------------------

EventLoop::EventLoop(unsigned entries) : impl_(std::make_unique<Impl>(entries)) {}

EventLoop::~EventLoop() = default;

void EventLoop::accept(int listen_fd, AcceptCallback on_accept) {
  auto* op = new Op(OpKind::Accept, listen_fd);
  op->on_accept = std::move(on_accept);
  ++impl_->live_ops;
  impl_->link(op);
  impl_->issue(op);
}

void EventLoop::recv(int fd, std::span<uint8_t> buffer, IoCallback on_done) {
  // A zero-length recv completes with 0, which would read as end-of-stream.
  if (buffer.empty()) throw std::invalid_argument("EventLoop::recv: empty buffer");
  auto* op = new Op(OpKind::Recv, fd);
  op->buffer = buffer;
  op->on_io = std::move(on_done);
  ++impl_->live_ops;
  impl_->link(op);
  impl_->issue(op);
}

void EventLoop::send_all(int fd, std::shared_ptr<const std::vector<uint8_t>> bytes, size_t offset,
                         IoCallback on_done) {
  if (!bytes || offset >= bytes->size()) {
    // Nothing to send: still complete from the loop, never inside this call.
    impl_->local_tasks.push_back([cb = std::move(on_done)] { cb(0); });
    return;
  }
  auto* op = new Op(OpKind::Send, fd);
  op->bytes = std::move(bytes);
  op->offset = op->start = offset;
  op->on_io = std::move(on_done);
  ++impl_->live_ops;
  impl_->link(op);
  impl_->issue(op);
}

void EventLoop::connect(int fd, const sockaddr_storage& address, socklen_t length,
                        ConnectCallback on_done) {
  auto* op = new Op(OpKind::Connect, fd);
  op->address = address;
  op->address_length = length;
  op->on_connect = std::move(on_done);
  ++impl_->live_ops;
  impl_->link(op);
  impl_->issue(op);
}

EventLoop::TimerId EventLoop::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  return impl_->add_timer(delay, std::move(fn));
}

bool EventLoop::cancel_timer(TimerId id) { return impl_->remove_timer(id); }

void EventLoop::post(std::function<void()> fn) {
  if (in_loop_thread()) {
    impl_->local_tasks.push_back(std::move(fn));
    return;
  }
  {
    std::lock_guard lock(impl_->posted_mutex);
    impl_->posted.push_back(std::move(fn));
  }
  if (!impl_->wake_pending.exchange(true)) impl_->wake();
}

void EventLoop::run() {
  Impl& s = *impl_;
  s.loop_thread.store(std::this_thread::get_id());
  struct Reset {
    Impl& s;
    ~Reset() {
      s.loop_thread.store(std::thread::id{});
      s.stop_requested.store(false);  // so run() can be called again after it returned
    }
  } reset{s};
  while (!s.stop_requested.load()) {
    s.run_tasks();
    s.fire_timers();
    if (s.stop_requested.load()) break;
    int rc;
    if (!s.local_tasks.empty()) {
      rc = io_uring_submit(&s.ring);  // more work queued by the tasks: do not sleep
    } else {
      __kernel_timespec ts{};
      __kernel_timespec* timeout = nullptr;
      if (!s.timers.empty()) {
        auto wait = s.timers.begin()->first.first - Clock::now();
        auto ns = std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count());
        ts.tv_sec = ns / 1'000'000'000;
        ts.tv_nsec = ns % 1'000'000'000;
        timeout = &ts;
      }
      io_uring_cqe* cqe = nullptr;
      // One syscall submits the batch and sleeps until a completion or the next timer.
      rc = io_uring_submit_and_wait_timeout(&s.ring, &cqe, 1, timeout, nullptr);
    }
    // -ETIME: the next timer is due. -EINTR: a signal. -EBUSY/-EAGAIN: completions must be
    // reaped before more can be submitted, which is what comes next.
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
      throw std::system_error(-rc, std::system_category(), "io_uring_submit_and_wait_timeout");
    s.reap();
  }
}

void EventLoop::stop() {
  impl_->stop_requested.store(true);
  if (!in_loop_thread()) impl_->wake();
}

void EventLoop::close(int fd) { impl_->close_fd(fd); }

size_t EventLoop::pending_operations() const { return impl_->live_ops; }

bool EventLoop::in_loop_thread() const { return impl_->loop_thread.load() == std::this_thread::get_id(); }

}  // namespace roster::net
