#include "roster/upstream/stream_server.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "roster/base/clock.hpp"
#include "roster/base/constant_time.hpp"
#include "roster/base/log.hpp"
#include "roster/net/address_counts.hpp"
#include "roster/net/event_loop_thread.hpp"
#include "roster/net/socket.hpp"
#include "roster/wire/verify.hpp"

namespace roster::upstream {

namespace {

Frame control_frame(wire::FrameType type, const flatbuffers::FlatBufferBuilder& fbb) {
  return wire::make_frame(type, {fbb.GetBufferPointer(), fbb.GetSize()});
}

// What a peer sent and nobody read makes close() send a reset, which can destroy the Error frame
// before the peer reads it: read away what is there now (a peer still sending may get the reset
// anyway; it was told why in the frame, or is not listening).
void discard_input(int fd) {
  char bytes[4096];
  for (int i = 0; i < 16 && ::recv(fd, bytes, sizeof bytes, MSG_DONTWAIT) > 0; ++i) {
  }
}

Frame error_frame(uint32_t code, const std::string& message) {
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CreateStreamError(fbb, code, fbb.CreateString(message)));
  return control_frame(wire::FrameType::Error, fbb);
}

}  // namespace

struct Shard;

// Threads: a connection lives on the server's loop until its Hello is accepted, then on its
// shard's loop (hand_over); only the thread of the loop it lives on touches it.
struct Connection {
  int fd;
  uint64_t id;
  std::string agent_id;
  std::string peer;           // net::peer_ip: "" for a Unix-socket peer
  bool unauthenticated = false;  // counted in State::unauthenticated (until its Hello is accepted)
  // Limited to max_hello_frame_bytes until the Hello is accepted, then replaced by one with the
  // normal limit; offsets it reports count from offset_base.
  wire::FrameReader reader;
  uint64_t offset_base = 0;
  // Agents send a Hello and small control frames: a small receive buffer keeps many connections
  // cheap (a larger frame still arrives, in more receives).
  std::vector<uint8_t> buffer = std::vector<uint8_t>(8 * 1024);
  struct Queued {
    Frame frame;
    ChangeFeed::Time written;  // a live delta's write (its fan-out lag runs from there)
    bool catch_up;  // sent in answer to Hello: not counted against the slow-agent bound
  };
  std::deque<Queued> queue;
  size_t queued_bytes = 0, catch_up_bytes = 0;
  bool sending = false, subscribed = false, closing = false;
  // A snapshot made while writes were pending: sent once its revision is durable (the feed
  // publishes it), in place of the deltas up to it.
  std::optional<std::pair<uint64_t, std::vector<Frame>>> held_snapshot;
  std::vector<Frame> catch_up;  // made at the Hello on the server's loop, queued by its shard
  net::EventLoop::TimerId hello_timer = 0;
  net::EventLoop* loop;     // the loop it lives on (its operations are on this loop's ring)
  Shard* shard = nullptr;   // once handed over
  Connection(int f, uint64_t i, uint32_t max_frame, net::EventLoop& l) : fd(f), id(i), reader(max_frame), loop(&l) {}
  // How log lines name it: the agent's id once its Hello arrived.
  std::string_view name() const { return agent_id.empty() ? std::string_view("connection") : agent_id; }
};

// A share of the agents: their receives, sends, queues and cut-offs run on one loop, a thread's
// own (sender_threads > 0) or the server's. The loop sends each delta to all of its agents in one
// pass, so their sends go to the kernel in one submission (or a few: one per full SQ).
struct Shard {
  std::unique_ptr<net::EventLoopThread> thread;  // none: the server's loop
  net::EventLoop* loop;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> agents;  // on the loop's thread only
  // Counted on the shard's thread, read by metrics() on the server's: relaxed, each is a number
  // on its own and publishes no other memory.
  std::atomic<uint64_t> frames_sent{0}, bytes_sent{0};
  std::mutex lag_mutex;  // observed on the shard's thread, read by metrics(); never contended long
  base::LatencyHistogram fanout_lag;

  explicit Shard(net::EventLoop& server_loop) : loop(&server_loop) {}
  explicit Shard(unsigned index)
      : thread(std::make_unique<net::EventLoopThread>("roster-send-" + std::to_string(index))), loop(&thread->loop()) {}
};

