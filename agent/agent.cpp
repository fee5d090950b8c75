#include "roster/agent/agent.hpp"

#include "cache_file.hpp"
#include "frame_batch.hpp"

#include <chrono>
#include <cstring>
#include <iostream>
#include <random>

#include "roster/net/socket.hpp"
#include "roster/wire/roster_generated.h"
#include "roster/base/version.hpp"
#include "roster/base/clock.hpp"
#include "roster/base/files.hpp"
#include "roster/base/log.hpp"
#include "roster/base/prometheus.hpp"
#include "roster/wire/snapshot.hpp"
#include "roster/wire/verify.hpp"

namespace roster::agent {

struct Agent::State : std::enable_shared_from_this<Agent::State> {
  net::EventLoop& loop;
  AgentOptions options;
  std::unique_ptr<shm::ArenaWriter> writer;
  AgentStatus status;
  std::string store_id;   // the upstream store status.revision belongs to
  std::optional<Error> failure;  // why the agent stopped by itself
  bool stopped = false, cache_dirty = false;
  int fd = -1;
  uint64_t connection = 0;  // counts connections, so callbacks of an old one are ignored
  size_t next_upstream = 0;
  unsigned attempt = 0;
  std::mt19937_64 rng{std::random_device{}()};
  wire::FrameReader reader;
  std::vector<uint8_t> buffer = std::vector<uint8_t>(256 * 1024);
  std::vector<std::vector<uint64_t>> snapshot_chunks;  // a snapshot being received, 8-aligned copies
  int64_t last_frame_ms = 0;
  net::EventLoop::TimerId idle_timer = 0, cache_timer = 0, retry_timer = 0;

  State(net::EventLoop& l, AgentOptions o) : loop(l), options(std::move(o)), reader(options.max_frame_bytes) {}

  void log(const std::string& message) const { log::info("{}", message); }

  // How long applying upstream's changes takes here (the arena's write and publish).
  base::LatencyHistogram delta_seconds, snapshot_seconds;
  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // An upstream outage is logged when it starts, summarised at most once a minute while it lasts
  // (an attempt every few hundred ms would repeat the same line), and once when a frame arrives
  // again. Each failure is still a debug line.
  struct Outage {
    int64_t last_logged_ms = 0;  // it began at status.outage_since_ms
    uint64_t failures = 0;
  } outage;
  static constexpr int64_t kOutageSummaryMs = 60'000;

  // `dropped`: a connection that was up went down, always worth a line of its own.
  void connection_failed(const std::string& message, bool dropped = false) {
    const int64_t now = base::unix_ms();
    if (outage.failures++ == 0 || dropped) {
      if (outage.failures == 1) status.outage_since_ms = now;
      outage.last_logged_ms = now;
      log::warn("{}; serving revision {} and retrying (further failures summarised each minute)", message,
                status.revision);
    } else if (now - outage.last_logged_ms >= kOutageSummaryMs) {
      outage.last_logged_ms = now;
      log::warn("upstream still unreachable: {} failed attempts in {} s; the last: {}", outage.failures,
                (now - status.outage_since_ms) / 1000, message);
    } else {
      log::debug("{}", message);
    }
  }

  void upstream_answered() {
    if (!outage.failures) return;
    log::info("upstream {} answers again after {} s ({} failed attempts)", status.upstream,
              (base::unix_ms() - status.outage_since_ms) / 1000, outage.failures);
    outage = {};
    status.outage_since_ms = 0;
  }

  // --- the arena -----------------------------------------------------------------------------

  // A fresh arena for a full state: readers re-attach to it by themselves once it is published.
  Result<void> new_arena() {
    auto created = shm::ArenaWriter::create(options.arena);
    if (!created) return fail(created.error());
    writer = std::move(*created);
    return {};
  }

