// roster-agent's core: keeps the host's shared-memory arena a mirror of the upstream registry, or
// of several (federation, docs/federation.md). For each registry it keeps a link (link/) to one of
// that registry's upstream addresses, says Hello with the last revision it has, verifies every
// frame before it touches the arena, applies each delta as one generation, and on disconnect keeps
// serving that registry's last state while it reconnects. Writes each registry's state to a cache
// file (atomically) and starts from it, so readers have data at once even when no upstream answers.
#pragma once

#include <chrono>
#include <map>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/net/event_loop.hpp"
#include "roster/shm/writer.hpp"
#include "roster/wire/frame.hpp"

namespace roster::agent {

// A registry the agent mirrors besides (or instead of) its own upstream's.
struct FederatedRegistry {
  std::string name;
  std::vector<std::string> upstreams;
};

struct AgentOptions {
  std::vector<std::string> upstreams;  // "host:port" or "unix:/path", tried in turn
  // Federation: more registries, after the local one (`upstreams`, named `local_registry`) in the
  // order plain names resolve; `prefer`: service -> the registry that serves it when it has it.
  std::vector<FederatedRegistry> federate;
  std::string local_registry = "local";
  std::map<std::string, std::string> prefer;
  std::string agent_id;
  std::optional<std::string> token;
  shm::ArenaOptions arena;
  std::string cache_file;  // empty: no cache
  std::chrono::milliseconds backoff_base{100}, backoff_max{5000};
  std::chrono::milliseconds idle_timeout{20000};  // no frame (not even a keepalive) this long: reconnect
  uint32_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  // A full arena is replaced by one twice its size, never beyond this; then the agent stops.
  size_t max_segment_bytes = size_t{4} << 30;
};

// One registry's side of the agent.
struct RegistryStatus {
  std::string name;  // "" when not federated
  bool connected = false;
  std::string upstream;
  uint64_t revision = 0;
  int64_t last_upstream_contact_ms = 0, outage_since_ms = 0;
  uint64_t frames = 0, deltas = 0, snapshots = 0, reconnects = 0, bad_frames = 0;
  bool warm_started = false, has_data = false;
};

// The agent as a whole (the first registry's upstream, revision and contact; counters summed;
// connected when every registry is; an outage while any registry has one), then each registry.
struct AgentStatus {
  bool connected = false;
  std::string upstream;  // the one connected to, or last tried
  uint64_t revision = 0, generation = 0;
  int64_t last_upstream_contact_ms = 0;
  int64_t outage_since_ms = 0;  // when the current outage began (the first failure); 0: none
  uint64_t frames = 0, deltas = 0, snapshots = 0, reconnects = 0, bad_frames = 0, cache_writes = 0;
  bool warm_started = false;
  bool has_data = false;  // the arena holds a registry (from the cache file or upstream)
  std::vector<RegistryStatus> registries;
};

class Agent {
 public:
  // Errors: Invalid (no upstream), and the arena's (ArenaWriter::create).
  static Result<std::unique_ptr<Agent>> create(net::EventLoop& loop, AgentOptions options);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  void start();  // warm start from the cache, then connect
  void stop();   // closes the connection and writes the cache once more
  AgentStatus status() const;
  // Why the agent stopped by itself (an arena it cannot grow or name): the loop returns, and
  // the process should exit non-zero.
  std::optional<Error> failure() const;
  std::string metrics() const;  // Prometheus text
  void remove_arena();          // unlink the arena's names (tests, --remove-on-exit)

  struct State;

 private:
  Agent(net::EventLoop& loop, AgentOptions options);
  std::shared_ptr<State> state_;
};

}  // namespace roster::agent
