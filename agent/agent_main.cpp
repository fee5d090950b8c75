// roster-agent: mirrors the upstream registry into this host's shared memory. Prints one line
// `agent arena=NAME http=ADDR` once it runs; exits cleanly on SIGTERM.
#include <grp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <system_error>
#include <vector>

#include "roster/agent/agent.hpp"
#include "roster/net/http_server.hpp"
#include "roster/net/socket.hpp"
#include "roster/net/stop_on_signal.hpp"
#include "roster/net/token.hpp"
#include "roster/base/clock.hpp"
#include "roster/base/daemon_options.hpp"
#include "roster/base/log.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/json_writer.hpp"

namespace {

// --arena-group: a group name, or a numeric gid (which need not have a name on this host).
roster::Result<gid_t> resolve_group(const std::string& group) {
  unsigned long gid = 0;
  auto [end, ec] = std::from_chars(group.data(), group.data() + group.size(), gid);
  if (!group.empty() && ec == std::errc{} && end == group.data() + group.size()) return static_cast<gid_t>(gid);
  std::vector<char> buffer(16 * 1024);
  struct group entry {};
  struct group* found = nullptr;
  int err = ::getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr)
    return roster::fail(roster::ErrorKind::Invalid, "unknown_group",
                        "--arena-group: no group named \"" + group + "\"" +
                            (err != 0 ? std::string(" (") + std::strerror(err) + ")" : std::string()),
                        group);
  return found->gr_gid;
}