  // A full state of `store` replaces the arena: a fresh segment that readers re-attach to by
  // themselves once it holds all of it.
  Result<void> load_full(const shm::Batch& batch, std::string_view store) {
    if (status.has_data)
      if (auto fresh = new_arena(); !fresh) return fresh;
    if (auto set = writer->set_store(store); !set) return set;
    if (auto applied = writer->apply(batch); !applied) return fail(applied.error());
    store_id = std::string(store);
    status.revision = batch.revision;
    status.generation = writer->generation();
    status.has_data = true;
    cache_dirty = true;
    return {};
  }

  void warm_start() {
    if (options.cache_file.empty()) return;
    auto cached = read_cache_file(options.cache_file);
    if (!cached) {
      if (cached.error().kind != ErrorKind::NotFound) log("ignoring cache: " + cached.error().message);
      return;
    }
    const wire::Snapshot* snap = cached->snapshot;
    const std::string_view store = snap->store_id() ? snap->store_id()->string_view() : std::string_view();
    // Never replace what readers see with something older of the same store (an agent restarted
    // with a stale cache): wait for upstream instead, while the live arena keeps serving.
    if (auto live = shm::published_arena(options.arena.name); live && *live && (*live)->store_id == store &&
                                                               (*live)->revision > snap->revision())
      return log("cache " + options.cache_file + " holds revision " + std::to_string(snap->revision()) +
                 ", older than the live arena's " + std::to_string((*live)->revision) + ": waiting for upstream");
    shm::Batch batch;
    batch.revision = snap->revision();
    add_snapshot(*snap, batch);
    if (auto loaded = load_full(batch, store); !loaded) {
      log("ignoring cache " + options.cache_file + ": " + loaded.error().message);
      status.has_data = false;
      if (auto fresh = new_arena(); !fresh) fatal("arena: " + fresh.error().message);
      return;
    }
    status.warm_started = true;
    log("warm start from " + options.cache_file + " at revision " + std::to_string(snap->revision()));
  }

  void write_cache() {
    if (options.cache_file.empty() || !cache_dirty) return;
    wire::RecordList versions, instances, contracts, resolutions;
    writer->visit_records([&](shm::ArenaWriter::RecordType type, std::span<const uint8_t> bytes) {
      using Type = shm::ArenaWriter::RecordType;
      (type == Type::Version ? versions : type == Type::Instance ? instances : type == Type::Contract ? contracts : resolutions)
          .append(bytes);
    });
    auto snapshot = wire::build_snapshot(versions, instances, contracts, status.revision, store_id, resolutions);
    if (auto written = write_cache_file(options.cache_file, {snapshot.data(), snapshot.size()}); !written)
      return log(written.error().message);
    cache_dirty = false;
    ++status.cache_writes;
  }

  void schedule_cache() {
    std::weak_ptr<State> weak = shared_from_this();
    cache_timer = loop.after(std::chrono::seconds(1), [weak] {
      auto self = weak.lock();
      if (!self || self->stopped) return;
      self->write_cache();
      self->schedule_cache();
    });
  }

  // --- the connection ------------------------------------------------------------------------

  void connect_next() {
    if (stopped) return;
    const std::string upstream = options.upstreams[next_upstream++ % options.upstreams.size()];
    status.upstream = upstream;
    auto cannot_connect = [&](const Error& error) {
      connection_failed("cannot connect to " + upstream + ": " + error.message);
      retry();
    };
    auto address = net::parse_address(upstream);
    if (!address) return cannot_connect(address.error());
    auto socket = net::open_stream_socket(*address);
    if (!socket) return cannot_connect(socket.error());
    fd = *socket;
    const uint64_t id = ++connection;
    std::weak_ptr<State> weak = shared_from_this();
    loop.connect(fd, address->storage, address->length, [weak, id, upstream](int result) {
      auto self = weak.lock();
      if (!self || id != self->connection || self->stopped) return;
      if (result < 0) {
        self->connection_failed("cannot connect to " + upstream + ": " + std::strerror(-result));
        self->disconnect();
        return self->retry();
      }
      self->on_connected(id, upstream);
    });
  }

