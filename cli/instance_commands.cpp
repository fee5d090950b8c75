// rosterctl instance register | heartbeat | deregister: one instance of a service version, as a
// process (or its sidecar) registers itself, keeps its lease and leaves
// (PUT|DELETE /v1/services/{name}/versions/{version}/instances/{id}[/heartbeat]).
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "server_client.hpp"
#include "service_names.hpp"
#include "roster/wire/json_writer.hpp"
#include "roster/wire/time_format.hpp"

namespace roster::cli {
namespace {

struct Options : ServerOptions {
  std::string name, version, id, address, zone, health;
  std::vector<std::string> metadata;  // KEY=VALUE each
  int port = 0, weight = -1, ttl = 0, every = 0;
};

std::string instance_target(const Options& o) {
  return "/v1/services/" + escape_segment(o.name) + "/versions/" + escape_segment(o.version) + "/instances/" +
         escape_segment(o.id);
}

std::string instance_text(const Options& o) { return o.name + "@" + o.version + " instance " + o.id; }

// The instance document (docs/registry-format.md, "Instance fields"); nullopt after saying why
// when --metadata is not KEY=VALUE with distinct, non-empty keys.
std::optional<std::string> instance_document(const Options& o) {
  std::map<std::string, std::string> metadata;
  for (const auto& pair : o.metadata) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "rosterctl: --metadata \"" << pair << "\": expected KEY=VALUE with a non-empty KEY\n";
      return std::nullopt;
    }
    if (!metadata.emplace(pair.substr(0, eq), pair.substr(eq + 1)).second) {
      std::cerr << "rosterctl: --metadata: key \"" << pair.substr(0, eq) << "\" given twice\n";
      return std::nullopt;
    }
  }
  std::string body;
  wire::JsonWriter w(body);
  w.begin_object().key("id").string(o.id).key("address").string(o.address).key("port").number(o.port);
  if (!o.zone.empty()) w.key("zone").string(o.zone);
  if (o.weight >= 0) w.key("weight").number(o.weight);
  if (!o.health.empty()) w.key("health").string(o.health);
  if (!metadata.empty()) {
    w.key("metadata").begin_object();
    for (const auto& [k, v] : metadata) w.key(k).string(v);
    w.end_object();
  }
  w.end_object();
  return body;
}

// "(revision N; lease until T, renew every S s)" and the server's warnings, from a write's answer.
void print_write(const std::string& what, const rapidjson::Value& answer) {
  std::cout << what << " (revision " << integer(answer, "revision");
  if (const int64_t expires = integer(answer, "lease_expires_at_ms", -1); expires >= 0)
    std::cout << "; lease until " << wire::format_rfc3339_ms(expires) << ", renew every "
              << integer(answer, "renew_every_seconds") << " s";
  std::cout << ")\n";
  for (auto& w : array(answer, "warnings").GetArray())
    if (w.IsString()) std::cout << "warning: " << w.GetString() << "\n";
}

// One write about `service`; prints its answer (as it came with --json). A refusal may be about a
// service that does not exist: then the nearest name is suggested.
int write(const ServerOptions& o, std::string_view service, std::string_view method, const std::string& target,
          std::string_view body, const std::string& done) {
  rapidjson::Document answer;
  std::string raw;
  const int code = call_json(o, method, target, answer, body, &raw);
  if (code == kNo) explain_unknown_service(o, service);
  if (code != kOk) return code;
  if (o.json)
    std::cout << raw << "\n";
  else
    print_write(done, answer);
  return kOk;
}

