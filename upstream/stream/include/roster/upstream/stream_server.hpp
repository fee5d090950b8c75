// The agent streams: an agent says Hello with its last revision and gets the deltas since then
// (or a chunked snapshot when the change log no longer covers it), then every delta as it is
// committed — one encoded frame shared by all connections — and keepalives. An agent whose send
// queue grows past its bound is cut off (it reconnects and resumes) rather than slowing others.
//
// Threads: the server's loop accepts, checks Hellos and makes catch-ups (it owns the registry);
// an accepted agent is then served by one of options.sender_threads threads (receives, sends,
// keepalives, cut-offs), each with its own io_uring. Call every method on the server's loop.
//
// Until its Hello is accepted a connection is a stranger: its frames may be max_hello_frame_bytes
// at most (a frame header announcing more is refused at once, before any of it is buffered), it
// must say Hello within hello_timeout, and it counts against its address's
// max_unauthenticated_per_address. Refusals are an Error frame (code 400, 401, 408 or 503, and
// the reason) followed by a close.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "roster/base/prometheus.hpp"
#include "roster/net/event_loop.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/wire/frame.hpp"

namespace roster::upstream {

struct StreamOptions {
  std::optional<std::string> token;  // agents must present it in Hello, when set
  uint32_t max_frame_bytes = wire::kDefaultMaxFrameBytes;  // after the Hello, and snapshot chunks
  // Before the Hello is accepted: what one frame may announce, so an unauthenticated peer makes
  // the server buffer this much at most. A Hello is an agent id, a revision and a token.
  uint32_t max_hello_frame_bytes = 64 * 1024;
  size_t max_queued_bytes = size_t{64} << 20;
  std::chrono::milliseconds keepalive_interval{5000};
  std::chrono::milliseconds hello_timeout{10000};
  // Open stream connections, agents and strangers together; beyond it a connection gets an
  // Error frame (503) and is closed.
  size_t max_connections = 10'000;
  // Connections from one address (net::peer_ip) still waiting for their Hello to be accepted;
  // beyond it that address gets 503 and others are unaffected. Unix-socket peers are not
  // counted. 0: no limit.
  size_t max_unauthenticated_per_address = 64;
  // Threads that serve agents once their Hello is accepted (receives, deltas, keepalives,
  // cut-offs), each with its own io_uring; connections are spread over them round-robin and each
  // delta is encoded once and shared. 0: the loop given to the server serves them too. Hellos,
  // snapshots and limits stay on that loop, which owns the registry.
  unsigned sender_threads = 0;
};

class StreamServer {
 public:
  StreamServer(net::EventLoop& loop, Registry& registry, StreamOptions options);
  ~StreamServer();
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  void listen(int listen_fd);  // owns and closes it
  void close();

  size_t connected_agents() const;
  void metrics(base::PrometheusText& out) const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace roster::upstream