struct StreamServer::State : std::enable_shared_from_this<StreamServer::State> {
  net::EventLoop& loop;  // the server's: accepts, strangers, Hellos, the feed, keepalive timer
  Registry& registry;
  StreamOptions options;
  std::vector<int> listeners;
  std::map<uint64_t, std::shared_ptr<Connection>> strangers;  // until the Hello is accepted; loop's thread
  std::vector<std::unique_ptr<Shard>> shards;
  size_t next_shard = 0;  // round-robin
  uint64_t next_id = 1;
  net::EventLoop::TimerId keepalive_timer = 0;
  // Set by close() on the server's loop; read by a hand-over task, which runs on the server's
  // loop too unless it has sender threads, and then before close() returns (finish's post
  // order): relaxed, it only needs to be the atomic it is read through.
  std::atomic<bool> closed{false};
  ChangeFeed::Subscription subscription;
  net::AddressCounts unauthenticated;  // connections per address whose Hello is not accepted yet
  // Open connections (strangers and agents) and agents: added on the server's loop, removed on
  // whichever thread drops them. Relaxed: counts only; the cap may be checked against a count a
  // drop on another thread has not lowered yet, which refuses a connection a moment early.
  std::atomic<size_t> open{0}, agents{0};
  // metrics; cut_off and bad_frames are counted on any thread (relaxed, counts only)
  std::atomic<uint64_t> cut_off{0}, bad_frames{0};
  uint64_t refused = 0, at_limit = 0;

  State(net::EventLoop& l, Registry& r, StreamOptions o) : loop(l), registry(r), options(std::move(o)) {
    if (options.sender_threads == 0) shards.push_back(std::make_unique<Shard>(loop));
    for (unsigned i = 0; i < options.sender_threads; ++i) shards.push_back(std::make_unique<Shard>(i));
  }

  void start() {
    std::weak_ptr<State> weak = shared_from_this();
    subscription = registry.feed().subscribe([weak](const Frame& frame, uint64_t revision) {
      auto self = weak.lock();
      if (!self) return;
      if (!frame) return self->drop_subscribers();
      const auto written = self->registry.feed().newest_written();
      // One task per shard. Deltas are published in revision order on this thread and each
      // shard runs its tasks in post order, so every agent gets them in revision order, after
      // the catch-up its hand-over carried. The frame is immutable once made: the shards share
      // it read-only (post's mutex orders its bytes before their reads).
      for (auto& shard : self->shards)
        shard->loop->post([weak, shard = shard.get(), frame, revision, written] {
          auto s = weak.lock();
          if (!s) return;
          s->for_each_agent(*shard, [&](const std::shared_ptr<Connection>& conn) {
            if (conn->subscribed) s->deliver(conn, frame, revision, written);  // not one being refused
          });
        });
    });
    schedule_keepalive();
  }

  // fn may drop the agent it is given (a cut-off), and no other: callbacks never run inside the
  // calls that start operations, so only that entry leaves the map meanwhile.
  template <class Fn>
  static void for_each_agent(Shard& shard, Fn fn) {
    for (auto it = shard.agents.begin(); it != shard.agents.end();) {
      std::shared_ptr<Connection> conn = it->second;  // outlives its map entry
      ++it;
      fn(conn);
    }
  }

  void deliver(const std::shared_ptr<Connection>& conn, const Frame& delta, uint64_t revision, ChangeFeed::Time written) {
    if (conn->held_snapshot) {
      const uint64_t at = conn->held_snapshot->first;
      if (revision < at) return;  // the snapshot holds it
      auto frames = std::move(conn->held_snapshot->second);
      conn->held_snapshot.reset();
      for (auto& f : frames) enqueue(conn, f, /*catch_up=*/true);
      if (revision == at) return;
    }
    enqueue(conn, delta, false, written);
  }

  // The registry was re-read: what agents were sent may not follow on from it, so each resumes
  // afresh (by revision, from its own cache's point of view).
  void drop_subscribers() {
    if (const size_t n = agents.load(std::memory_order_relaxed))
      log::warn("the registry was re-read: {} agents resume", n);
    // On each shard's thread: agents handed over before now are in its map by then (post order).
    std::weak_ptr<State> weak = shared_from_this();
    for (auto& shard : shards)
      shard->loop->post([weak, shard = shard.get()] {
        if (auto self = weak.lock()) self->for_each_agent(*shard, [&](const auto& conn) { self->drop(conn); });
      });
  }

