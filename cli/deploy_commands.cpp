// rosterctl can-i-deploy NAME VERSION: whether every contract the version takes part in holds,
// as a provider and as a consumer (GET /v1/can-i-deploy).
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "findings.hpp"
#include "server_client.hpp"
#include "service_names.hpp"

namespace roster::cli {
namespace {

struct Options : ServerOptions {
  std::string name, version;
};

void print_verdict(const Options& o, const rapidjson::Value& answer) {
  const bool yes = boolean(answer, "deployable");
  const auto& reasons = array(answer, "reasons");
  std::cout << (yes ? "yes" : "no") << ": " << o.name << "@" << o.version << (yes ? " can" : " cannot")
            << " be deployed";
  if (reasons.Empty()) std::cout << " (no contract involves it)";
  std::cout << "\n";
  for (auto& r : reasons.GetArray()) {
    // As a provider the counterpart is a consumer, and the other way round.
    const bool provider = str(r, "direction") == "provider";
    std::cout << "  " << (boolean(r, "ok") ? "ok  " : "FAIL") << " as "
              << (provider ? "provider for consumer " : "consumer of provider ") << str(r, "counterpart");
    if (auto m = str(r, "message"); !m.empty()) std::cout << ": " << m;
    std::cout << "\n";
    for (auto& f : array(r, "findings").GetArray()) std::cout << "    " << finding_line(f) << "\n";
  }
}

}  // namespace

void add_deploy_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("can-i-deploy", "Whether NAME VERSION keeps every contract; exit 0 yes, 1 no, 2 error");
  cmd->add_option("name", o->name, "Service name")->required();
  cmd->add_option("version", o->version, "Version")->required();
  add_server_options(cmd, *o);
  cmd->callback([o, &exit_code] {
    std::string target = "/v1/can-i-deploy";
    add_query(target, "service", o->name);
    add_query(target, "version", o->version);
    rapidjson::Document answer;
    std::string raw;
    // Any failure is an error here: exit 1 must only ever mean "not deployable".
    if (const int code = call_json(*o, "GET", target, answer, {}, &raw); code != kOk) {
      if (code == kNo) explain_unknown_service(*o, o->name);
      return void(exit_code = kUsage);
    }
    if (o->json)
      std::cout << raw << "\n";
    else
      print_verdict(*o, answer);
    exit_code = boolean(answer, "deployable") ? kOk : kNo;
  });
}

}  // namespace roster::cli