  void on_connected(uint64_t id, const std::string& upstream) {
    status.connected = true;
    log("connected to " + upstream + "; resuming from revision " + std::to_string(status.revision));
    reader = wire::FrameReader(options.max_frame_bytes);
    snapshot_chunks.clear();
    flatbuffers::FlatBufferBuilder fbb;
    // The revision only means something with the store it came from: without one, or with
    // another server's store, the answer is a whole snapshot.
    fbb.Finish(wire::CreateHello(fbb, fbb.CreateString(options.agent_id), status.revision,
                                 options.token ? fbb.CreateString(*options.token) : 0,
                                 store_id.empty() ? 0 : fbb.CreateString(store_id)));
    auto hello = wire::make_frame(wire::FrameType::Hello, {fbb.GetBufferPointer(), fbb.GetSize()});
    std::weak_ptr<State> weak = shared_from_this();
    loop.send_all(fd, hello, 0, [weak, id](ssize_t n) {
      auto self = weak.lock();
      if (self && id == self->connection && n < 0)
        self->lost(std::string("cannot send Hello: ") + std::strerror(static_cast<int>(-n)));
    });
    last_frame_ms = base::unix_ms();
    watch_idle(id);
    receive(id);
  }

  void watch_idle(uint64_t id) {
    std::weak_ptr<State> weak = shared_from_this();
    idle_timer = loop.after(options.idle_timeout / 4, [weak, id] {
      auto self = weak.lock();
      if (!self || id != self->connection || self->stopped) return;
      if (base::unix_ms() - self->last_frame_ms > self->options.idle_timeout.count())
        return self->lost("no frame from upstream for " + std::to_string(self->options.idle_timeout.count()) + " ms");
      self->watch_idle(id);
    });
  }

  void receive(uint64_t id) {
    std::weak_ptr<State> weak = shared_from_this();
    loop.recv(fd, buffer, [weak, id](ssize_t n) {
      auto self = weak.lock();
      if (!self || id != self->connection || self->stopped) return;
      if (n == 0) return self->lost("upstream closed the connection");
      if (n < 0) return self->lost(std::string("receive failed: ") + std::strerror(static_cast<int>(-n)));
      self->reader.feed({self->buffer.data(), static_cast<size_t>(n)});
      // Every Delta this read brought is published before readers are woken and retired memory
      // is reclaimed: those are paid once per read, not per change. (A frame that replaces the
      // arena leaves a writer that is not in a burst: ending it is then a no-op.)
      self->writer->begin_burst();
      bool go_on = true;
      while (go_on) {
        auto frame = self->reader.next();
        if (!frame) break;
        go_on = self->handle(*frame) && id == self->connection;
      }
      self->writer->end_burst();
      if (!go_on) return;
      if (auto& error = self->reader.error()) {
        ++self->status.bad_frames;
        return self->lost(error->message);
      }
      self->receive(id);
    });
  }

