// rosterctl export | import: a whole registry out of a server as one registry document (a backup),
// and back into a server (a restore). The document is the registry format (docs/registry-format.md)
// that `validate` checks and `register` also accepts.
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "server_client.hpp"
#include "roster/base/files.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::cli {
namespace {

struct Options : ServerOptions {
  std::string file, output;
  bool instances = false, dry_run = false;
};

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
                                           "what it holds is written over what the server has, nothing is deleted");
  imp->add_option("file", o->file, "Registry JSON document, e.g. from `rosterctl export`")->required();
  imp->add_flag("--dry-run", o->dry_run, "Check it against the registry's rules and report, writing nothing");
  add_server_options(imp, *o);
  imp->callback([o, &exit_code] {
    auto body = base::read_file(o->file);
    if (!body) {
      std::cerr << "rosterctl: " << body.error().message << "\n";
      return void(exit_code = kUsage);
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
