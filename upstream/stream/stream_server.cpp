#include "roster/upstream/stream_server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <map>

#include "roster/base/clock.hpp"
#include "roster/base/constant_time.hpp"
#include "roster/base/log.hpp"
#include "roster/net/address_counts.hpp"
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
  net::EventLoop::TimerId hello_timer = 0;
  explicit Connection(int f, uint64_t i, uint32_t max_frame) : fd(f), id(i), reader(max_frame) {}
  // How log lines name it: the agent's id once its Hello arrived.
  std::string_view name() const { return agent_id.empty() ? std::string_view("connection") : agent_id; }
};

struct StreamServer::State : std::enable_shared_from_this<StreamServer::State> {
  net::EventLoop& loop;
  Registry& registry;
  StreamOptions options;
  std::vector<int> listeners;
  std::map<uint64_t, std::shared_ptr<Connection>> connections;
  uint64_t next_id = 1;
  net::EventLoop::TimerId keepalive_timer = 0;
  bool closed = false;
  ChangeFeed::Subscription subscription;
  net::AddressCounts unauthenticated;  // connections per address whose Hello is not accepted yet
  // metrics
  uint64_t frames_sent = 0, bytes_sent = 0, cut_off = 0, bad_frames = 0, refused = 0, at_limit = 0;
  // Write applied -> its delta handed to an agent's socket, per agent (group commit's fsync included).
  base::LatencyHistogram fanout_lag;

  State(net::EventLoop& l, Registry& r, StreamOptions o) : loop(l), registry(r), options(std::move(o)) {}

  void start() {
    std::weak_ptr<State> weak = shared_from_this();
    subscription = registry.feed().subscribe([weak](const Frame& frame, uint64_t revision) {
      auto self = weak.lock();
      if (!self) return;
      if (!frame) return self->drop_subscribers();
      const auto written = self->registry.feed().newest_written();
      for (auto& [id, conn] : self->connections)
        if (conn->subscribed) self->deliver(conn, frame, revision, written);
    });
    schedule_keepalive();
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
    std::vector<std::shared_ptr<Connection>> subscribed;
    for (auto& [id, conn] : connections)
      if (conn->subscribed) subscribed.push_back(conn);
    if (!subscribed.empty()) log::warn("the registry was re-read: {} agents resume", subscribed.size());
    for (auto& conn : subscribed) drop(conn);
  }

  void schedule_keepalive() {
    std::weak_ptr<State> weak = shared_from_this();
    keepalive_timer = loop.after(options.keepalive_interval, [weak] {
      auto self = weak.lock();
      if (!self || self->closed) return;
      flatbuffers::FlatBufferBuilder fbb;
      fbb.Finish(wire::CreateKeepalive(fbb, self->registry.durable_revision(), base::unix_ms()));
      Frame frame = control_frame(wire::FrameType::Keepalive, fbb);
      for (auto& [id, conn] : self->connections)
        if (conn->subscribed && conn->queue.empty() && !conn->held_snapshot) self->enqueue(conn, frame);
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
      auto conn = std::make_shared<Connection>(client, self->next_id++, self->options.max_hello_frame_bytes);
      conn->peer = net::peer_ip(client);
      self->connections[conn->id] = conn;
      // Refused with a reason rather than dropped; not logged one by one (a flood would flood
      // the log too): roster_stream_refused_at_limit_total counts them.
      if (self->connections.size() > self->options.max_connections) {
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
    loop.recv(conn->fd, conn->buffer, [weak, conn](ssize_t n) {
      auto self = weak.lock();
      if (!self || conn->closing) return;
      if (n < 0) return self->lost(conn, "receive", n);
      if (n == 0) return self->drop(conn);
      const size_t received = static_cast<size_t>(n);
      conn->reader.feed({conn->buffer.data(), received});
      while (auto frame = conn->reader.next()) {
        const bool was_subscribed = conn->subscribed;
        self->handle(conn, *frame);
        if (conn->closing) return;
        if (!was_subscribed && conn->subscribed) self->lift_hello_limit(conn, received);
      }
      if (auto& error = conn->reader.error()) {
        ++self->bad_frames;
        return self->fail(conn, 400, stream_error(*error, conn->offset_base));
      }
      self->receive(conn);
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
          ++bad_frames;
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
        for (auto& f : *frames) enqueue(conn, f, /*catch_up=*/true);
        return;
      }
      case wire::FrameType::Keepalive:
        return;  // the agent is alive; nothing to do
      case wire::FrameType::Error:
        return drop(conn);
      default:
        ++bad_frames;
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
      ++cut_off;
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
    Frame frame = conn->queue.front().frame;
    std::weak_ptr<State> weak = shared_from_this();
    loop.send_all(conn->fd, frame, 0, [weak, conn, frame](ssize_t n) {
      auto self = weak.lock();
      if (!self || conn->closing) return;
      if (n < 0) return self->lost(conn, "send", n);
      const auto& sent = conn->queue.front();
      if (sent.catch_up) conn->catch_up_bytes -= frame->size();
      if (sent.written != ChangeFeed::Time{})
        self->fanout_lag.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - sent.written).count());
      conn->queued_bytes -= frame->size();
      conn->queue.pop_front();
      ++self->frames_sent;
      self->bytes_sent += frame->size();
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
    loop.send_all(conn->fd, frame, 0, [weak, conn](ssize_t) {
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

  void drop(const std::shared_ptr<Connection>& conn) {
    if (conn->closing) return;
    conn->closing = true;
    loop.cancel_timer(conn->hello_timer);
    forget_stranger(conn);
    connections.erase(conn->id);
    loop.close(conn->fd);
  }
};

StreamServer::StreamServer(net::EventLoop& loop, Registry& registry, StreamOptions options)
    : state_(std::make_shared<State>(loop, registry, std::move(options))) {
  state_->start();
}

StreamServer::~StreamServer() { close(); }

void StreamServer::listen(int listen_fd) { state_->accept_on(listen_fd); }

void StreamServer::close() {
  if (state_->closed) return;
  state_->closed = true;
  state_->loop.cancel_timer(state_->keepalive_timer);
  for (int fd : state_->listeners) state_->loop.close(fd);
  state_->listeners.clear();
  auto connections = state_->connections;
  for (auto& [id, conn] : connections) state_->drop(conn);
  state_->subscription.unsubscribe();
}

size_t StreamServer::connected_agents() const {
  size_t n = 0;
  for (auto& [id, conn] : state_->connections) n += conn->subscribed;
  return n;
}

void StreamServer::metrics(base::PrometheusText& m) const {
  const State& s = *state_;
  m.gauge("roster_connected_agents", "Agents subscribed to the change stream", connected_agents());
  m.counter("roster_stream_frames_sent_total", "Frames sent to agents", s.frames_sent);
  m.counter("roster_stream_bytes_sent_total", "Bytes sent to agents", s.bytes_sent);
  m.counter("roster_stream_agents_cut_off_total", "Agents cut off for falling behind", s.cut_off);
  m.counter("roster_stream_bad_frames_total", "Malformed frames received from agents", s.bad_frames);
  m.counter("roster_stream_refused_total", "Agent streams refused for a wrong or missing token", s.refused);
  m.counter("roster_stream_refused_at_limit_total",
            "Stream connections refused at max_connections or max_unauthenticated_per_address", s.at_limit);
  m.histogram("roster_fanout_lag_seconds",
              "From a write applied on this server to its delta handed to an agent's socket, per agent "
              "(the group commit's fsync included)",
              s.fanout_lag);
}

}  // namespace roster::upstream
