// rosterctl contract verify PACT OPENAPI: a consumer's Pact checked statically against a
// provider's OpenAPI document, locally, the same check roster-server runs on registration.
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "findings.hpp"
#include "json_file.hpp"
#include "server_client.hpp"
#include "service_names.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/governance/json_schema.hpp"
#include "roster/governance/openapi_check.hpp"
#include "roster/governance/pact.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::cli {
namespace {

struct Options {
  std::string pact_file, openapi_file;
  bool json = false;
};

void print_problems(const std::vector<governance::SchemaProblem>& problems, bool json) {
  if (json) {
    std::string out;
    wire::JsonWriter w(out);
    w.begin_object().key("ok").boolean(false).key("problems").begin_array();
    for (auto& p : problems)
      w.begin_object().key("pointer").string(p.pointer).key("message").string(p.message).end_object();
    w.end_array().end_object();
    std::cout << out << "\n";
    return;
  }
  for (auto& p : problems) std::cout << (p.pointer.empty() ? "(root)" : p.pointer) << ": " << p.message << "\n";
}

int verify(const Options& o) {
  auto pact_doc = load_json_file(o.pact_file);
  if (!pact_doc) return kUsage;
  auto openapi = load_json_file(o.openapi_file);
  if (!openapi) return kUsage;
  // The pact is checked against a structurally valid document only; anything else is bad input.
  if (auto problems = governance::check_openapi(*openapi); !problems.empty()) {
    for (auto& p : problems)
      std::cerr << o.openapi_file << ": " << (p.pointer.empty() ? "(root)" : p.pointer) << ": " << p.message << "\n";
    std::cerr << "rosterctl: " << o.openapi_file << ": not a valid OpenAPI document\n";
    return kUsage;
  }
  auto parsed = governance::parse_pact(*pact_doc);
  if (!parsed) {
    print_problems(parsed.error(), o.json);
    if (!o.json)
      std::cout << o.pact_file << ": not a valid pact (" << parsed.error().size()
                << (parsed.error().size() == 1 ? " problem)\n" : " problems)\n");
    return kUsage;
  }
  const auto& pact = *parsed;
  const auto result = governance::verify_pact(pact, *openapi);
  if (o.json) {
    std::string out;
    wire::JsonWriter w(out);
    w.begin_object().key("ok").boolean(result.ok()).key("consumer").string(pact.consumer);
    w.key("provider").string(pact.provider).key("interactions").unsigned_number(result.interactions_checked);
    w.key("failures");
    write_findings(w, result.failures);
    w.end_object();
    std::cout << out << "\n";
  } else {
    for (auto& f : result.failures) std::cout << finding_line(f) << "\n";
    std::cout << "pact " << pact.consumer << " → " << pact.provider << ": " << result.interactions_checked
              << (result.interactions_checked == 1 ? " interaction" : " interactions") << " checked against "
              << o.openapi_file << ", ";
    if (result.ok())
      std::cout << "all hold\n";
    else
      std::cout << result.failures.size() << (result.failures.size() == 1 ? " failure\n" : " failures\n");
  }
  return result.ok() ? kOk : kNo;
}

}  // namespace

// Every provider version against every consumer contract whose range matches it, from a server;
// kNo when any pair fails.
int matrix(const ServerOptions& o, const std::string& provider) {
  rapidjson::Document answer;
  std::string raw;
  std::string target = "/v1/contracts/matrix";
  add_query(target, "provider", provider);
  if (int code = call_json(o, "GET", target, answer, {}, &raw); code != kOk) {
    if (code == kNo) explain_unknown_service(o, provider);
    return code;
  }
  if (array(answer, "cells").Empty()) {  // no cell may mean no such provider: a typo is told
    auto names = server_service_names(o);
    if (names && explain_unknown_service(provider, *names)) return kNo;
  }
  bool all_ok = true;
  for (auto& cell : array(answer, "cells").GetArray()) all_ok &= boolean(cell, "ok");
  if (o.json) return std::cout << raw << "\n", all_ok ? kOk : kNo;
  for (auto& cell : array(answer, "cells").GetArray()) {
    std::cout << (boolean(cell, "ok") ? "ok    " : "FAILS ") << str(cell, "provider") << " <- " << str(cell, "consumer");
    if (!str(cell, "message").empty()) std::cout << ": " << str(cell, "message");
    std::cout << "\n";
    for (auto& f : array(cell, "findings").GetArray()) std::cout << "  " << finding_line(f) << "\n";
  }
  if (array(answer, "cells").Empty()) std::cout << "no contract names a version of " << provider << "\n";
  return all_ok ? kOk : kNo;
}

void add_contract_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* contract = app.add_subcommand("contract", "Consumer contracts (Pact v2): checked locally, or their matrix on a server");
  contract->require_subcommand(1);
  auto* cmd = contract->add_subcommand("verify", "Does the provider's OpenAPI document honour the pact? exit 1 if not");
  cmd->add_option("pact", o->pact_file, "Pact v2 document (the consumer's)")->required();
  cmd->add_option("openapi", o->openapi_file, "OpenAPI 3.x document (the provider's)")->required();
  cmd->add_flag("--json", o->json, "Machine-readable output");
  cmd->callback([o, &exit_code] { exit_code = verify(*o); });

  auto server = std::make_shared<ServerOptions>();
  auto provider = std::make_shared<std::string>();
  auto* mtx = contract->add_subcommand("matrix", "Each version of PROVIDER against each consumer contract it must honour; "
                                                  "exit 1 if any fails");
  mtx->add_option("provider", *provider, "Provider service name")->required();
  add_server_options(mtx, *server);
  mtx->callback([server, provider, &exit_code] { exit_code = matrix(*server, *provider); });
}

}  // namespace roster::cli