  void schedule_keepalive() {
    std::weak_ptr<State> weak = shared_from_this();
    keepalive_timer = loop.after(options.keepalive_interval, [weak] {
      auto self = weak.lock();
      if (!self || self->closed) return;
      flatbuffers::FlatBufferBuilder fbb;
      fbb.Finish(wire::CreateKeepalive(fbb, self->registry.durable_revision(), base::unix_ms()));
      Frame frame = control_frame(wire::FrameType::Keepalive, fbb);
      for (auto& shard : self->shards)
        shard->loop->post([weak, shard = shard.get(), frame] {
          auto s = weak.lock();
          if (!s) return;
          s->for_each_agent(*shard, [&](const std::shared_ptr<Connection>& conn) {
            if (conn->subscribed && conn->queue.empty() && !conn->held_snapshot) s->enqueue(conn, frame);
          });
        });
      self->schedule_keepalive();
    });
  }

  void accept_on(int fd) {
    listeners.push_back(fd);
    std::weak_ptr<State> weak = shared_from_this();
    loop.accept(fd, [weak, fd](int client) {
      auto self = weak.lock();
      if (!self) return;
      if (client < 0) {  // this listener is done: closed (-ECANCELED), or a fatal accept error
        if (client != -ECANCELED) log::error("stream server stopped accepting on fd {}: {}", fd, std::strerror(-client));
        return;
      }
      if (self->closed) return void(::close(client));
      auto conn =
          std::make_shared<Connection>(client, self->next_id++, self->options.max_hello_frame_bytes, self->loop);
      conn->peer = net::peer_ip(client);
      self->strangers[conn->id] = conn;
      // Refused with a reason rather than dropped; not logged one by one (a flood would flood
      // the log too): roster_stream_refused_at_limit_total counts them.
      if (self->open.fetch_add(1, std::memory_order_relaxed) + 1 > self->options.max_connections) {
        ++self->at_limit;
        return self->send_error_and_close(conn, 503, "the server is at its limit of " +
                                                         std::to_string(self->options.max_connections) +
                                                         " stream connections");
      }
      if (!self->unauthenticated.try_add(conn->peer, self->options.max_unauthenticated_per_address)) {
        ++self->at_limit;
        return self->send_error_and_close(conn, 503, conn->peer + " has " +
                                                         std::to_string(self->options.max_unauthenticated_per_address) +
                                                         " connections waiting for their Hello, the limit per address");
      }
      conn->unauthenticated = true;
      std::weak_ptr<Connection> weak_conn = conn;
      conn->hello_timer = self->loop.after(self->options.hello_timeout, [weak, weak_conn] {
        auto s = weak.lock();
        auto c = weak_conn.lock();
        if (s && c && !c->subscribed) s->fail(c, 408, "no Hello within the timeout");
      });
      self->receive(conn);
    });
  }

  void receive(const std::shared_ptr<Connection>& conn) {
    std::weak_ptr<State> weak = shared_from_this();
    conn->loop->recv(conn->fd, conn->buffer, [weak, conn](ssize_t n) {
      auto self = weak.lock();
      if (!self || conn->closing) return;
      if (n < 0) return self->lost(conn, "receive", n);
      if (n == 0) return self->drop(conn);
      const size_t received = static_cast<size_t>(n);
      conn->reader.feed({conn->buffer.data(), received});
      self->consume(conn, received);
    });
  }

  // Handles the frames the reader holds, then receives more; an accepted Hello hands the
  // connection to its shard, whose thread goes on from the next frame.
  void consume(const std::shared_ptr<Connection>& conn, size_t received) {
    while (auto frame = conn->reader.next()) {
      const bool was_subscribed = conn->subscribed;
      handle(conn, *frame);
      if (conn->closing) return;
      if (!was_subscribed && conn->subscribed) {
        lift_hello_limit(conn, received);
        return hand_over(conn);
      }
    }
    if (auto& error = conn->reader.error()) {
      bad_frames.fetch_add(1, std::memory_order_relaxed);
      return fail(conn, 400, stream_error(*error, conn->offset_base));
    }
    receive(conn);
  }

