#include "roster/agent/agent.hpp"

#include "cache_file.hpp"
#include "frame_batch.hpp"

#include <algorithm>
#include <chrono>

#include "roster/base/clock.hpp"
#include "roster/base/log.hpp"
#include "roster/base/prometheus.hpp"
#include "roster/base/version.hpp"
#include "roster/link/stream_link.hpp"
#include "roster/wire/roster_generated.h"
#include "roster/wire/snapshot.hpp"

namespace roster::agent {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A fresh federated arena takes its name once every registry is in it, or after this long with
// those that are (a registry whose upstream is down and that has no cache does not keep the
// others from readers).
constexpr auto kFederatedNameWait = std::chrono::seconds(2);

}  // namespace

struct Agent::State;

// One registry the arena mirrors: its link to upstream, where it is, its cache file.
struct Mirror : link::StreamLink::Handler {
  Agent::State& agent;
  uint32_t index;
  std::string name;  // "" when not federated
  std::string cache_file;
  RegistryStatus status;
  std::string store_id;  // the upstream store status.revision belongs to
  bool cache_dirty = false;
  std::unique_ptr<link::StreamLink> link;

  Mirror(Agent::State& a, uint32_t i, std::string n, std::string cache) : agent(a), index(i), name(std::move(n)), cache_file(std::move(cache)) {
    status.name = name;
  }
  std::pair<uint64_t, std::string> resume_point() override { return {status.revision, store_id}; }
  void on_contact(int64_t unix_ms) override;
  void before_frames() override;
  void after_frames() override;
  Result<void> on_snapshot(std::span<const wire::Snapshot* const> chunks) override;
  Result<void> on_delta(const wire::Delta& delta) override;
  // Starts over: a snapshot on the next connection.
  void forget() {
    status.revision = 0;
    status.has_data = false;
    store_id.clear();
  }
};

struct Agent::State : std::enable_shared_from_this<Agent::State> {
  net::EventLoop& loop;
  AgentOptions options;
  std::unique_ptr<shm::ArenaWriter> writer;
  std::vector<std::unique_ptr<Mirror>> mirrors;
  bool federated = false;
  std::optional<Error> failure;  // why the agent stopped by itself
  bool stopped = false;
  uint64_t cache_writes = 0;
  net::EventLoop::TimerId upkeep_timer = 0, name_timer = 0;
  bool name_wait_over = false;  // a fresh federated arena waited kFederatedNameWait for every registry
  // How long applying upstream's changes takes here (the arena's write and publish).
  base::LatencyHistogram delta_seconds, snapshot_seconds;

  State(net::EventLoop& l, AgentOptions o) : loop(l), options(std::move(o)) {
    federated = !options.federate.empty();
    auto cache_of = [&](const std::string& registry) {
      return options.cache_file.empty() || !federated ? options.cache_file : options.cache_file + "." + registry;
    };
    if (!options.upstreams.empty() || !federated) {
      const std::string local = federated ? options.local_registry : "";
      mirrors.push_back(std::make_unique<Mirror>(*this, 0, local, cache_of(local)));
    }
    for (auto& f : options.federate)
      mirrors.push_back(std::make_unique<Mirror>(*this, static_cast<uint32_t>(mirrors.size()), f.name, cache_of(f.name)));
    if (federated) {
      for (auto& m : mirrors) options.arena.registries.push_back(m->name);
      options.arena.preferred = options.prefer;
    }
  }

  void log(const std::string& message) const { log::info("{}", message); }
  std::string label(const Mirror& m) const { return federated ? "registry " + m.name : "upstream"; }

  // --- the arena -----------------------------------------------------------------------------

  // A fresh arena. Readers move to it once it holds every registry (or a federated one's wait ran
  // out): until then the previous arena of the name keeps serving.
  Result<void> new_arena() {
    auto created = shm::ArenaWriter::create(options.arena);
    if (!created) return fail(created.error());
    writer = std::move(*created);
    writer->hold_name();
    name_wait_over = false;
    if (federated) {
      loop.cancel_timer(name_timer);
      std::weak_ptr<State> weak = shared_from_this();
      name_timer = loop.after(kFederatedNameWait, [weak] {
        if (auto self = weak.lock(); self && !self->stopped) {
          self->name_wait_over = true;
          self->take_name();
        }
      });
    }
    return {};
  }

