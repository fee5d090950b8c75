// rosterctl export | import: a whole registry out of a server as one registry document (a backup),
// and back into a server (a restore). The document is the registry format (docs/registry-format.md)
// that `validate` checks and `register` also accepts. `import --from eureka|consul|kubernetes`
// converts another registry's export into that document first (importers.hpp, docs/importing.md).
#include <iostream>
#include <map>
#include <memory>

#include "commands.hpp"
#include "importers.hpp"
#include "server_client.hpp"
#include "roster/base/files.hpp"
#include "roster/semver.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_writer.hpp"
#include "roster/wire/names.hpp"

namespace roster::cli {
namespace {

struct Options : ServerOptions {
  std::string file, output, from;
  bool instances = false, dry_run = false, apply = false;
  ImportOptions import;
};

using Converter = ImportResult (*)(std::string_view, const ImportOptions&);
const std::map<std::string, Converter> kConverters{
    {"eureka", import_eureka}, {"consul", import_consul}, {"kubernetes", import_kubernetes}};

// Another system's export (--from) as a registry document, written to -o or printed; nullopt when
// there is nothing to send, either after saying why (exit_code set) or because it was not asked
// for (no --apply or --dry-run).
std::optional<std::string> convert(const Options& o, const std::string& text, int& exit_code) {
  if (!wire::parse_lifecycle_stage(o.import.stage)) {
    std::cerr << "rosterctl: --stage \"" << o.import.stage << "\" is not a lifecycle stage\n";
    return exit_code = kUsage, std::nullopt;
  }
  if (!o.import.default_version.empty())
    if (auto v = semver::Version::parse(o.import.default_version); !v) {
      std::cerr << "rosterctl: --default-version: " << v.error().message << "\n";
      return exit_code = kUsage, std::nullopt;
    }
  auto converted = kConverters.at(o.from)(text, o.import);
  if (!converted.ok()) {
    for (const auto& e : converted.errors) std::cerr << o.file << ": " << e.to_string() << "\n";
    std::cerr << "rosterctl: " << o.file << " is not imported (" << converted.errors.size()
              << (converted.errors.size() == 1 ? " problem)\n" : " problems)\n");
    return exit_code = kNo, std::nullopt;
  }
  const bool send = o.apply || o.dry_run;
  if (!o.output.empty()) {
    auto written = base::write_file_atomically(
        o.output, std::span(reinterpret_cast<const uint8_t*>(converted.document.data()), converted.document.size()));
    if (!written) {
      std::cerr << "rosterctl: " << written.error().message << "\n";
      return exit_code = kUsage, std::nullopt;
    }
  } else if (!send) {
    std::cout << converted.document;
  }
  if (!send) return std::nullopt;
  return std::move(converted.document);
}

}  // namespace

void add_backup_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();

  auto* exp = app.add_subcommand("export", "Write the server's whole registry (versions, contracts, settings) as one "
                                           "registry document: a backup that `import` restores");
  exp->add_option("-o,--output", o->output, "Write to FILE (atomically) instead of standard output");
  exp->add_flag("--instances", o->instances,
                "Include the instances (live state: their processes re-register them, so a backup usually leaves "
                "them out)");
  add_server_options(exp, *o);  // the document is JSON; with -o, --json reports {"output", "bytes"}
  exp->callback([o, &exit_code] {
    auto r = call(*o, "GET", std::string("/v1/registry") + (o->instances ? "?instances=true" : ""), {}, &exit_code);
    if (!r) return;
    if (o->output.empty()) {
      std::cout << r->body << "\n";
      return;
    }
    std::string& text = r->body += '\n';
    auto written = base::write_file_atomically(
        o->output, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    if (!written) {
      std::cerr << "rosterctl: " << written.error().message << "\n";
      return void(exit_code = kUsage);
    }
    if (o->json) {
      std::string out;
      wire::JsonWriter(out).begin_object().key("output").string(o->output).key("bytes").unsigned_number(text.size())
          .end_object();
      std::cout << out << "\n";
    }
  });

  auto* imp = app.add_subcommand("import", "Restore a registry document (an export) into the server, all or nothing; "
                                           "what it holds is written over what the server has, nothing is deleted. "
                                           "With --from, convert a Eureka, Consul or Kubernetes export first");
  imp->add_option("file", o->file, "Registry JSON document, e.g. from `rosterctl export`; with --from, that "
                                    "system's export")->required();
  imp->add_flag("--dry-run", o->dry_run, "Check it against the registry's rules and report, writing nothing");
  auto* from = imp->add_option("--from", o->from, "Convert FILE from eureka (/eureka/apps), consul "
                                                  "(/v1/health/service/NAME arrays) or kubernetes (Services and "
                                                  "EndpointSlices): printed, or -o, or sent with --apply")
                   ->check(CLI::IsMember({"eureka", "consul", "kubernetes"}));
  imp->add_flag("--apply", o->apply, "With --from: register the converted document on the server (all or nothing)")
      ->needs(from);
  imp->add_option("-o,--output", o->output, "With --from: write the converted document to FILE")->needs(from);
  imp->add_option("--owner-team", o->import.owner_team,
                  "With --from: the owner team of services whose metadata or labels name none")->needs(from);
  imp->add_option("--stage", o->import.stage, "With --from: the imported versions' lifecycle stage")
      ->needs(from)->capture_default_str();
  imp->add_option("--default-version", o->import.default_version,
                  "With --from: the version of services that carry none (else they are refused)")->needs(from);
  add_server_options(imp, *o);
  imp->callback([o, &exit_code] {
    auto body = base::read_file(o->file);
    if (!body) {
      std::cerr << "rosterctl: " << body.error().message << "\n";
      return void(exit_code = kUsage);
    }
    if (!o->from.empty()) {
      auto converted = convert(*o, *body, exit_code);
      if (!converted) return;
      *body = std::move(*converted);
    }
    // Checked here first: a mistake names its JSON path without a round trip, and one version's
    // document is `register`'s to send.
    auto doc = wire::JsonDecoder().decode(*body);
    if (!doc.ok()) {
      for (const auto& e : doc.errors) std::cerr << o->file << ": " << e.to_string() << "\n";
      return void(exit_code = kNo);
    }
    if (doc.kind != wire::DocumentKind::Registry) {
      std::cerr << "rosterctl: " << o->file
                << " is one service version, not a registry document; `rosterctl register` sends it\n";
      return void(exit_code = kUsage);
    }
    auto r = call(*o, "POST", std::string("/v1/registry") + (o->dry_run ? "?dry_run=true" : ""), *body, &exit_code);
    if (!r) return;
    if (o->json) {
      std::cout << r->body << "\n";
      return;
    }
    std::cout << (o->dry_run ? "would import " : "imported ") << o->file << ": " << doc.services.size()
              << " versions, " << doc.instances.size() << " instances, " << doc.contracts.size() << " contracts, "
              << doc.settings.size() << " service settings" << (o->dry_run ? " (dry run, nothing written)" : "")
              << "\n"
              << r->body << "\n";
  });
}

}  // namespace roster::cli