  // On the server's loop, with no operation of the connection pending on it (its receive just
  // completed, its Hello timer is cancelled): from here on only the shard's thread touches it.
  // Its catch-up frames (or held snapshot) travel with it and are queued before any later delta,
  // which this thread posts to the shard after this task.
  void hand_over(const std::shared_ptr<Connection>& conn) {
    strangers.erase(conn->id);
    agents.fetch_add(1, std::memory_order_relaxed);
    Shard* shard = shards[next_shard++ % shards.size()].get();
    conn->shard = shard;
    conn->loop = shard->loop;
    std::weak_ptr<State> weak = shared_from_this();
    // post's mutex orders everything written to conn here before the shard's thread reads it.
    shard->loop->post([weak, conn, catch_up = std::move(conn->catch_up)]() mutable {
      auto self = weak.lock();
      if (!self) return void(::close(conn->fd));  // the server is gone; nothing is pending on the fd
      conn->shard->agents[conn->id] = conn;
      if (self->closed.load(std::memory_order_relaxed)) return self->drop(conn);  // closed while in transit
      for (auto& f : catch_up) self->enqueue(conn, f, /*catch_up=*/true);
      if (!conn->closing) self->consume(conn, 0);
    });
  }

  // After a good Hello the normal frame limit applies: a new reader takes over at the frame
  // boundary. The Hello ended inside the last receive (it completed on that feed), so what the
  // old reader holds after it is the tail of that receive's bytes.
  void lift_hello_limit(const std::shared_ptr<Connection>& conn, size_t received) {
    const size_t rest = conn->reader.buffered();
    conn->offset_base += conn->reader.stream_offset();
    wire::FrameReader reader(options.max_frame_bytes);
    reader.feed({conn->buffer.data() + (received - rest), rest});
    conn->reader = std::move(reader);
  }

  // A FrameReader's error with its offset counted from the start of the stream (the message
  // starts "frame at offset N: ", N from the reader's own start).
  static std::string stream_error(const wire::FrameError& error, uint64_t offset_base) {
    if (offset_base == 0) return error.message;
    std::string_view rest = error.message;
    const std::string prefix = "frame at offset " + std::to_string(error.offset) + ": ";
    if (rest.starts_with(prefix)) rest.remove_prefix(prefix.size());
    return "frame at offset " + std::to_string(error.offset + offset_base) + ": " + std::string(rest);
  }

  void handle(const std::shared_ptr<Connection>& conn, const wire::Frame& frame) {
    const std::string where = "frame at offset " + std::to_string(frame.offset + conn->offset_base) + ": ";
    switch (frame.type) {
      case wire::FrameType::Hello: {
        if (conn->subscribed) return fail(conn, 400, where + "a second Hello");
        if (auto valid = wire::verify<wire::Hello>(frame.payload); !valid) {
          bad_frames.fetch_add(1, std::memory_order_relaxed);
          return fail(conn, 400, where + valid.error().message);
        }
        auto* hello = flatbuffers::GetRoot<wire::Hello>(frame.payload.data());
        if (options.token && (!hello->token() || !base::constant_time_equals(hello->token()->string_view(), *options.token))) {
          ++refused;
          return fail(conn, 401, "wrong or missing token");
        }
        conn->agent_id = hello->agent_id()->str();
        loop.cancel_timer(conn->hello_timer);
        conn->subscribed = true;
        forget_stranger(conn);
        // Catch-up frames are queued before any later delta: both happen on this thread. Deltas
        // only resume a revision of this very store; an agent with nothing, or with another
        // store's revision (a replaced data dir, another server), gets the whole registry, so
        // the first thing it publishes is complete (even when the registry is empty).
        const bool same_store = hello->store_id() && hello->store_id()->string_view() == registry.store_identity();
        std::optional<std::vector<Frame>> frames;
        // An agent that failed over from a server further along the same shared store waits (a
        // moment, at most) for this one to catch up, rather than being sent back in time.
        if (same_store && hello->last_revision() > registry.revision())
          registry.catch_up(hello->last_revision(), std::chrono::milliseconds(500));
        if (same_store && hello->last_revision() > 0) frames = registry.frames_since(hello->last_revision());
        if (!frames && registry.durable_revision() < registry.revision()) {
          // Writes are pending: the snapshot holds them, so it waits until they are durable.
          conn->held_snapshot.emplace(registry.revision(), registry.snapshot_frames(options.max_frame_bytes));
          return;
        }
        if (!frames) frames = registry.snapshot_frames(options.max_frame_bytes);
        conn->catch_up = std::move(*frames);  // queued by its shard (hand_over)
        return;
      }
      case wire::FrameType::Keepalive:
        return;  // the agent is alive; nothing to do
      case wire::FrameType::Error:
        return drop(conn);
      default:
        bad_frames.fetch_add(1, std::memory_order_relaxed);
        return fail(conn, 400, where + "agents may send Hello, Keepalive or Error frames only");
    }
  }

