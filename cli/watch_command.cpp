// rosterctl watch: follows roster-server's GET /v1/watch (server-sent events, docs/watching.md)
// and prints each change as it comes. A dropped stream is resumed from the last event's id, as a
// browser's EventSource does; a refusal (a bad index, the server at its limit) ends it.
#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "commands.hpp"
#include "server_client.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/net/http_client.hpp"

namespace roster::cli {
namespace {

// Four keepalives (15 s apart) missed: the server or the path to it is gone.
constexpr std::chrono::seconds kIdleTimeout{60};
constexpr std::chrono::seconds kRetryAfter{1};

struct Options : ServerOptions {
  std::optional<uint64_t> index;
  uint64_t count = 0;  // 0: until interrupted
};

struct Event {
  std::string id, name = "message", data;
};

// One event block's fields (SSE: "field: value" lines; ':' starts a comment).
Event parse_event(std::string_view block) {
  Event e;
  while (!block.empty()) {
    const size_t eol = block.find('\n');
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 1);
    const size_t colon = line.find(':');
    if (colon == 0) continue;
    std::string_view field = line.substr(0, colon), value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (value.starts_with(' ')) value.remove_prefix(1);
    }
    if (field == "id") e.id = value;
    else if (field == "event") e.name = value;
    else if (field == "data") e.data += value;
  }
  return e;
}

// "42 put instance billing@1.4.0 i-7", one line per change; "42 reset ..." for a reset.
void print_text(const Event& e) {
  if (e.name == "start") {
    std::cout << e.id << " watching from here\n";
  } else if (e.name == "reset") {
    std::cout << e.id << " reset: re-read the registry, changes follow from here\n";
  } else if (e.name == "change") {
    auto data = governance::parse_json(e.data);
    if (!data || !data->IsObject()) return;
    const auto& changes = array(*data, "changes");
    if (changes.Empty()) std::cout << e.id << " settings changed\n";
    for (const auto& c : changes.GetArray()) {
      std::cout << e.id << " " << str(c, "op") << " " << str(c, "kind") << " ";
      if (str(c, "kind") == "contract")
        std::cout << str(c, "consumer") << "@" << str(c, "consumer_version") << " -> " << str(c, "provider");
      else
        std::cout << str(c, "service") << "@" << str(c, "version");
      if (str(c, "kind") == "instance") std::cout << " " << str(c, "instance");
      std::cout << "\n";
    }
  }
}

// {"id": 42, "event": "change", "data": {...}}: the server's event data as it came.
void print_json(const Event& e) {
  std::cout << "{\"id\":" << (e.id.empty() ? "null" : e.id) << ",\"event\":\"" << e.name
            << "\",\"data\":" << (e.data.empty() ? "null" : e.data) << "}\n";
}

int watch(const Options& o) {
  auto client = net::HttpClient::open(o.server);
  const auto auth = auth_headers(o);
  if (!client || !auth) {
    std::cerr << "rosterctl: " << (client ? auth.error().message : client.error().message) << "\n";
    return kUsage;
  }
  std::string target = "/v1/watch";
  if (o.index) add_query(target, "index", std::to_string(*o.index));
  std::string last_id;  // the resume point after a drop
  uint64_t changes = 0;
  for (;;) {
    net::HttpHeaders headers = *auth;
    if (!last_id.empty()) headers.add("Last-Event-ID", last_id);
    std::string pending;
    bool done = false;
    auto response = client->get_stream(target, headers, kIdleTimeout, [&](std::string_view piece) {
      pending += piece;
      for (size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
        Event e = parse_event(std::string_view(pending).substr(0, end));
        pending.erase(0, end + 2);
        if (e.data.empty() && e.id.empty()) continue;  // a comment (keepalive)
        if (!e.id.empty()) last_id = e.id;
        o.json ? print_json(e) : print_text(e);
        std::cout.flush();
        if (e.name == "change" && o.count > 0 && ++changes >= o.count) done = true;
        if (done) return false;
      }
      return true;
    });
    if (done) return kOk;
    if (response && response->status >= 300) {
      print_http_error("GET", target, *response);
      return response->status < 500 ? kNo : kUsage;
    }
    std::cerr << "rosterctl: the watch stream ended"
              << (response ? std::string() : ": " + response.error().message) << "; resuming in "
              << kRetryAfter.count() << " s\n";
    std::this_thread::sleep_for(kRetryAfter);
  }
}

}  // namespace

void add_watch_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("watch", "Print the registry's changes as they come (GET /v1/watch; docs/watching.md)");
  add_server_options(cmd, *o);
  cmd->add_option("--index", o->index, "Start after this revision (an X-Roster-Index); default: from now");
  cmd->add_option("--count", o->count, "Stop after this many change events (default: until interrupted)");
  cmd->callback([o, &exit_code] { exit_code = watch(*o); });
}

}  // namespace roster::cli