  // Readers see the arena once every registry is in it, or, after the wait, once any is.
  void take_name() {
    if (writer->named()) return;
    const bool all = std::all_of(mirrors.begin(), mirrors.end(), [](auto& m) { return m->status.has_data; });
    const bool any = std::any_of(mirrors.begin(), mirrors.end(), [](auto& m) { return m->status.has_data; });
    if (!(all || (name_wait_over && any))) return;
    loop.cancel_timer(name_timer);
    if (auto named = writer->publish_empty(); !named) fatal("arena: " + named.error().message);
  }

  // `batch` is `m`'s whole state. Not federated: it replaces the arena (a fresh segment that
  // readers move to by themselves). Federated: it replaces what the arena holds of that registry,
  // in place, in one generation.
  Result<void> load_full(Mirror& m, shm::Batch& batch, std::string_view store) {
    if (!federated && m.status.has_data)
      if (auto fresh = new_arena(); !fresh) return fresh;
    batch.registry = m.index;
    batch.replaces_registry = federated;
    if (auto set = writer->set_store(store, m.index); !set) return set;
    if (auto applied = writer->apply(batch); !applied) return fail(applied.error());
    m.store_id = std::string(store);
    m.status.revision = batch.revision;
    m.status.has_data = true;
    m.cache_dirty = true;
    take_name();
    return {};
  }

  void warm_start(Mirror& m) {
    if (m.cache_file.empty()) return;
    auto cached = read_cache_file(m.cache_file);
    if (!cached) {
      if (cached.error().kind != ErrorKind::NotFound) log("ignoring cache: " + cached.error().message);
      return;
    }
    const wire::Snapshot* snap = cached->snapshot;
    const std::string_view store = snap->store_id() ? snap->store_id()->string_view() : std::string_view();
    // Never replace what readers see with something older of the same store (an agent restarted
    // with a stale cache): wait for upstream instead, while the live arena keeps serving.
    if (auto live = shm::published_arena(options.arena.name); live && *live)
      for (auto& r : (*live)->registries)
        if (r.name == m.name && r.store_id == store && r.revision > snap->revision())
          return log("cache " + m.cache_file + " holds revision " + std::to_string(snap->revision()) +
                     ", older than the live arena's " + std::to_string(r.revision) + ": waiting for upstream");
    shm::Batch batch;
    batch.revision = snap->revision();
    add_snapshot(*snap, batch);
    if (auto loaded = load_full(m, batch, store); !loaded) {
      log("ignoring cache " + m.cache_file + ": " + loaded.error().message);
      m.forget();
      // A refused batch changed nothing; one that did not fit left a writer that takes no more.
      if (loaded.error().kind != ErrorKind::Invalid)
        if (auto fresh = replace_arena(m); !fresh) fatal("arena: " + fresh.error().message);
      return;
    }
    m.status.warm_started = true;
    log("warm start from " + m.cache_file + " at revision " + std::to_string(snap->revision()));
  }

  void write_cache(Mirror& m) {
    if (m.cache_file.empty() || !m.cache_dirty) return;
    wire::RecordList versions, instances, contracts, resolutions;
    writer->visit_records(m.index, [&](shm::ArenaWriter::RecordType type, std::span<const uint8_t> bytes) {
      using Type = shm::ArenaWriter::RecordType;
      (type == Type::Version ? versions : type == Type::Instance ? instances : type == Type::Contract ? contracts : resolutions)
          .append(bytes);
    });
    auto snapshot = wire::build_snapshot(versions, instances, contracts, m.status.revision, m.store_id, resolutions);
    if (auto written = write_cache_file(m.cache_file, {snapshot.data(), snapshot.size()}); !written)
      return log(written.error().message);
    m.cache_dirty = false;
    ++cache_writes;
  }