// Renews the lease every `o.every` seconds until interrupted. A refusal ends the loop: most often
// the server forgot the instance (its lease ran out, someone deregistered it) and it must register
// again. An unreachable or failing (5xx) server is retried at the next tick: a restart must not
// end it.
int keep_renewing(const Options& o, const std::string& target) {
  for (;;) {
    int failure = kOk;
    if (auto r = call(o, "PUT", target, {}, &failure)) {
      if (o.json) std::cout << r->body << std::endl;  // one JSON line per renewal, flushed
    } else if (failure == kNo) {
      std::cerr << "rosterctl: stopped renewing " << instance_text(o) << "; if the server no longer knows it, "
                << "register it again: rosterctl instance register " << o.name << " " << o.version << " " << o.id
                << " --address ... --port ...\n";
      return kNo;
    }
    std::this_thread::sleep_for(std::chrono::seconds(o.every));
  }
}

void add_instance_identity(CLI::App* cmd, Options& o) {
  cmd->add_option("name", o.name, "Service name")->required();
  cmd->add_option("version", o.version, "Version")->required();
  cmd->add_option("id", o.id, "Instance id (unique within the version)")->required();
}

}  // namespace

int deregister(const ServerOptions& o, const std::string& name, const std::string& version, const std::string& id,
               bool force) {
  std::string target = "/v1/services/" + escape_segment(name) + "/versions/" + escape_segment(version);
  if (!id.empty())
    target += "/instances/" + escape_segment(id);
  else if (force)
    target += "?force=true";
  return write(o, name, "DELETE", target, {},
               name + "@" + version + (id.empty() ? " and its instances" : " instance " + id) + " removed");
}

void add_instance_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* instance = app.add_subcommand("instance", "One instance: register it, keep its lease, remove it");
  instance->require_subcommand(1);

  auto* reg = instance->add_subcommand("register", "Register (or update) an instance of NAME VERSION, with a lease");
  add_instance_identity(reg, *o);
  reg->add_option("--address", o->address, "Host name or IP address")->required();
  reg->add_option("--port", o->port, "Port")->required()->check(CLI::Range(1, 65535));
  reg->add_option("--zone", o->zone, "Zone, e.g. eu-west-1a");
  reg->add_option("--weight", o->weight, "Load-balancing weight, 0 to 65535 (server default: 100)")
      ->check(CLI::Range(0, 65535));
  reg->add_option("--health", o->health, "up (default), down, starting or out_of_service")
      ->check(CLI::IsMember({"up", "down", "starting", "out_of_service"}));
  reg->add_option("--metadata", o->metadata, "KEY=VALUE (repeatable)")->take_all();
  reg->add_option("--ttl", o->ttl, "Lease in seconds, 1 to 86400 (default: the server's --lease-duration)")
      ->check(CLI::Range(1, 86400));
  add_server_options(reg, *o);
  reg->callback([o, &exit_code] {
    auto body = instance_document(*o);
    if (!body) return void(exit_code = kUsage);
    std::string target = instance_target(*o);
    if (o->ttl > 0) add_query(target, "ttl", std::to_string(o->ttl));
    exit_code = write(*o, o->name, "PUT", target, *body, instance_text(*o) + " registered");
  });

  auto* beat = instance->add_subcommand(
      "heartbeat", "Renew an instance's lease, once or --every N seconds until interrupted (exit 1 once the server "
                   "no longer knows the instance: register it again)");
  add_instance_identity(beat, *o);
  beat->add_option("--every", o->every, "Keep renewing every N seconds (e.g. the answer's renew_every_seconds)")
      ->check(CLI::Range(1, 86400));
  add_server_options(beat, *o);
  beat->callback([o, &exit_code] {
    const std::string target = instance_target(*o) + "/heartbeat";
    exit_code = o->every > 0 ? keep_renewing(*o, target)
                             : write(*o, o->name, "PUT", target, {}, instance_text(*o) + " renewed");
  });

  auto* dereg = instance->add_subcommand("deregister", "Remove an instance (as `rosterctl deregister NAME VERSION ID`)");
  add_instance_identity(dereg, *o);
  add_server_options(dereg, *o);
  dereg->callback([o, &exit_code] { exit_code = deregister(*o, o->name, o->version, o->id, false); });
}

}  // namespace roster::cli
