// The agent streams: an agent says Hello with its last revision and gets the deltas since then
// (or a chunked snapshot when the change log no longer covers it), then every delta as it is
// committed — one encoded frame shared by all connections — and keepalives. An agent whose send
// queue grows past its bound is cut off (it reconnects and resumes) rather than slowing others.
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
  uint32_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  size_t max_queued_bytes = size_t{64} << 20;
  std::chrono::milliseconds keepalive_interval{5000};
  std::chrono::milliseconds hello_timeout{10000};
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