  // Each second: the cache files of registries that changed, and what the writer retired since
  // its last reclaim (a batch reclaims only every ArenaOptions::reclaim_interval, so the last
  // ones before a quiet spell wait for this).
  void schedule_upkeep() {
    std::weak_ptr<State> weak = shared_from_this();
    upkeep_timer = loop.after(std::chrono::seconds(1), [weak] {
      auto self = weak.lock();
      if (!self || self->stopped) return;
      for (auto& m : self->mirrors) self->write_cache(*m);
      if (self->writer) self->writer->reclaim();
      self->schedule_upkeep();
    });
  }

  // The arena could not take `failed`'s change. Readers keep the last published generation meanwhile.
  //  - full: a larger arena (twice the size, up to --max-segment-bytes);
  //  - refused (the upstream sent something inconsistent): a fresh arena;
  //  - anything else (the name is taken by someone else, /dev/shm refuses us): nothing this agent
  //    can fix by retrying or by growing; it says why and stops.
  // The new arena gets the other registries' state from the old one, and `failed` a snapshot.
  Result<void> arena_failed(Mirror& failed, const Error& error) {
    if (error.kind == ErrorKind::TooLarge) {
      if (options.arena.segment_bytes >= options.max_segment_bytes) {
        fatal("arena: " + error.message + "; it is already at --max-segment-bytes (" +
              std::to_string(options.max_segment_bytes) + ")");
        return fail(error);
      }
      options.arena.segment_bytes = std::min(options.arena.segment_bytes * 2, options.max_segment_bytes);
      log::warn("arena: {}; starting a {}-byte arena and requesting a snapshot", error.message,
                options.arena.segment_bytes);
    } else if (error.kind == ErrorKind::Invalid) {
      log::warn("arena: {}; starting a fresh arena and requesting a snapshot", error.message);
    } else {
      fatal("arena: " + error.message);
      return fail(error);
    }
    failed.forget();
    if (auto fresh = replace_arena(failed); !fresh) {
      fatal("arena: " + fresh.error().message);
      return fail(error);
    }
    failed.link->reconnect("resynchronising");
    return fail(ErrorKind::Unavailable, "resynchronising", "resynchronising");
  }

  // A fresh arena in place of the current one, with every registry's state but `dropped`'s (which
  // starts over). A registry that cannot be carried over asks its upstream for a snapshot.
  Result<void> replace_arena(Mirror& dropped) {
    std::unique_ptr<shm::ArenaWriter> old = std::move(writer);
    if (auto fresh = new_arena(); !fresh) return fresh;
    for (auto& m : mirrors) {
      if (m.get() == &dropped || !m->status.has_data) continue;
      if (auto carried = carry_over(*old, *m); !carried) {
        log::warn("arena: registry {} could not be carried over ({}); requesting a snapshot", m->name,
                  carried.error().message);
        m->forget();
        m->link->reconnect("resynchronising");
      }
    }
    return {};
  }

  // `m`'s state in the `old` arena, into the new one.
  Result<void> carry_over(const shm::ArenaWriter& old, Mirror& m) {
    shm::Batch batch;  // views the old arena's records, which outlive it here
    old.visit_records(m.index, [&](shm::ArenaWriter::RecordType type, std::span<const uint8_t> bytes) {
      using Type = shm::ArenaWriter::RecordType;
      auto& list = type == Type::Version ? batch.upsert_versions : type == Type::Instance ? batch.upsert_instances
                   : type == Type::Contract ? batch.upsert_contracts : batch.resolutions;
      list.push_back(bytes);
    });
    batch.revision = m.status.revision;
    return load_full(m, batch, m.store_id);
  }

  // Stops the agent for good (the loop returns and the process exits non-zero).
  void fatal(const std::string& why) {
    log::error("{}: stopping", why);
    failure = Error{ErrorKind::Unavailable, "agent_stopped", why, ""};
    stop_links();
    stopped = true;
    loop.stop();
  }

  void stop_links() {
    for (auto& m : mirrors)
      if (m->link) m->link->stop();
  }
};

