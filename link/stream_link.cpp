#include "roster/link/stream_link.hpp"

#include <cstring>
#include <random>

#include "roster/base/clock.hpp"
#include "roster/base/log.hpp"
#include "roster/net/socket.hpp"
#include "roster/wire/verify.hpp"

namespace roster::link {

struct StreamLink::State : std::enable_shared_from_this<StreamLink::State> {
  net::EventLoop& loop;
  LinkOptions options;
  Handler& handler;
  LinkStatus status;
  bool stopped = true;
  int fd = -1;
  uint64_t connection = 0;  // counts connections, so callbacks of an old one are ignored
  size_t next_address = 0;
  unsigned attempt = 0;
  std::mt19937_64 rng{std::random_device{}()};
  wire::FrameReader reader;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(256 * 1024);
  std::vector<std::vector<uint64_t>> snapshot_chunks;  // a snapshot being received, 8-aligned copies
  net::EventLoop::TimerId idle_timer = 0, retry_timer = 0;

  // An outage is logged when it starts, summarised at most once a minute while it lasts (an
  // attempt every few hundred ms would repeat the same line), and once when a frame arrives
  // again. Each failure is still a debug line.
  struct Outage {
    int64_t last_logged_ms = 0;  // it began at status.outage_since_ms
    uint64_t failures = 0;
  } outage;
  static constexpr int64_t kOutageSummaryMs = 60'000;

  State(net::EventLoop& l, LinkOptions o, Handler& h)
      : loop(l), options(std::move(o)), handler(h), reader(options.max_frame_bytes) {}

  // `dropped`: a connection that was up went down, always worth a line of its own.
  void connection_failed(const std::string& message, bool dropped = false) {
    const int64_t now = base::unix_ms();
    if (outage.failures++ == 0 || dropped) {
      if (outage.failures == 1) status.outage_since_ms = now;
      outage.last_logged_ms = now;
      log::warn("{}; serving revision {} and retrying (further failures summarised each minute)", message,
                handler.resume_point().first);
    } else if (now - outage.last_logged_ms >= kOutageSummaryMs) {
      outage.last_logged_ms = now;
      log::warn("{} still unreachable: {} failed attempts in {} s; the last: {}", options.label, outage.failures,
                (now - status.outage_since_ms) / 1000, message);
    } else {
      log::debug("{}", message);
    }
  }

  void answered() {
    if (!outage.failures) return;
    log::info("{} {} answers again after {} s ({} failed attempts)", options.label, status.address,
              (base::unix_ms() - status.outage_since_ms) / 1000, outage.failures);
    outage = {};
    status.outage_since_ms = 0;
  }

  void connect_next() {
    if (stopped) return;
    const std::string address = options.addresses[next_address++ % options.addresses.size()];
    status.address = address;
    auto cannot_connect = [&](const Error& error) {
      connection_failed(options.label + ": cannot connect to " + address + ": " + error.message);
      retry();
    };
    auto parsed = net::parse_address(address);
    if (!parsed) return cannot_connect(parsed.error());
    auto socket = net::open_stream_socket(*parsed);
    if (!socket) return cannot_connect(socket.error());
    fd = *socket;
    const uint64_t id = ++connection;
    std::weak_ptr<State> weak = shared_from_this();
    loop.connect(fd, parsed->storage, parsed->length, [weak, id, address](int result) {
      auto self = weak.lock();
      if (!self || id != self->connection || self->stopped) return;
      if (result < 0) {
        self->connection_failed(self->options.label + ": cannot connect to " + address + ": " + std::strerror(-result));
        self->disconnect();
        return self->retry();
      }
      self->on_connected(id, address);
    });
  }

  void on_connected(uint64_t id, const std::string& address) {
    status.connected = true;
    const auto [revision, store] = handler.resume_point();
    log::info("{}: connected to {}; resuming from revision {}", options.label, address, revision);
    reader = wire::FrameReader(options.max_frame_bytes);
    snapshot_chunks.clear();
    flatbuffers::FlatBufferBuilder fbb;
    // The revision only means something with the store it came from: without one, or with
    // another server's store, the answer is a whole snapshot.
    fbb.Finish(wire::CreateHello(fbb, fbb.CreateString(options.client_id), revision,
                                 options.token ? fbb.CreateString(*options.token) : 0,
                                 store.empty() ? 0 : fbb.CreateString(store)));
    auto hello = wire::make_frame(wire::FrameType::Hello, {fbb.GetBufferPointer(), fbb.GetSize()});
    std::weak_ptr<State> weak = shared_from_this();
    loop.send_all(fd, hello, 0, [weak, id](ssize_t n) {
      auto self = weak.lock();
      if (self && id == self->connection && n < 0)
        self->lost(std::string("cannot send Hello: ") + std::strerror(static_cast<int>(-n)));
    });
    status.last_contact_ms = base::unix_ms();
    watch_idle(id);
    receive(id);
  }

  void watch_idle(uint64_t id) {
    std::weak_ptr<State> weak = shared_from_this();
    idle_timer = loop.after(options.idle_timeout / 4, [weak, id] {
      auto self = weak.lock();
      if (!self || id != self->connection || self->stopped) return;
      if (base::unix_ms() - self->status.last_contact_ms > self->options.idle_timeout.count())
        return self->lost("no frame for " + std::to_string(self->options.idle_timeout.count()) + " ms");
      self->watch_idle(id);
    });
  }

