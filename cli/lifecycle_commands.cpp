// rosterctl lifecycle set | timeline: moving a version through its stages and what is due next
// (POST /v1/services/{name}/versions/{v}/lifecycle, GET /v1/lifecycle/timeline).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "server_client.hpp"
#include "service_names.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/wire/json_writer.hpp"
#include "roster/wire/names.hpp"
#include "roster/wire/time_format.hpp"

namespace roster::cli {
namespace {

using rapidjson::Value;

struct Options : ServerOptions {
  std::string name, version, stage, reason;
  int within_days = -1;
  bool force = false;
};

// A time the server sent as RFC 3339 text or as Unix milliseconds, in UTC `Z` form so that times
// sort as text; "" when absent.
std::string time_text(const Value& object, std::string_view key) {
  const auto* v = governance::member(object, key);
  if (!v) return {};
  if (v->IsString()) {
    auto ms = wire::parse_rfc3339_ms(v->GetString());
    return ms ? wire::format_rfc3339_ms(*ms) : v->GetString();
  }
  if (v->IsInt64()) return wire::format_rfc3339_ms(v->GetInt64());
  return {};
}

void print_stage_change(const Options& o, const Value& answer) {
  std::cout << o.name << "@" << o.version << " is now " << str(answer, "stage") << " (revision "
            << integer(answer, "revision") << ")\n";
  for (auto [key, title] : {std::pair{"deprecated_at", "deprecated at"}, std::pair{"sunset_at", "sunset at"},
                            std::pair{"retired_at", "retired at"}}) {
    if (auto t = time_text(answer, key); !t.empty()) std::cout << "  " << title << ": " << t << "\n";
  }
  for (auto& w : array(answer, "warnings").GetArray())
    if (w.IsString()) std::cout << "warning: " << w.GetString() << "\n";
}

struct Row {
  std::string id, stage, next, due, days, dependents;
};

void print_timeline(const Options& o, const Value& answer) {
  std::vector<Row> rows;
  for (auto& v : array(answer, "versions").GetArray()) {
    Row row{std::string(str(v, "name")) + "@" + std::string(str(v, "version")),
            std::string(str(v, "stage")),
            std::string(str(v, "next_stage")),
            time_text(v, "due_at"),
            std::to_string(integer(v, "days_remaining")),
            ""};
    const auto& dependents = array(v, "dependents");
    row.dependents = std::to_string(dependents.Size());
    for (rapidjson::SizeType i = 0; i < dependents.Size(); ++i)
      row.dependents += (i ? ", " : ": ") + std::string(str(dependents[i], "name")) + "@" +
                        std::string(str(dependents[i], "version"));
    rows.push_back(std::move(row));
  }
  // The due date is the part before the 'T'.
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.due < b.due; });
  for (auto& row : rows) row.due = row.due.substr(0, row.due.find('T'));
  if (rows.empty()) {
    std::cout << "no deprecated or sunset versions";
    if (o.within_days >= 0) std::cout << " due within " << o.within_days << " days";
    std::cout << "\n";
    return;
  }
  const Row header{"VERSION", "STAGE", "NEXT", "DUE", "DAYS", "DEPENDENTS"};
  size_t w[5] = {header.id.size(), header.stage.size(), header.next.size(), header.due.size(), header.days.size()};
  for (auto& r : rows) {
    w[0] = std::max(w[0], r.id.size());
    w[1] = std::max(w[1], r.stage.size());
    w[2] = std::max(w[2], r.next.size());
    w[3] = std::max(w[3], r.due.size());
    w[4] = std::max(w[4], r.days.size());
  }
  auto print = [&](const Row& r) {
    std::cout << std::left << std::setw(static_cast<int>(w[0])) << r.id << "  " << std::setw(static_cast<int>(w[1]))
              << r.stage << "  " << std::setw(static_cast<int>(w[2])) << r.next << "  "
              << std::setw(static_cast<int>(w[3])) << r.due << "  " << std::right << std::setw(static_cast<int>(w[4]))
              << r.days << "  " << r.dependents << "\n";
  };
  print(header);
  for (auto& r : rows) print(r);
}

}  // namespace

void add_lifecycle_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* lifecycle = app.add_subcommand("lifecycle", "Lifecycle stages: move a version, see what is due");
  lifecycle->require_subcommand(1);

  auto* set = lifecycle->add_subcommand("set", "Move NAME VERSION to STAGE (forward only)");
  set->add_option("name", o->name, "Service name")->required();
  set->add_option("version", o->version, "Version")->required();
  set->add_option("stage", o->stage, "proposed, development, beta, stable, deprecated, sunset or retired")->required();
  set->add_option("--reason", o->reason, "Why (recorded with a deprecation)");
  set->add_flag("--force", o->force, "Retire even if some dependency would be left with no live version to resolve to");
  add_server_options(set, *o);
  set->callback([o, &exit_code] {
    if (!wire::parse_lifecycle_stage(o->stage)) {
      std::cerr << "rosterctl: unknown lifecycle stage \"" << o->stage << "\"\n";
      return void(exit_code = kUsage);
    }
    std::string body;
    wire::JsonWriter w(body);
    w.begin_object().key("stage").string(o->stage);
    if (!o->reason.empty()) w.key("reason").string(o->reason);
    w.end_object();
    const std::string target =
        "/v1/services/" + escape_segment(o->name) + "/versions/" + escape_segment(o->version) + "/lifecycle" +
        (o->force ? "?force=true" : "");
    rapidjson::Document answer;
    std::string raw;
    exit_code = call_json(*o, "POST", target, answer, body, &raw);
    if (exit_code == kNo) explain_unknown_service(*o, o->name);
    if (exit_code != kOk) return;
    if (o->json)
      std::cout << raw << "\n";
    else
      print_stage_change(*o, answer);
  });

  auto* timeline = lifecycle->add_subcommand("timeline", "Deprecated and sunset versions by due date, with dependents");
  timeline->add_option("--within-days", o->within_days, "Only those due within N days")->check(CLI::NonNegativeNumber);
  add_server_options(timeline, *o);
  timeline->callback([o, &exit_code] {
    std::string target = "/v1/lifecycle/timeline";
    if (o->within_days >= 0) add_query(target, "within_days", std::to_string(o->within_days));
    rapidjson::Document answer;
    std::string raw;
    exit_code = call_json(*o, "GET", target, answer, {}, &raw);
    if (exit_code != kOk) return;
    if (o->json)
      std::cout << raw << "\n";
    else
      print_timeline(*o, answer);
  });
}

}  // namespace roster::cli