  // `written`: a live delta's write time; keepalives and catch-ups carry none and are not timed.
  void enqueue(const std::shared_ptr<Connection>& conn, const Frame& frame, bool catch_up = false,
               ChangeFeed::Time written = {}) {
    if (conn->closing) return;
    // The bound is for live deltas an agent fails to keep up with; a catch-up (snapshot or
    // deltas since its revision) is as large as it must be, and is sent at the agent's pace.
    if (!catch_up && conn->queued_bytes - conn->catch_up_bytes + frame->size() > options.max_queued_bytes) {
      cut_off.fetch_add(1, std::memory_order_relaxed);
      log::warn("agent {} is too slow ({} bytes queued): cutting it off; it will resume by revision", conn->agent_id,
                conn->queued_bytes);
      return drop(conn);
    }
    conn->queue.push_back({frame, written, catch_up});
    conn->queued_bytes += frame->size();
    if (catch_up) conn->catch_up_bytes += frame->size();
    if (!conn->sending) send_next(conn);
  }

  void send_next(const std::shared_ptr<Connection>& conn) {
    if (conn->queue.empty() || conn->closing) {
      conn->sending = false;
      return;
    }
    conn->sending = true;
    std::weak_ptr<State> weak = shared_from_this();
    // The callback finds the frame at the queue's front (only it pops the queue; a close empties
    // it, and then the callback returns first): one reference count less per send on a frame
    // every sender thread shares.
    conn->loop->send_all(conn->fd, conn->queue.front().frame, 0, [weak, conn](ssize_t n) {
      auto self = weak.lock();
      if (!self || conn->closing) return;
      if (n < 0) return self->lost(conn, "send", n);
      const auto& sent = conn->queue.front();
      const size_t size = sent.frame->size();
      if (sent.catch_up) conn->catch_up_bytes -= size;
      Shard& shard = *conn->shard;  // only agents are sent anything but an Error frame
      if (sent.written != ChangeFeed::Time{}) {
        const double lag = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent.written).count();
        std::lock_guard lock(shard.lag_mutex);
        shard.fanout_lag.observe(lag);
      }
      conn->queued_bytes -= size;
      conn->queue.pop_front();
      shard.frames_sent.fetch_add(1, std::memory_order_relaxed);
      shard.bytes_sent.fetch_add(size, std::memory_order_relaxed);
      self->send_next(conn);
    });
  }

  // The connection no longer counts against its address's unauthenticated limit: its Hello was
  // accepted, or it is closing.
  void forget_stranger(const std::shared_ptr<Connection>& conn) {
    if (!conn->unauthenticated) return;
    conn->unauthenticated = false;
    unauthenticated.remove(conn->peer);
  }

  // A bad peer: tell it why in an Error frame, then close.
  void fail(const std::shared_ptr<Connection>& conn, uint32_t code, const std::string& message) {
    if (conn->closing) return;
    log::warn("stream {}: {}", conn->name(), message);
    send_error_and_close(conn, code, message);
  }

  void send_error_and_close(const std::shared_ptr<Connection>& conn, uint32_t code, const std::string& message) {
    if (conn->closing) return;
    conn->subscribed = false;
    conn->queue.clear();
    conn->queued_bytes = conn->catch_up_bytes = 0;
    Frame frame = error_frame(code, message);
    std::weak_ptr<State> weak = shared_from_this();
    if (conn->sending) return drop(conn);  // a send is in flight: just close
    conn->sending = true;
    // Closed whatever the send's result: the reason was logged (or counted), a failed send adds nothing.
    conn->loop->send_all(conn->fd, frame, 0, [weak, conn](ssize_t) {
      auto self = weak.lock();
      if (!self || conn->closing) return;
      discard_input(conn->fd);
      self->drop(conn);
    });
  }

  // A receive or send failed (a negative errno from the loop): the agent reset the connection or
  // is gone. It resumes by revision when it reconnects.
  void lost(const std::shared_ptr<Connection>& conn, const char* what, ssize_t result) {
    log::warn("stream {}: {} failed: {}", conn->name(), what, std::strerror(static_cast<int>(-result)));
    drop(conn);
  }

  // On the thread of the loop the connection lives on.
  void drop(const std::shared_ptr<Connection>& conn) {
    if (conn->closing) return;
    conn->closing = true;
    open.fetch_sub(1, std::memory_order_relaxed);
    if (conn->shard) {
      agents.fetch_sub(1, std::memory_order_relaxed);
      conn->shard->agents.erase(conn->id);
    } else {  // a stranger, on the server's loop
      loop.cancel_timer(conn->hello_timer);
      forget_stranger(conn);
      strangers.erase(conn->id);
    }
    conn->loop->close(conn->fd);
  }
};