  // False when the connection was dropped.
  bool handle(const wire::Frame& frame) {
    ++status.frames;
    last_frame_ms = base::unix_ms();
    writer->touch_upstream(last_frame_ms);
    status.last_upstream_contact_ms = last_frame_ms;
    attempt = 0;  // a working upstream resets the backoff
    upstream_answered();
    const std::string where = "frame at offset " + std::to_string(frame.offset) + ": ";
    auto bad = [&](const std::string& why) {
      ++status.bad_frames;
      lost(where + why);
      return false;
    };
    switch (frame.type) {
        case wire::FrameType::Snapshot: {
          if (auto valid = wire::verify<wire::Snapshot>(frame.payload); !valid) return bad(valid.error().message);
          // Keep an aligned copy: the frame's bytes are reused by the next read.
          snapshot_chunks.emplace_back((frame.payload.size() + 7) / 8);
          std::memcpy(snapshot_chunks.back().data(), frame.payload.data(), frame.payload.size());
          auto* chunk = flatbuffers::GetRoot<wire::Snapshot>(snapshot_chunks.back().data());
          if (!chunk->last()) return true;
          const auto start = std::chrono::steady_clock::now();
          shm::Batch batch;
          batch.revision = chunk->revision();
          for (auto& words : snapshot_chunks) add_snapshot(*flatbuffers::GetRoot<wire::Snapshot>(words.data()), batch);
          auto loaded = load_full(batch, chunk->store_id() ? chunk->store_id()->string_view() : std::string_view());
          snapshot_chunks.clear();
          if (!loaded) return arena_failed(loaded.error());
          snapshot_seconds.observe(seconds_since(start));
          ++status.snapshots;
          log("snapshot applied: revision " + std::to_string(status.revision));
          return true;
        }
        case wire::FrameType::Delta: {
          if (auto valid = wire::verify<wire::Delta>(frame.payload); !valid) return bad(valid.error().message);
          auto* delta = flatbuffers::GetRoot<wire::Delta>(frame.payload.data());
          if (delta->from_revision() != status.revision)
            return bad("delta from revision " + std::to_string(delta->from_revision()) + " does not follow ours (" +
                       std::to_string(status.revision) + ")");
          const auto start = std::chrono::steady_clock::now();
          if (auto applied = writer->apply(batch_of(*delta)); !applied) return arena_failed(applied.error());
          delta_seconds.observe(seconds_since(start));
          status.revision = delta->revision();
          status.generation = writer->generation();
          status.has_data = true;
          cache_dirty = true;
          ++status.deltas;
          return true;
        }
        case wire::FrameType::Keepalive:
          if (auto valid = wire::verify<wire::Keepalive>(frame.payload); !valid) return bad(valid.error().message);
          return true;
        case wire::FrameType::Error: {
          std::string message = "upstream refused us";
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

  // The arena could not take a change. Readers keep the last published generation meanwhile.
  //  - full: a larger arena (twice the size, up to --max-segment-bytes) and the whole registry again;
  //  - refused (the upstream sent something inconsistent): a fresh arena and the whole registry;
  //  - anything else (the name is taken by someone else, /dev/shm refuses us): nothing this agent
  //    can fix by retrying or by growing; it says why and stops.
  bool arena_failed(const Error& error) {
    if (error.kind == ErrorKind::TooLarge) {
      if (options.arena.segment_bytes >= options.max_segment_bytes)
        return fatal("arena: " + error.message + "; it is already at --max-segment-bytes (" +
                     std::to_string(options.max_segment_bytes) + ")");
      options.arena.segment_bytes = std::min(options.arena.segment_bytes * 2, options.max_segment_bytes);
      log::warn("arena: {}; starting a {}-byte arena and requesting a snapshot", error.message,
                options.arena.segment_bytes);
    } else if (error.kind == ErrorKind::Invalid) {
      log::warn("arena: {}; starting a fresh arena and requesting a snapshot", error.message);
    } else {
      return fatal("arena: " + error.message);
    }
    if (auto fresh = new_arena(); !fresh) return fatal("arena: " + fresh.error().message);
    status.has_data = false;
    status.revision = 0;
    store_id.clear();
    lost("resynchronising");
    return false;
  }

  // Stops the agent for good (the loop returns and the process exits non-zero).
  bool fatal(const std::string& why) {
    log::error("{}: stopping", why);
    failure = Error{ErrorKind::Unavailable, "agent_stopped", why, ""};
    disconnect();
    stopped = true;
    loop.stop();
    return false;
  }

  void disconnect() {
    ++connection;  // callbacks of the old connection are ignored from now on
    loop.cancel_timer(idle_timer);
    if (fd >= 0) loop.close(fd);
    fd = -1;
    status.connected = false;
  }

  void lost(const std::string& why) {
    connection_failed("disconnected from " + status.upstream + ": " + why, true);
    disconnect();
    retry();
  }

  // Full-jitter exponential backoff: many agents that lost the same server do not return in step.
  void retry() {
    if (stopped) return;
    ++status.reconnects;
    const int64_t cap = std::min<int64_t>(options.backoff_max.count(), options.backoff_base.count() << std::min(attempt, 16u));
    ++attempt;
    const int64_t delay = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(1, cap))(rng);
    std::weak_ptr<State> weak = shared_from_this();
    retry_timer = loop.after(std::chrono::milliseconds(delay), [weak] {
      if (auto self = weak.lock()) self->connect_next();
    });
  }
};

Agent::Agent(net::EventLoop& loop, AgentOptions options) : state_(std::make_shared<State>(loop, std::move(options))) {}

Result<std::unique_ptr<Agent>> Agent::create(net::EventLoop& loop, AgentOptions options) {
  if (options.upstreams.empty())
    return fail(ErrorKind::Invalid, "no_upstream", "roster-agent needs at least one upstream address");
  std::unique_ptr<Agent> agent(new Agent(loop, std::move(options)));
  // An agent killed before it named its arena left segments behind (each the full arena size).
  const auto& name = agent->state_->options.arena.name;
  const auto abandoned = shm::clean_up_abandoned(name);
  if (abandoned.removed) log::info("arena {}: removed {} segment(s) a dead agent left", name, abandoned.removed);
  if (abandoned.publish_finished) log::warn("arena {}: finished publishing what a dead agent had published in part", name);
  if (auto arena = agent->state_->new_arena(); !arena) return fail(arena.error());
  return agent;
}

Agent::~Agent() { stop(); }

void Agent::start() {
  state_->warm_start();
  state_->schedule_cache();
  state_->connect_next();
}

void Agent::stop() {
  State& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  s.disconnect();
  s.loop.cancel_timer(s.cache_timer);
  s.loop.cancel_timer(s.retry_timer);
  s.write_cache();
}

AgentStatus Agent::status() const { return state_->status; }

std::optional<Error> Agent::failure() const { return state_->failure; }

void Agent::remove_arena() { state_->writer->remove_segments(); }

std::string Agent::metrics() const {
  const AgentStatus& s = state_->status;
  const auto arena = state_->writer->stats();
  base::PrometheusText m;
  m.gauge("roster_build_info", "Always 1; the labels say which roster this is", 1,
          {{"program", "roster-agent"}, {"version", kVersion}});
  m.gauge("roster_agent_connected", "1 while connected to an upstream", s.connected);
  m.gauge("roster_agent_revision", "The upstream revision the arena holds", static_cast<double>(s.revision));
  m.gauge("roster_agent_generation", "The arena's published generation", static_cast<double>(arena.generation));
  m.gauge("roster_agent_staleness_seconds", "Seconds since the last frame from upstream (-1: never)",
          s.last_upstream_contact_ms ? (base::unix_ms() - s.last_upstream_contact_ms) / 1000.0 : -1);
  m.counter("roster_agent_frames_total", "Frames received from upstream", s.frames);
  m.histogram("roster_agent_delta_apply_seconds", "Time to apply one Delta to the arena and publish it",
              state_->delta_seconds);
  m.histogram("roster_agent_snapshot_load_seconds", "Time to load a whole Snapshot into a fresh arena",
              state_->snapshot_seconds);
  m.counter("roster_agent_deltas_total", "Deltas applied", s.deltas);
  m.counter("roster_agent_snapshots_total", "Snapshots applied", s.snapshots);
  m.counter("roster_agent_reconnects_total", "Connection attempts after the first", s.reconnects);
  m.counter("roster_agent_bad_frames_total", "Frames refused as malformed", s.bad_frames);
  m.gauge("roster_agent_arena_free_bytes", "Free bytes in the arena's heap", arena.heap_free_bytes);
  m.gauge("roster_agent_pinned_views", "Reader Views pinning older generations at the last reclaim", arena.pinned_views);
  m.counter("roster_agent_evicted_views_total", "Reader pins revoked for age", arena.evicted_views);
  m.counter("roster_agent_dead_readers_total", "Slots of killed readers released", arena.dead_readers);
  m.gauge("roster_agent_reader_file_truncated", "1 when a reader shrank the reader-slot file (nothing is freed)",
          arena.readers_truncated);
  return m.text();
}

}  // namespace roster::agent