// What a kubelet, a load balancer or an alert can act on, by status code:
//   /livez   200 while the agent serves (it exits when it cannot keep its arena)
//   /readyz  200 once the arena holds the registry (from upstream or the cache file), else 503:
//            readers can read; an upstream outage leaves it ready, as readers are served the last state
//   /healthz 200 while connected to an upstream with data in the arena, else 503 (disconnected or
//            starting): the agent is not receiving changes
// Each body says the state: {"status", "upstream", "revision", "generation", "warm_started",
// "disconnected_seconds"?}.
roster::net::HttpResponse health(const roster::agent::AgentStatus& s, const std::string& path) {
  std::string_view state;
  bool up;
  if (path == "/livez") {
    state = "ok";
    up = true;
  } else if (path == "/readyz") {
    state = s.has_data ? "ready" : "starting";
    up = s.has_data;
  } else {
    state = !s.has_data ? "starting" : !s.connected || s.outage_since_ms ? "disconnected" : "ok";
    up = state == "ok";
  }
  roster::net::HttpResponse r;
  r.status = up ? 200 : 503;
  roster::wire::JsonWriter w(r.body);
  w.begin_object().key("status").string(state);
  w.key("upstream").string(s.upstream).key("revision").unsigned_number(s.revision);
  w.key("generation").unsigned_number(s.generation).key("warm_started").boolean(s.warm_started);
  auto disconnected = [&](int64_t since) {
    w.key("disconnected_seconds").unsigned_number(static_cast<uint64_t>(std::max<int64_t>(0, roster::base::unix_ms() - since) / 1000));
  };
  if (s.outage_since_ms) disconnected(s.outage_since_ms);
  // A federated agent: each registry's state (one down leaves the others fresh, its own stale).
  if (s.registries.size() > 1 || !s.registries.front().name.empty()) {
    w.key("registries").begin_array();
    for (auto& r : s.registries) {
      w.begin_object().key("name").string(r.name).key("connected").boolean(r.connected);
      w.key("upstream").string(r.upstream).key("revision").unsigned_number(r.revision).key("has_data").boolean(r.has_data);
      if (r.last_upstream_contact_ms)
        w.key("staleness_ms").unsigned_number(static_cast<uint64_t>(std::max<int64_t>(0, roster::base::unix_ms() - r.last_upstream_contact_ms)));
      if (r.outage_since_ms) disconnected(r.outage_since_ms);
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"roster-agent: keeps the registry in this host's shared memory"};
  std::vector<std::string> upstreams, federate, prefer;
  std::string local_registry = "local";
  std::string arena = "roster", http = "127.0.0.1:7072", cache_file, agent_id, token, token_file, ready_file;
  std::string arena_group;
  size_t segment_bytes = size_t{256} << 20, max_segment_bytes = size_t{4} << 30;
  uint32_t reader_slots = 1024;
  int max_pin_age_ms = 30000;
  bool remove_on_exit = false;
  roster::log::LogOptions log_options;
  roster::add_daemon_options(app, "roster-agent", log_options);
  app.add_option("--upstream", upstreams, "Upstream stream addresses (host:port or unix:/path), tried in turn")
      ->delimiter(',');
  app.add_option("--federate", federate,
                 "Also mirror registry NAME from these addresses (NAME=ADDR[,ADDR...]; repeat for more). Plain names "
                 "resolve in the --upstream registry first, then in these in the order given")
      ->take_all();
  app.add_option("--registry-name", local_registry, "The --upstream registry's name when federating")->capture_default_str();
  app.add_option("--prefer", prefer, "SERVICE=REGISTRY: the registry that serves SERVICE by plain name when it has it")
      ->take_all();
  app.add_option("--arena", arena, "Shared-memory arena name")->capture_default_str();
  app.add_option("--segment-bytes", segment_bytes, "Arena segment size (reserved up front)")->capture_default_str();
  app.add_option("--max-segment-bytes", max_segment_bytes,
                 "Largest arena a full one may be replaced by (it doubles up to this, then the agent stops)")
      ->capture_default_str();
  app.add_option("--reader-slots", reader_slots, "Concurrent reader threads the arena allows")->capture_default_str();
  app.add_option("--arena-group", arena_group,
                 "Group (name or gid) given the arena: its members may read it (data 0640, reader slots 0660)");
  app.add_option("--max-pin-age-ms", max_pin_age_ms, "Views held longer are revoked")->capture_default_str();
  app.add_option("--http", http, "Local /healthz and /metrics address (port 0 = any)")->capture_default_str();
  app.add_option("--cache-file", cache_file, "Where the last state is kept for warm starts");
  app.add_option("--agent-id", agent_id, "Name sent to upstream (default: hostname-pid)");
  app.add_option("--token", token, "Token for the upstream stream (visible in ps: prefer --token-file or ROSTER_TOKEN)");
  app.add_option("--token-file", token_file, "Read the token from this file's first line");
  app.add_option("--ready-file", ready_file, "Write the bound addresses here once running");
  app.add_flag("--remove-on-exit", remove_on_exit, "Unlink the arena on exit (readers lose it)");
  if (auto done = roster::parse_daemon_options(app, argc, argv)) return *done;
  roster::log::init("roster-agent", log_options);

  // Failures a user can cause (a bad flag, a busy port, no arena) come back as Results and end
  // here with one log line. What can still throw is the event loop's io_uring: its setup (io_uring
  // disabled, a locked-memory limit too low) and its wait; those end the same way.
  try {
    if (agent_id.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      agent_id = std::string(host) + "-" + std::to_string(getpid());
    }
    const auto secret = roster::net::load_token(token, token_file);
    if (!secret) {
      roster::log::error("{}", secret.error().message);
      return 1;
    }
    roster::agent::AgentOptions options;
    options.upstreams = upstreams;
    options.local_registry = local_registry;
    auto split = [](const std::string& pair) -> std::optional<std::pair<std::string, std::string>> {
      const auto eq = pair.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) return std::nullopt;
      return std::pair(pair.substr(0, eq), pair.substr(eq + 1));
    };
    for (auto& f : federate) {
      auto parts = split(f);
      if (!parts) {
        roster::log::error("--federate {}: expected NAME=ADDR[,ADDR...]", f);
        return 1;
      }
      roster::agent::FederatedRegistry& registry = options.federate.emplace_back();
      registry.name = parts->first;
      for (size_t at = 0; at <= parts->second.size();) {
        const size_t comma = std::min(parts->second.find(',', at), parts->second.size());
        if (comma > at) registry.upstreams.push_back(parts->second.substr(at, comma - at));
        at = comma + 1;
      }
    }
    for (auto& p : prefer) {
      auto parts = split(p);
      if (!parts) {
        roster::log::error("--prefer {}: expected SERVICE=REGISTRY", p);
        return 1;
      }
      options.prefer[parts->first] = parts->second;
    }
    if (upstreams.empty() && federate.empty()) {
      roster::log::error("--upstream (or --federate) is required");
      return 1;
    }
    if (!prefer.empty() && federate.empty()) {
      roster::log::error("--prefer chooses among federated registries: it needs --federate");
      return 1;
    }
    options.agent_id = agent_id;
    if (*secret) options.token = **secret;
    options.arena.name = arena;
    if (!arena_group.empty()) {
      auto gid = resolve_group(arena_group);
      if (!gid) {
        roster::log::error("{}", gid.error().message);
        return 1;
      }
      options.arena.group = *gid;
    }
    options.arena.segment_bytes = segment_bytes;
    options.max_segment_bytes = std::max(max_segment_bytes, segment_bytes);
    options.arena.reader_slots = reader_slots;
    options.arena.max_pin_age = std::chrono::milliseconds(max_pin_age_ms);
    options.cache_file = cache_file;

    roster::net::EventLoop loop;
    roster::net::StopOnSignal stop_on_signal(loop);
    auto created = roster::agent::Agent::create(loop, options);
    if (!created) {
      roster::log::error("{}", created.error().message);
      return 1;
    }
    roster::agent::Agent& agent = **created;
    auto json_error = [](unsigned status, std::string_view code, std::string_view message) {
      roster::net::HttpResponse r;
      r.status = status;
      r.body = roster::wire::error_json(code, message);
      return r;
    };
    roster::net::HttpServer server(loop, [&](const roster::net::HttpRequest& req) {
      roster::net::HttpResponse r;
      if (req.path == "/metrics") {
        r.content_type = "text/plain; version=0.0.4";
        r.body = agent.metrics();
      } else if (req.path == "/healthz" || req.path == "/readyz" || req.path == "/livez") {
        r = health(agent.status(), req.path);
      } else {
        return json_error(404, "not_found", "no such resource: " + req.path);
      }
      return r;
    }, {}, json_error);
    const auto listener = roster::net::listen_at(http);
    if (!listener) {
      roster::log::error("{}", listener.error().message);
      return 1;
    }
    server.listen(listener->fd);
    agent.start();

    const std::string line = "agent arena=" + arena + " http=" + listener->address;
    if (!ready_file.empty()) std::ofstream(ready_file) << line << "\n";
    std::cout << line << std::endl;
    loop.run();
    agent.stop();
    server.close();
    if (remove_on_exit) agent.remove_arena();
    if (auto failure = agent.failure()) {
      roster::log::error("stopped: {}", failure->message);
      return 1;
    }
    std::cout << "roster-agent: stopped" << std::endl;
  } catch (const std::system_error& e) {
    roster::log::error("{}", e.what());
    return 1;
  }
  return 0;
}