StreamServer::StreamServer(net::EventLoop& loop, Registry& registry, StreamOptions options)
    : state_(std::make_shared<State>(loop, registry, std::move(options))) {
  state_->start();
}

StreamServer::~StreamServer() { close(); }

void StreamServer::listen(int listen_fd) { state_->accept_on(listen_fd); }

void StreamServer::close() {
  State& s = *state_;
  if (s.closed.load(std::memory_order_relaxed)) return;
  s.closed.store(true, std::memory_order_relaxed);
  s.loop.cancel_timer(s.keepalive_timer);
  for (int fd : s.listeners) s.loop.close(fd);
  s.listeners.clear();
  s.subscription.unsubscribe();
  auto strangers = s.strangers;
  for (auto& [id, conn] : strangers) s.drop(conn);
  for (auto& shard : s.shards) {
    auto drop_all = [&s, shard = shard.get()] { s.for_each_agent(*shard, [&](const auto& conn) { s.drop(conn); }); };
    // A sender thread closes its agents after the tasks posted before, then ends.
    if (shard->thread) shard->thread->finish(drop_all);
    else drop_all();
  }
}

size_t StreamServer::connected_agents() const { return state_->agents.load(std::memory_order_relaxed); }

void StreamServer::metrics(base::PrometheusText& m) const {
  const State& s = *state_;
  uint64_t frames_sent = 0, bytes_sent = 0;
  base::LatencyHistogram fanout_lag;
  for (auto& shard : s.shards) {
    frames_sent += shard->frames_sent.load(std::memory_order_relaxed);
    bytes_sent += shard->bytes_sent.load(std::memory_order_relaxed);
    std::lock_guard lock(shard->lag_mutex);
    fanout_lag.add(shard->fanout_lag);
  }
  m.gauge("roster_connected_agents", "Agents subscribed to the change stream", connected_agents());
  m.counter("roster_stream_frames_sent_total", "Frames sent to agents", frames_sent);
  m.counter("roster_stream_bytes_sent_total", "Bytes sent to agents", bytes_sent);
  m.counter("roster_stream_agents_cut_off_total", "Agents cut off for falling behind",
            s.cut_off.load(std::memory_order_relaxed));
  m.counter("roster_stream_bad_frames_total", "Malformed frames received from agents",
            s.bad_frames.load(std::memory_order_relaxed));
  m.counter("roster_stream_refused_total", "Agent streams refused for a wrong or missing token", s.refused);
  m.counter("roster_stream_refused_at_limit_total",
            "Stream connections refused at max_connections or max_unauthenticated_per_address", s.at_limit);
  m.histogram("roster_fanout_lag_seconds",
              "From a write applied on this server to its delta handed to an agent's socket, per agent "
              "(the group commit's fsync included)",
              fanout_lag);
}

}  // namespace roster::upstream
