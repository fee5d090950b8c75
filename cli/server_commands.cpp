// rosterctl register | get | search | services | instances | deregister | status: against roster-server
// (--server URL) or, for reads, the local agent's shared memory (--shm NAME).
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "arena_registries.hpp"
#include "commands.hpp"
#include "server_client.hpp"
#include "service_names.hpp"
#include "roster/net/http_client.hpp"
#include "roster/client.hpp"
#include "roster/base/files.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/json_writer.hpp"
#include "roster/wire/names.hpp"
#include "roster/semver.hpp"

namespace roster::cli {
namespace {

// Every server command's arguments; the connection options are shared with the other groups.
struct Options : ServerOptions {
  std::string shm, registry, file, name, version, id, team, stage, tag, agent;
  bool any_stage = false;
  bool healthy = false, force = false, dry_run = false;
};

std::optional<Client> open_shm(const Options& o) {
  auto client = Client::open(o.shm);
  if (!client) {
    std::cerr << "rosterctl: " << client.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*client);
}

void print_instance_line(std::string_view version, std::string_view id, std::string_view address, int64_t port,
                         std::string_view zone, int64_t weight, std::string_view health) {
  std::cout << version << "  " << id << "  " << address << ":" << port << "  " << (zone.empty() ? "-" : zone)
            << "  weight " << weight << "  " << health << "\n";
}

void print_instances_table(const std::vector<const wire::Instance*>& list, bool json) {
  if (json) {
    std::string out;
    wire::JsonWriter w(out);
    w.begin_array();
    for (auto* i : list) wire::write_instance(w, *i, {.with_service = true, .lease_expires_at_ms = std::nullopt});
    w.end_array();
    std::cout << out << "\n";
    return;
  }
  for (auto* i : list)
    print_instance_line(i->version()->string_view(), i->id()->string_view(), i->address()->string_view(), i->port(),
                        i->zone() ? i->zone()->string_view() : "", i->weight(), wire::to_string(i->health()));
}

// The lines `search` prints: one version each, with the registry it came from in a federated arena.
void print_version_line(std::string_view name, std::string_view version, std::string_view stage, std::string_view team,
                        std::string_view registry = {}) {
  std::cout << name << "@" << version << "  " << stage << "  " << team << (registry.empty() ? "" : "  ") << registry
            << "\n";
}

// A server's JSON answer as people read it (indented); `--json` prints it as it came.
void print_pretty(const rapidjson::Value& doc) {
  rapidjson::StringBuffer out;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(out);
  w.SetIndent(' ', 2);
  doc.Accept(w);
  std::cout << out.GetString() << "\n";
}

}  // namespace

void add_server_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto target_options = [o](CLI::App* cmd, bool reads) {
    add_server_options(cmd, *o, false);
    if (reads) {
      auto* shm = cmd->add_option("--shm", o->shm, "Read from the local agent's arena NAME instead of the server");
      cmd->add_option("--registry", o->registry,
                      "With --shm, read only registry NAME of a federated arena (rosterctl status --shm lists them)")
          ->needs(shm);
    }
    cmd->add_flag("--json", o->json, "Machine-readable output");
  };

  auto* reg = app.add_subcommand("register", "Register a registry document (a whole registry or one service version)");
  reg->add_option("file", o->file, "Registry JSON document")->required();
  reg->add_flag("--dry-run", o->dry_run, "Check it against the registry's rules and report, writing nothing");
  target_options(reg, false);
  reg->callback([o, &exit_code] {
    auto body = base::read_file(o->file);
    if (!body) {
      std::cerr << "rosterctl: " << body.error().message << "\n";
      return void(exit_code = kUsage);
    }
    auto r = call(*o, "POST", std::string("/v1/registry") + (o->dry_run ? "?dry_run=true" : ""), *body);
    if (!r) return void(exit_code = kNo);
    const std::string done = o->dry_run ? "would register " + o->file + " (dry run, nothing written): " : "registered " + o->file + ": ";
    std::cout << (o->json ? r->body : done + r->body) << "\n";
  });