void Mirror::on_contact(int64_t unix_ms) { agent.writer->touch_upstream(unix_ms, index); }
void Mirror::before_frames() { agent.writer->begin_burst(); }
void Mirror::after_frames() {
  // Every Delta one read brought is published before readers are woken and retired memory is
  // reclaimed: those are paid once per read, not per change. (A writer replaced meanwhile is not
  // in a burst: ending it is then a no-op.)
  agent.writer->end_burst();
}

Result<void> Mirror::on_snapshot(std::span<const wire::Snapshot* const> chunks) {
  const auto start = std::chrono::steady_clock::now();
  shm::Batch batch;
  batch.revision = chunks.back()->revision();
  for (auto* chunk : chunks) add_snapshot(*chunk, batch);
  auto* last = chunks.back();
  if (auto loaded = agent.load_full(*this, batch, last->store_id() ? last->store_id()->string_view() : std::string_view());
      !loaded)
    return agent.arena_failed(*this, loaded.error());
  agent.snapshot_seconds.observe(seconds_since(start));
  ++status.snapshots;
  agent.log((agent.federated ? "registry " + name + ": " : std::string()) + "snapshot applied: revision " +
            std::to_string(status.revision));
  return {};
}

Result<void> Mirror::on_delta(const wire::Delta& delta) {
  if (delta.from_revision() != status.revision) {
    ++status.bad_frames;
    return fail(ErrorKind::Invalid, "out_of_order",
                "delta from revision " + std::to_string(delta.from_revision()) + " does not follow ours (" +
                    std::to_string(status.revision) + ")");
  }
  const auto start = std::chrono::steady_clock::now();
  shm::Batch batch = batch_of(delta);
  batch.registry = index;
  if (auto applied = agent.writer->apply(batch); !applied) return agent.arena_failed(*this, applied.error());
  agent.delta_seconds.observe(seconds_since(start));
  status.revision = delta.revision();
  status.has_data = true;
  cache_dirty = true;
  ++status.deltas;
  agent.take_name();
  return {};
}

Agent::Agent(net::EventLoop& loop, AgentOptions options) : state_(std::make_shared<State>(loop, std::move(options))) {}

Result<std::unique_ptr<Agent>> Agent::create(net::EventLoop& loop, AgentOptions options) {
  if (options.upstreams.empty() && options.federate.empty())
    return fail(ErrorKind::Invalid, "no_upstream", "roster-agent needs at least one upstream address");
  for (auto& f : options.federate)
    if (f.upstreams.empty())
      return fail(ErrorKind::Invalid, "no_upstream", "registry " + f.name + " needs at least one upstream address");
  std::unique_ptr<Agent> agent(new Agent(loop, std::move(options)));
  State& s = *agent->state_;
  // An agent killed before it named its arena left segments behind (each the full arena size).
  const auto& name = s.options.arena.name;
  const auto abandoned = shm::clean_up_abandoned(name);
  if (abandoned.removed) log::info("arena {}: removed {} segment(s) a dead agent left", name, abandoned.removed);
  if (abandoned.publish_finished) log::warn("arena {}: finished publishing what a dead agent had published in part", name);
  if (auto arena = s.new_arena(); !arena) return fail(arena.error());
  const bool with_local = !s.options.upstreams.empty() || !s.federated;
  for (auto& m : s.mirrors) {
    link::LinkOptions lo;
    lo.addresses = with_local && m->index == 0 ? s.options.upstreams : s.options.federate[m->index - with_local].upstreams;
    lo.client_id = s.options.agent_id;
    lo.token = s.options.token;
    lo.backoff_base = s.options.backoff_base;
    lo.backoff_max = s.options.backoff_max;
    lo.idle_timeout = s.options.idle_timeout;
    lo.max_frame_bytes = s.options.max_frame_bytes;
    lo.label = s.label(*m);
    m->link = std::make_unique<link::StreamLink>(loop, std::move(lo), *m);
  }
  return agent;
}

Agent::~Agent() { stop(); }

void Agent::start() {
  State& s = *state_;
  for (auto& m : s.mirrors) s.warm_start(*m);
  s.schedule_upkeep();
  for (auto& m : s.mirrors) m->link->start();
}

