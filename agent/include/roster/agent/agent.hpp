// roster-agent's core: keeps the host's shared-memory arena a mirror of the upstream registry.
// Connects (io_uring) to one of a list of upstream addresses, says Hello with the last revision it
// has, verifies every frame before it touches the arena, applies each delta as one generation,
// and on disconnect keeps serving the last state while it reconnects with jittered exponential
// backoff to the next address. Writes the current state to a cache file (atomically) and starts
// from it, so readers have data at once even when no upstream answers.
#pragma once

#include <chrono>
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

struct AgentOptions {
  std::vector<std::string> upstreams;  // "host:port" or "unix:/path", tried in turn
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

struct AgentStatus {
  bool connected = false;
  std::string upstream;  // the one connected to, or last tried
  uint64_t revision = 0, generation = 0;
  int64_t last_upstream_contact_ms = 0;
  int64_t outage_since_ms = 0;  // when the current outage began (the first failure); 0: none
  uint64_t frames = 0, deltas = 0, snapshots = 0, reconnects = 0, bad_frames = 0, cache_writes = 0;
  bool warm_started = false;
  bool has_data = false;  // the arena holds a registry (from the cache file or upstream)
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