  auto* get = app.add_subcommand("get", "Show a service's latest version (docs/lifecycle.md), or one version");
  get->add_option("name", o->name, "Service name")->required();
  get->add_option("version", o->version, "Version");
  get->add_flag("--any-stage", o->any_stage,
                "Latest in any stage but retired, pre-releases included (default: stable first, then deprecated "
                "or sunset, then beta)");
  target_options(get, true);
  get->callback([o, &exit_code] {
    if (!o->shm.empty()) {
      auto client = open_shm(*o);
      if (!client) return void(exit_code = kNo);
      View view = client->view();
      if (!known_registry(view, o->shm, o->registry)) return void(exit_code = kNo);
      auto lookup = [&](const auto& source) {
        return !o->version.empty()
                   ? source.service(o->name, o->version)
                   : source.latest(o->name, o->any_stage ? Latest::IncludingPrereleases : Latest::Stable);
      };
      auto svc = o->registry.empty() ? lookup(view) : lookup(view.in(o->registry));
      if (!svc && !explain_unknown_service(view, o->shm, o->registry, o->name)) {
        std::cerr << "rosterctl: no " << (o->version.empty() ? "version counting as latest" : "version " + o->version)
                  << " of " << o->name << (o->registry.empty() ? "" : " in registry " + o->registry) << " of arena "
                  << o->shm << "\n";
      }
      if (!svc) return void(exit_code = kNo);
      std::cout << wire::to_service_version_json(svc->record(), {}, !o->json, true, svc->registry());
      return;
    }
    const std::string target = "/v1/services/" + escape_segment(o->name) +
                               (!o->version.empty() ? "/versions/" + escape_segment(o->version)
                                : o->any_stage       ? "?prerelease=true"
                                                     : "");
    rapidjson::Document answer;
    std::string raw;
    if ((exit_code = call_json(*o, "GET", target, answer, {}, &raw)) == kNo) explain_unknown_service(*o, o->name);
    if (exit_code != kOk) return;
    if (o->json)
      std::cout << raw << "\n";
    else
      print_pretty(answer);
  });