void Agent::stop() {
  State& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  s.stop_links();
  s.loop.cancel_timer(s.upkeep_timer);
  s.loop.cancel_timer(s.name_timer);
  for (auto& m : s.mirrors) s.write_cache(*m);
}

AgentStatus Agent::status() const {
  const State& s = *state_;
  AgentStatus out;
  out.connected = true;
  out.generation = s.writer->generation();
  out.cache_writes = s.cache_writes;
  for (auto& m : s.mirrors) {
    RegistryStatus r = m->status;
    const link::LinkStatus& l = m->link->status();
    r.connected = l.connected;
    r.upstream = l.address;
    r.last_upstream_contact_ms = l.last_contact_ms;
    r.outage_since_ms = l.outage_since_ms;
    r.frames = l.frames;
    r.reconnects = l.reconnects;
    r.bad_frames += l.bad_frames;
    out.connected &= r.connected;
    if (r.outage_since_ms && (!out.outage_since_ms || r.outage_since_ms < out.outage_since_ms))
      out.outage_since_ms = r.outage_since_ms;
    out.frames += r.frames;
    out.deltas += r.deltas;
    out.snapshots += r.snapshots;
    out.reconnects += r.reconnects;
    out.bad_frames += r.bad_frames;
    out.warm_started |= r.warm_started;
    out.has_data |= r.has_data;
    out.registries.push_back(std::move(r));
  }
  const RegistryStatus& first = out.registries.front();
  out.upstream = first.upstream;
  out.revision = first.revision;
  out.last_upstream_contact_ms = first.last_upstream_contact_ms;
  return out;
}

std::optional<Error> Agent::failure() const { return state_->failure; }

void Agent::remove_arena() { state_->writer->remove_segments(); }

std::string Agent::metrics() const {
  const AgentStatus s = status();
  const auto arena = state_->writer->stats();
  base::PrometheusText m;
  m.gauge("roster_build_info", "Always 1; the labels say which roster this is", 1,
          {{"program", "roster-agent"}, {"version", kVersion}});
  m.gauge("roster_agent_connected", "1 while connected to an upstream (of every registry)", s.connected);
  m.gauge("roster_agent_revision", "The upstream revision the arena holds (of the first registry)",
          static_cast<double>(s.revision));
  m.gauge("roster_agent_generation", "The arena's published generation", static_cast<double>(arena.generation));
  auto staleness = [](int64_t contact) { return contact ? (base::unix_ms() - contact) / 1000.0 : -1; };
  m.gauge("roster_agent_staleness_seconds", "Seconds since the last frame from upstream (of the first registry; -1: never)",
          staleness(s.last_upstream_contact_ms));
  // A federated agent: each registry's series (one family each, a sample per registry).
  auto per_registry = [&](std::string_view name, std::string_view help, auto value) {
    for (size_t i = 0; i < s.registries.size(); ++i) {
      const auto& r = s.registries[i];
      if (i == 0)
        m.gauge(name, help, value(r), {{"registry", r.name}});
      else
        m.sample(value(r), {{"registry", r.name}});
    }
  };
  if (state_->federated) {
    per_registry("roster_agent_registry_connected", "1 while connected to the registry's upstream",
                 [](const RegistryStatus& r) { return r.connected ? 1.0 : 0.0; });
    per_registry("roster_agent_registry_revision", "The registry's revision the arena holds",
                 [](const RegistryStatus& r) { return static_cast<double>(r.revision); });
    per_registry("roster_agent_registry_staleness_seconds",
                 "Seconds since the last frame from the registry's upstream (-1: never)",
                 [&](const RegistryStatus& r) { return staleness(r.last_upstream_contact_ms); });
  }
  m.counter("roster_agent_frames_total", "Frames received from upstream", s.frames);
  m.histogram("roster_agent_delta_apply_seconds", "Time to apply one Delta to the arena and publish it",
              state_->delta_seconds);
  m.histogram("roster_agent_snapshot_load_seconds", "Time to load a whole Snapshot into the arena",
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