  void receive(uint64_t id) {
    std::weak_ptr<State> weak = shared_from_this();
    loop.recv(fd, buffer, [weak, id](ssize_t n) {
      auto self = weak.lock();
      if (!self || id != self->connection || self->stopped) return;
      if (n == 0) return self->lost("the upstream closed the connection");
      if (n < 0) return self->lost(std::string("receive failed: ") + std::strerror(static_cast<int>(-n)));
      self->reader.feed({self->buffer.data(), static_cast<size_t>(n)});
      self->handler.before_frames();
      bool go_on = true;
      while (go_on) {
        auto frame = self->reader.next();
        if (!frame) break;
        go_on = self->handle(*frame, id) && id == self->connection;
      }
      self->handler.after_frames();
      if (!go_on || id != self->connection) return;
      if (auto& error = self->reader.error()) {
        ++self->status.bad_frames;
        return self->lost(error->message);
      }
      self->receive(id);
    });
  }

  // False when the connection was dropped (by this frame, or by the handler).
  bool handle(const wire::Frame& frame, uint64_t id) {
    ++status.frames;
    status.last_contact_ms = base::unix_ms();
    handler.on_contact(status.last_contact_ms);
    attempt = 0;  // a working upstream resets the backoff
    answered();
    const std::string where = "frame at offset " + std::to_string(frame.offset) + ": ";
    auto bad = [&](const std::string& why) {
      ++status.bad_frames;
      lost(where + why);
      return false;
    };
    // A refusal by the handler: an Invalid one is about the frame's content (counted as bad).
    auto refused = [&](const Result<void>& result) {
      if (result) return true;
      if (id != connection || stopped) return false;  // the handler dropped or stopped the link itself
      if (result.error().kind == ErrorKind::Invalid) return bad(result.error().message);
      lost(result.error().message);
      return false;
    };
    switch (frame.type) {
      case wire::FrameType::Snapshot: {
        if (auto valid = wire::verify<wire::Snapshot>(frame.payload); !valid) return bad(valid.error().message);
        // Keep an aligned copy: the frame's bytes are reused by the next read.
        snapshot_chunks.emplace_back((frame.payload.size() + 7) / 8);
        std::memcpy(snapshot_chunks.back().data(), frame.payload.data(), frame.payload.size());
        if (!flatbuffers::GetRoot<wire::Snapshot>(snapshot_chunks.back().data())->last()) return true;
        std::vector<const wire::Snapshot*> chunks;
        chunks.reserve(snapshot_chunks.size());
        for (auto& words : snapshot_chunks) chunks.push_back(flatbuffers::GetRoot<wire::Snapshot>(words.data()));
        auto applied = handler.on_snapshot(chunks);
        snapshot_chunks.clear();
        return refused(applied);
      }
      case wire::FrameType::Delta: {
        if (auto valid = wire::verify<wire::Delta>(frame.payload); !valid) return bad(valid.error().message);
        return refused(handler.on_delta(*flatbuffers::GetRoot<wire::Delta>(frame.payload.data())));
      }
      case wire::FrameType::Keepalive:
        if (auto valid = wire::verify<wire::Keepalive>(frame.payload); !valid) return bad(valid.error().message);
        return true;
      case wire::FrameType::Error: {
        std::string message = "the upstream refused us";
        if (wire::verify<wire::StreamError>(frame.payload))
          message += ": " + flatbuffers::GetRoot<wire::StreamError>(frame.payload.data())->message()->str();
        lost(message);
        return false;
      }
      case wire::FrameType::Hello:
        return bad("upstreams do not send Hello");
    }
    return bad("unknown frame type");
  }

  void disconnect() {
    ++connection;  // callbacks of the old connection are ignored from now on
    loop.cancel_timer(idle_timer);
    if (fd >= 0) loop.close(fd);
    fd = -1;
    status.connected = false;
    snapshot_chunks.clear();
  }

  void lost(const std::string& why) {
    connection_failed(options.label + ": disconnected from " + status.address + ": " + why, true);
    disconnect();
    retry();
  }

  // Full-jitter exponential backoff: many clients that lost the same server do not return in step.
  void retry() {
    if (stopped) return;
    ++status.reconnects;
    const int64_t cap =
        std::min<int64_t>(options.backoff_max.count(), options.backoff_base.count() << std::min(attempt, 16u));
    ++attempt;
    const int64_t delay = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(1, cap))(rng);
    std::weak_ptr<State> weak = shared_from_this();
    loop.cancel_timer(retry_timer);
    retry_timer = loop.after(std::chrono::milliseconds(delay), [weak] {
      if (auto self = weak.lock()) self->connect_next();
    });
  }
};

StreamLink::StreamLink(net::EventLoop& loop, LinkOptions options, Handler& handler)
    : state_(std::make_shared<State>(loop, std::move(options), handler)) {}

StreamLink::~StreamLink() { stop(); }

void StreamLink::start() {
  if (state_->options.addresses.empty() || !state_->stopped) return;
  state_->stopped = false;
  state_->connect_next();
}

void StreamLink::stop() {
  State& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  s.disconnect();
  s.loop.cancel_timer(s.retry_timer);
}

void StreamLink::reconnect(const std::string& why) {
  if (state_->stopped) return;
  state_->lost(why);
}

const LinkStatus& StreamLink::status() const { return state_->status; }

}  // namespace roster::link