  auto* search = app.add_subcommand("search", "Find service versions by owner team, lifecycle stage and tag");
  search->add_option("--team", o->team, "Owner team");
  search->add_option("--stage", o->stage, "Lifecycle stage");
  search->add_option("--tag", o->tag, "Tag");
  target_options(search, true);
  search->callback([o, &exit_code] {
    if (!o->stage.empty() && !wire::parse_lifecycle_stage(o->stage)) {
      std::cerr << "rosterctl: unknown lifecycle stage \"" << o->stage << "\"\n";
      return void(exit_code = kUsage);
    }
    if (!o->shm.empty()) {
      auto client = open_shm(*o);
      if (!client) return void(exit_code = kNo);
      View view = client->view();
      if (!known_registry(view, o->shm, o->registry)) return void(exit_code = kNo);
      // Start from the most selective index given, then filter by the others; with no filter,
      // every version (the stage lists hold each version once).
      std::vector<ServiceVersion> list;
      if (!o->team.empty())
        list = view.by_team(o->team).to_vector();
      else if (!o->tag.empty())
        list = view.by_tag(o->tag).to_vector();
      else if (!o->stage.empty())
        list = view.by_stage(*wire::parse_lifecycle_stage(o->stage)).to_vector();
      else
        for (int stage = 0; stage <= static_cast<int>(wire::LifecycleStage::MAX); ++stage)
          for (auto v : view.by_stage(static_cast<wire::LifecycleStage>(stage))) list.push_back(v);
      std::erase_if(list, [&](const ServiceVersion& v) {
        if (!o->registry.empty() && v.registry() != o->registry) return true;
        if (!o->team.empty() && v.owner_team() != o->team) return true;
        if (!o->stage.empty() && v.stage() != *wire::parse_lifecycle_stage(o->stage)) return true;
        if (o->tag.empty()) return false;
        if (v.record().tags())
          for (auto* t : *v.record().tags())
            if (t->string_view() == o->tag) return false;
        return true;
      });
      // As the server lists them: by name, then by precedence (each version parsed once).
      std::vector<std::pair<ServiceVersion, std::optional<semver::Version>>> sorted;
      for (auto& v : list) {
        auto parsed = semver::Version::parse(v.version());
        sorted.emplace_back(v, parsed ? std::optional(std::move(*parsed)) : std::nullopt);
      }
      std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        if (a.first.name() != b.first.name()) return a.first.name() < b.first.name();
        return a.second && b.second ? *a.second < *b.second : a.first.version() < b.first.version();
      });
      for (size_t k = 0; k < sorted.size(); ++k) list[k] = sorted[k].first;
      if (o->json) {
        std::cout << "{\"services\": [";
        for (size_t i = 0; i < list.size(); ++i)
          std::cout << (i ? "," : "")
                    << wire::to_service_version_json(list[i].record(), {}, false, true, list[i].registry());
        std::cout << "]}\n";
        return;
      }
      for (auto& v : list)
        print_version_line(v.name(), v.version(), wire::to_string(v.stage()), v.owner_team(), v.registry());
      return;
    }
    std::string query;
    auto add = [&](const char* k, const std::string& v) {
      if (!v.empty()) query += (query.empty() ? "?" : "&") + std::string(k) + "=" + escape_segment(v);
    };
    add("team", o->team);
    add("stage", o->stage);
    add("tag", o->tag);
    if (!o->json) add("schema", "false");  // the table shows no schema: do not fetch the documents
    rapidjson::Document answer;
    std::string raw;
    if ((exit_code = call_json(*o, "GET", "/v1/services" + query, answer, {}, &raw)) != kOk) return;
    if (o->json) return void(std::cout << raw << "\n");
    for (auto& v : array(answer, "services").GetArray())
      print_version_line(str(v, "name"), str(v, "version"), str(v, "lifecycle_stage"), str(v, "owner_team"));
  });

  auto* services = app.add_subcommand("services", "List every service's name, one a line");
  target_options(services, true);
  services->callback([o, &exit_code] {
    std::vector<std::string> names;
    if (!o->shm.empty()) {
      auto client = open_shm(*o);
      if (!client) return void(exit_code = kNo);
      View view = client->view();
      if (!known_registry(view, o->shm, o->registry)) return void(exit_code = kNo);
      names = arena_service_names(view, o->registry);
    } else {
      rapidjson::Document answer;
      if ((exit_code = call_json(*o, "GET", "/v1/service-names", answer)) != kOk) return;
      for (auto& n : array(answer, "services").GetArray())
        if (n.IsString()) names.emplace_back(n.GetString(), n.GetStringLength());
    }
    if (o->json) {
      std::string out;
      wire::JsonWriter w(out);
      w.begin_object().key("services").begin_array();
      for (auto& n : names) w.string(n);
      w.end_array().end_object();
      return void(std::cout << out << "\n");
    }
    for (auto& n : names) std::cout << n << "\n";
  });

  auto* instances = app.add_subcommand("instances", "List a service's instances");
  instances->add_option("name", o->name, "Service name")->required();
  instances->add_option("--version", o->version, "Only this version");
  instances->add_flag("--healthy", o->healthy, "Only healthy (up) instances");
  target_options(instances, true);
  instances->callback([o, &exit_code] {
    if (!o->shm.empty()) {
      auto client = open_shm(*o);
      if (!client) return void(exit_code = kNo);
      View view = client->view();
      if (!known_registry(view, o->shm, o->registry)) return void(exit_code = kNo);
      const auto filter = o->healthy ? Filter::Healthy : Filter::All;
      auto lookup = [&](const auto& source) {
        return o->version.empty() ? source.instances(o->name, filter) : source.instances(o->name, o->version, filter);
      };
      std::vector<const wire::Instance*> list;
      for (auto inst : o->registry.empty() ? lookup(view) : lookup(view.in(o->registry)))
        list.push_back(&inst.record());
      // No instances may mean no such service: a typo is told, not answered with an empty list.
      if (list.empty() && explain_unknown_service(view, o->shm, o->registry, o->name)) return void(exit_code = kNo);
      return print_instances_table(list, o->json);
    }
    std::string target = "/v1/services/" + escape_segment(o->name) + "/instances?healthy=" + (o->healthy ? "true" : "false");
    if (!o->version.empty()) target += "&version=" + escape_segment(o->version);
    rapidjson::Document answer;
    std::string raw;
    if ((exit_code = call_json(*o, "GET", target, answer, {}, &raw)) != kOk) return;
    if (array(answer, "instances").Empty()) {
      auto names = server_service_names(*o);
      if (names && explain_unknown_service(o->name, *names)) return void(exit_code = kNo);
    }
    if (o->json) return void(std::cout << raw << "\n");
    for (auto& i : array(answer, "instances").GetArray())
      print_instance_line(str(i, "version"), str(i, "id"), str(i, "address"), integer(i, "port"), str(i, "zone"),
                          integer(i, "weight", 100), str(i, "health"));
  });

  auto* dereg = app.add_subcommand("deregister", "Remove an instance, or a whole version with its instances");
  dereg->add_option("name", o->name, "Service name")->required();
  dereg->add_option("version", o->version, "Version")->required();
  dereg->add_option("id", o->id, "Instance id (omit to remove the version)");
  dereg->add_flag("--force", o->force, "Remove a version even if some dependency would be left with no live version");
  target_options(dereg, false);
  dereg->callback([o, &exit_code] { exit_code = deregister(*o, o->name, o->version, o->id, o->force); });

  auto* status = app.add_subcommand("status",
                                    "The local agent's arena (generation, revision, staleness; each registry's, when "
                                    "federated) and the server's revision");
  status->add_option("--shm", o->shm, "Arena name (default: roster)");
  CLI::Option* ask_server = status->add_option("--server", o->server, "Also ask this roster-server for its revision");
  status->add_option("--agent", o->agent, "Also ask the agent's /healthz (its HTTP address) for its upstream");
  status->add_flag("--json", o->json, "Machine-readable output");
  status->callback([o, ask_server, &exit_code] {
    if (o->shm.empty()) o->shm = "roster";
    auto client = open_shm(*o);
    if (!client) return void(exit_code = kNo);
    View view = client->view();
    const auto staleness = view.staleness();
    std::optional<uint64_t> server_revision;
    if (ask_server->count() > 0) {
      if (auto r = call(*o, "GET", "/v1/revision")) {
        const auto at = r->body.find(':');
        if (at != std::string::npos) server_revision = std::strtoull(r->body.c_str() + at + 1, nullptr, 10);
      }
    }
    std::optional<std::string> agent_health;
    if (!o->agent.empty()) {
      auto unreachable = [&](const Error& error) {
        std::cerr << "rosterctl: " << error.message << "\n";
        exit_code = kNo;
      };
      auto agent = net::HttpClient::open(o->agent);
      if (!agent)
        unreachable(agent.error());
      else if (auto health = agent->get("/healthz", std::chrono::seconds(5)); !health)
        unreachable(health.error());
      else
        agent_health = std::move(health->body);
    }
    if (o->json) {
      std::string out;
      wire::JsonWriter w(out);
      w.begin_object().key("arena").string(o->shm).key("generation").unsigned_number(view.generation());
      if (agent_health) w.key("agent").raw(*agent_health);
      w.key("revision").unsigned_number(view.revision());
      if (staleness == std::chrono::milliseconds::max())
        w.key("staleness_ms").null();
      else
        w.key("staleness_ms").number(staleness.count());
      if (server_revision) w.key("server_revision").unsigned_number(*server_revision);
      w.key("registries");
      write_registries(w, view);
      w.end_object();
      std::cout << out << "\n";
    } else {
      std::cout << "arena " << o->shm << ": generation " << view.generation() << ", revision " << view.revision()
                << ", staleness " << staleness_text(staleness) << "\n";
      if (!view.registries().front().name.empty()) print_registries(view);  // federated
      if (server_revision) std::cout << "server " << o->server << ": revision " << *server_revision << "\n";
      if (agent_health) std::cout << "agent " << o->agent << ": " << *agent_health << "\n";
    }
  });
}

}  // namespace roster::cli
