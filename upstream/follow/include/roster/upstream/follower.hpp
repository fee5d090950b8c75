// roster-server --follow NAME=ADDR[,ADDR...]: this server follows another roster-server's
// registry read-only (docs/federation.md, "Following another server"). A Follower speaks the
// agents' stream protocol to the followed server's stream port (through roster::link's
// StreamLink: failover over the addresses, Hello with where it stands, idle timeout, backoff) and
// hands each verified snapshot and delta to the Registry, which applies it as one revision of
// records marked with NAME and keeps where the stream stands, so a restart resumes from there.
// While the followed server is unreachable the followed records stay served; /metrics and
// /healthz say how stale they are.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/prometheus.hpp"
#include "roster/base/result.hpp"
#include "roster/link/stream_link.hpp"
#include "roster/net/event_loop.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::upstream {

// "NAME=ADDR[,ADDR...]": NAME non-empty, at most 31 bytes of [a-z0-9._-]; each ADDR host:port or
// unix:/path. Invalid (invalid_follow) naming what is wrong.
Result<FollowedRegistry> parse_follow(std::string_view text);
// Every --follow given, each registry named once.
Result<std::vector<FollowedRegistry>> parse_follows(const std::vector<std::string>& texts);

struct FollowOptions {
  std::string client_id;                // sent in Hello; the followed server logs it
  std::optional<std::string> token;     // the followed server's stream token
  std::chrono::milliseconds idle_timeout{20000}, backoff_base{100}, backoff_max{5000};
};

class Follower final : public link::StreamLink::Handler {
 public:
  // `loop`: the registry's (the link calls back on it).
  Follower(net::EventLoop& loop, Registry& registry, FollowedRegistry followed, const FollowOptions& options);
  void start() { link_.start(); }
  void stop() { link_.stop(); }

  const FollowedRegistry& followed() const { return followed_; }
  const link::LinkStatus& link_status() const { return link_.status(); }
  // Seconds since the followed server was last heard from (since this server started, before that).
  double staleness_seconds() const;

 private:
  // StreamLink::Handler: where the registry stands, and the frames it applies.
  std::pair<uint64_t, std::string> resume_point() override;
  Result<void> on_snapshot(std::span<const wire::Snapshot* const> chunks) override;
  Result<void> on_delta(const wire::Delta& delta) override;

  Registry& registry_;
  FollowedRegistry followed_;
  int64_t started_ms_;
  link::StreamLink link_;
};

// roster_follow_{connected,revision,staleness_seconds,conflicts_total}{registry=NAME}, a sample per follower.
void write_follow_metrics(std::span<const std::unique_ptr<Follower>> followers, const Registry& registry,
                          base::PrometheusText& out);
// /healthz's "following": [{registry, addresses, connected, address, revision, store_id,
// staleness_seconds, conflicts}], one per follower.
void write_follow_status(std::span<const std::unique_ptr<Follower>> followers, const Registry& registry,
                         wire::JsonWriter& w);

}  // namespace roster::upstream
