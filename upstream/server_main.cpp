// roster-server: the authoritative registry. Flags or a config file (--config, INI/TOML keys
// named like the flags). Prints one line `listening http=ADDR stream=ADDR` once it serves.
// Limits and what happens at each: docs/robustness.md.
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <optional>
#include <system_error>
#include <thread>
#include <unistd.h>

#include "roster/base/clock.hpp"
#include "roster/base/daemon_options.hpp"
#include "roster/base/log.hpp"
#include "roster/net/event_loop.hpp"
#include "roster/net/http_server.hpp"
#include "roster/net/socket.hpp"
#include "roster/net/stop_on_signal.hpp"
#include "roster/net/token.hpp"
#include "roster/upstream/follower.hpp"
#include "roster/upstream/http_api.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/upstream/store_url.hpp"
#include "roster/upstream/stream_server.hpp"

namespace {

// Serving a network address without a token lets anyone who can reach it change the registry;
// loopback and Unix sockets reach this host only.
roster::Result<void> check_exposure(const roster::net::SocketAddress& address, const char* flag, bool has_token,
                                    bool insecure) {
  if (has_token || address.is_local()) return {};
  if (!insecure)
    return roster::fail(roster::ErrorKind::Invalid, "token_required",
                        "refusing to serve " + address.to_string() + " (" + flag +
                            ") without a token: anyone who can reach it could change the registry. Give a token "
                            "(--token-file or the ROSTER_TOKEN environment variable), listen on a loopback address, "
                            "or pass --insecure to serve it open");
  roster::log::warn("serving {} ({}) without a token (--insecure): anyone who can reach it can change the registry",
                    address.to_string(), flag);
  return {};
}

// Sending one change to thousands of agents is mostly the kernel's TCP work, one send per agent:
// threads of their own let it use more than one core and leave the loop to the HTTP API. Half the
// cores: the rest for the loop, the committer and the kernel's side of the sends.
unsigned default_stream_threads() { return std::clamp(std::thread::hardware_concurrency() / 2, 1u, 8u); }

// Every agent stream is a descriptor: the soft limit (often 1024) would refuse agents long before
// --stream-max-connections. The hard limit is what the administrator allows.
void raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) roster::log::warn("could not raise the descriptor limit");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"roster-server: the authoritative roster registry"};
  std::string listen = "127.0.0.1:7070", stream = "127.0.0.1:7071", stream_unix, data_dir = "var/roster", store_url;
  std::string token, token_file, ready_file;
  int lease_seconds = 90, renew_seconds = 30;
  int sunset_days = 90, retire_days = 30, lifecycle_check_seconds = 60;
  std::string compatibility = "BACKWARD";
  std::vector<std::string> follow;
  std::string follow_token_file;
  bool insecure = false, group_commit = true;
  roster::net::HttpLimits http_limits;
  roster::upstream::StreamOptions stream_options;
  stream_options.sender_threads = default_stream_threads();
  roster::upstream::ApiOptions api_options;
  int64_t header_timeout_ms = http_limits.header_timeout.count(), idle_timeout_ms = http_limits.idle_timeout.count();
  int64_t hello_timeout_ms = stream_options.hello_timeout.count();
  roster::log::LogOptions log_options;
  roster::add_daemon_options(app, "roster-server", log_options);
  app.add_option("--listen", listen, "HTTP API address (host:port; port 0 = any)")->capture_default_str();
  app.add_option("--stream", stream, "Agent stream address (host:port)")->capture_default_str();
  app.add_option("--stream-unix", stream_unix, "Also serve agent streams on this Unix socket");
  app.add_option("--data-dir", data_dir, "Where the SQLite store lives (short for --store sqlite:DIR)")
      ->capture_default_str();
  app.add_option("--store", store_url,
                 "The store: sqlite:DIR (the default, on --data-dir) or "
                 "etcd://HOST:PORT[,HOST:PORT...][/PREFIX][?keep-history=SECONDS], which several servers share");
  app.add_option("--token", token,
                 "Bearer token required on writes and agent streams (visible in ps: prefer --token-file or ROSTER_TOKEN)");
  app.add_option("--token-file", token_file, "Read the token from this file's first line");
  app.add_flag("--group-commit,!--no-group-commit", group_commit,
               "SQLite store: commit the writes that arrive together with one fsync, off the event loop "
               "(--no-group-commit: one fsync per write, on the loop)")
      ->capture_default_str();
  app.add_flag("--insecure", insecure, "Serve a non-loopback --listen or --stream address without a token");
  app.add_option("--lease-duration", lease_seconds, "Seconds an instance lives without a renewal")->capture_default_str();
  app.add_option("--lease-renewal", renew_seconds, "Seconds between the renewals instances send")->capture_default_str();
  roster::upstream::LeaseOptions lease_defaults;
  bool self_preservation = lease_defaults.self_preservation;
  double preservation_threshold = lease_defaults.self_preservation_threshold;
  int preservation_window_seconds = static_cast<int>(lease_defaults.renewal_window.count() / 1000);
  size_t preservation_min_leases = lease_defaults.self_preservation_min_leases;
  int preservation_max_hold_seconds = static_cast<int>(lease_defaults.self_preservation_max_hold.count() / 1000);
  app.add_flag("--self-preservation,!--no-self-preservation", self_preservation,
               "Stop expiring leases while renewals fall far short of what the leases should send (a partition, "
               "more likely than that many instances dying at once; on by default)");
  app.add_option("--self-preservation-threshold", preservation_threshold,
                 "Renewals below this share of the expected ones turn self-preservation on")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--self-preservation-window", preservation_window_seconds, "Seconds over which renewals are counted")
      ->check(CLI::Range(1, 86400))->capture_default_str();
  app.add_option("--self-preservation-min-leases", preservation_min_leases,
                 "Fewer leases than this never turn it on (one dead instance is a large share of a small registry)")
      ->capture_default_str();
  app.add_option("--self-preservation-max-hold", preservation_max_hold_seconds,
                 "Seconds after which a shortfall that has not recovered is treated as a loss and leases expire again")
      ->check(CLI::Range(1, 7 * 86400))->capture_default_str();
  app.add_option("--max-body-bytes", http_limits.max_body_bytes, "Largest request body")->capture_default_str();
  http_limits.max_body_setting = "roster-server --max-body-bytes";
  app.add_option("--max-header-bytes", http_limits.max_header_bytes, "Largest request line and header fields")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 20))->capture_default_str();
  app.add_option("--max-connections", http_limits.max_connections, "Open HTTP connections, all clients together")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-connections-per-address", http_limits.max_connections_per_address,
                 "Open HTTP connections one client address may hold (0 = no limit, e.g. behind a proxy)")
      ->capture_default_str();
  app.add_option("--header-timeout-ms", header_timeout_ms, "Time a client has to send a request's whole header")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--idle-timeout-ms", idle_timeout_ms, "Keep-alive time between requests, and the bound on a slow body")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-blocking-queries", api_options.max_parked,
                 "Blocking queries (GET ...?index=N) waiting at once, all clients together")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-blocking-queries-per-connection", http_limits.max_parked_per_connection,
                 "Blocking queries one connection may have waiting (pipelined) at once")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--max-watch-streams", api_options.max_watch_streams, "GET /v1/watch streams open at once")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--watch-max-backlog-bytes", http_limits.max_stream_backlog,
                 "Unsent bytes a watch stream's reader may fall behind before it is cut")
      ->check(CLI::Range(size_t{64} << 10, size_t{1} << 30))->capture_default_str();
  app.add_option("--stream-max-connections", stream_options.max_connections, "Open agent stream connections")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--stream-max-unauthenticated-per-address", stream_options.max_unauthenticated_per_address,
                 "Stream connections one address may hold before their Hello is accepted (0 = no limit)")
      ->capture_default_str();
  app.add_option("--stream-max-hello-bytes", stream_options.max_hello_frame_bytes,
                 "Largest frame a stream peer may send before its Hello is accepted")
      ->check(CLI::Range(uint32_t{1024}, stream_options.max_frame_bytes))->capture_default_str();
  app.add_option("--stream-hello-timeout-ms", hello_timeout_ms, "Time a stream peer has to say Hello")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--stream-threads", stream_options.sender_threads,
                 "Threads sending changes to agents, each with its own io_uring (0 = the main loop; the default "
                 "is half the cores, 1 to 8)")
      ->check(CLI::Range(0u, 64u))->capture_default_str();
  app.add_option("--ready-file", ready_file, "Write the bound addresses here once serving");
  app.add_option("--sunset-after-days", sunset_days, "Default days from deprecation to sunset")
      ->check(CLI::Range(1, 3650))->capture_default_str();
  app.add_option("--retire-after-days", retire_days, "Default days from sunset to retirement")
      ->check(CLI::Range(1, 3650))->capture_default_str();
  app.add_option("--lifecycle-check", lifecycle_check_seconds, "Seconds between checks for scheduled lifecycle moves")
      ->check(CLI::Range(1, 86400))->capture_default_str();
  app.add_option("--compatibility", compatibility, "Default schema compatibility mode (BACKWARD, FULL, NONE, ...)")
      ->capture_default_str();
  app.add_option("--follow", follow,
                 "Follow another roster-server's registry read-only: NAME=ADDR[,ADDR...], its stream addresses "
                 "(repeatable; docs/federation.md)");
  app.add_option("--follow-token-file", follow_token_file,
                 "The followed servers' stream token, from this file's first line (default: this server's token)");
  if (auto done = roster::parse_daemon_options(app, argc, argv)) return *done;
  roster::log::init("roster-server", log_options);

  // Failures a user can cause (a bad flag, a busy port, an unreadable store) come back as Results
  // and end here with one log line. What can still throw is the event loop's io_uring: its setup
  // (io_uring disabled, a locked-memory limit too low) and its wait; those end the same way.
  try {
    // Who may connect is settled before anything is opened.
    const auto secret = roster::net::load_token(token, token_file);
    if (!secret) {
      roster::log::error("{}", secret.error().message);
      return 1;
    }
    const auto http_address = roster::net::parse_address(listen);
    if (!http_address) {
      roster::log::error("{}", http_address.error().message);
      return 1;
    }
    const auto stream_address = roster::net::parse_address(stream);
    if (!stream_address) {
      roster::log::error("{}", stream_address.error().message);
      return 1;
    }
    const auto followed = roster::upstream::parse_follows(follow);
    if (!followed) {
      roster::log::error("{}", followed.error().message);
      return 1;
    }
    std::optional<std::string> follow_token = *secret;
    if (!follow_token_file.empty()) {
      auto loaded = roster::net::load_token("", follow_token_file);
      if (!loaded) {
        roster::log::error("--follow-token-file: {}", loaded.error().message);
        return 1;
      }
      follow_token = *loaded;
    }
    auto exposed = check_exposure(*http_address, "--listen", secret->has_value(), insecure);
    if (exposed) exposed = check_exposure(*stream_address, "--stream", secret->has_value(), insecure);
    if (!exposed) {
      roster::log::error("{}", exposed.error().message);
      return 1;
    }

    // Before any other thread starts (the etcd store's), so that only StopOnSignal's takes
    // SIGTERM and SIGINT and the server stops cleanly (an etcd server resigns as it stops).
    roster::net::EventLoop loop;
    roster::net::StopOnSignal stop_on_signal(loop);
    raise_descriptor_limit();

    if (store_url.empty()) store_url = "sqlite:" + data_dir;
    auto store = roster::upstream::open_store(store_url);
    if (!store) {
      roster::log::error("{}", store.error().message);
      return 1;
    }
    // A followed registry's records are applied by one server; over a store several share, each
    // would apply them again.
    if (!followed->empty() && !store->store->sole_writer()) {
      roster::log::error("--follow needs a store only this server writes (sqlite:DIR), not {}", store_url);
      return 1;
    }
    roster::upstream::RegistryOptions registry_options;
    registry_options.leases.duration = std::chrono::seconds(lease_seconds);
    registry_options.leases.renewal_interval = std::chrono::seconds(renew_seconds);
    registry_options.leases.self_preservation = self_preservation;
    registry_options.leases.self_preservation_threshold = preservation_threshold;
    registry_options.leases.renewal_window = std::chrono::seconds(preservation_window_seconds);
    registry_options.leases.self_preservation_min_leases = preservation_min_leases;
    registry_options.leases.self_preservation_max_hold = std::chrono::seconds(preservation_max_hold_seconds);
    registry_options.lifecycle = {sunset_days, retire_days};
    auto mode = roster::governance::parse_compatibility_mode(compatibility);
    if (!mode) {
      roster::log::error("--compatibility: unknown mode \"{}\"", compatibility);
      return 1;
    }
    registry_options.compatibility = *mode;
    auto opened = roster::upstream::Registry::open(*store->store, registry_options, roster::base::unix_ms, store->cluster);
    if (!opened) {
      roster::log::error("{}", opened.error().message);
      return 1;
    }
    roster::upstream::Registry& registry = **opened;
    registry.set_followed(*followed);

    // Commits other servers made to a shared store arrive on the store's thread; the registry
    // applies them on the loop's.
    store->store->on_changes([&loop, &registry] { loop.post([&registry] { registry.sync(); }); });
    stream_options.token = *secret;
    stream_options.hello_timeout = std::chrono::milliseconds(hello_timeout_ms);
    roster::upstream::StreamServer streams(loop, registry, stream_options);
    api_options.token = *secret;
    api_options.watch_catch_up_bytes = http_limits.max_stream_backlog / 2;  // sent at once, it must fit
    // The registries this server follows, each over its own stream link, applying on this loop.
    std::vector<std::unique_ptr<roster::upstream::Follower>> followers;
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    for (const auto& f : *followed)
      followers.push_back(std::make_unique<roster::upstream::Follower>(
          loop, registry, f,
          roster::upstream::FollowOptions{.client_id = std::string("roster-server ") + host + " following " + f.name,
                                          .token = follow_token}));
    api_options.health_details = [&](roster::wire::JsonWriter& w) {
      if (!followers.empty()) roster::upstream::write_follow_status(followers, registry, w);
    };
    roster::upstream::HttpApi api(loop, registry, api_options, [&](auto& metrics) {
      streams.metrics(metrics);
      roster::upstream::write_follow_metrics(followers, registry, metrics);
    });
    http_limits.header_timeout = std::chrono::milliseconds(header_timeout_ms);
    http_limits.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
    roster::net::HttpServer http(loop, [&](const roster::net::HttpRequest& r) { return api.handle(r); }, http_limits,
                                 &roster::upstream::HttpApi::render_error);

    // A store only this server writes (SQLite) commits a group at a time on the committer's thread,
    // one fsync for the writes that arrived together, while the loop goes on serving. A response
    // made while writes are pending leaves once they are durable (or says they failed).
    std::optional<roster::upstream::GroupCommitter> committer;
    if (group_commit && store->store->sole_writer()) {
      http.hold_responses([&registry] {
        return registry.durable_revision() < registry.revision() ? registry.revision() : 0;
      });
      committer.emplace(*store->store, [&loop, &registry, &http](const roster::upstream::GroupOutcome& outcome) {
        loop.post([&registry, &http, outcome] {
          if (!registry.group_committed(outcome)) return;
          if (outcome.error)
            http.refuse_held(503, "store_unavailable",
                            "a write this answer reports or depends on could not be made durable: " +
                                outcome.error->message);
          else
            http.release(outcome.revision);
        });
      });
      registry.commit_in_background(&*committer);
    }

    const auto http_fd = roster::net::listen_on(*http_address);
    if (!http_fd) {
      roster::log::error("{}", http_fd.error().message);
      return 1;
    }
    http.listen(*http_fd);
    const auto stream_fd = roster::net::listen_on(*stream_address);
    if (!stream_fd) {
      roster::log::error("{}", stream_fd.error().message);
      return 1;
    }
    streams.listen(*stream_fd);
    if (!stream_unix.empty()) {
      const auto unix_fd = roster::net::listen_unix(stream_unix);
      if (!unix_fd) {
        roster::log::error("{}", unix_fd.error().message);
        return 1;
      }
      streams.listen(*unix_fd);
    }

    // Leases: checked every second.
    std::function<void()> expire = [&] {
      if (auto expired = registry.expire_leases(); !expired)
        roster::log::error("lease expiry: {}", expired.error().error.message);
      loop.after(std::chrono::seconds(1), expire);
    };
    loop.after(std::chrono::seconds(1), expire);
    // Scheduled lifecycle moves (deprecated → sunset → retired): now, then periodically.
    std::function<void()> advance = [&] {
      if (auto advanced = registry.advance_lifecycle(); !advanced)
        roster::log::error("scheduled lifecycle moves: {}", advanced.error().error.message);
      loop.after(std::chrono::seconds(lifecycle_check_seconds), advance);
    };
    advance();

    for (auto& f : followers) f->start();

    const std::string line = "listening http=" + roster::net::bound_address(*http_address, *http_fd) +
                             " stream=" + roster::net::bound_address(*stream_address, *stream_fd);
    if (!ready_file.empty()) std::ofstream(ready_file) << line << "\n";
    std::cout << line << " store=" << store_url << " revision=" << registry.revision() << std::endl;
    loop.run();
    roster::log::info("stopping");
    for (auto& f : followers) f->stop();
    store->store->on_changes(nullptr);
    streams.close();
    http.close();
  } catch (const std::system_error& e) {
    roster::log::error("{}", e.what());
    return 1;
  }
  return 0;
}
