// rosterctl validate | convert | dump: registry JSON <-> FlatBuffers.
#include <iostream>
#include <sstream>

#include "commands.hpp"
#include "roster/base/files.hpp"
#include "roster/model/service_resolution.hpp"
#include "roster/net/http_request_parser.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_encoder.hpp"
#include "roster/wire/json_writer.hpp"
#include "roster/wire/snapshot.hpp"
#include "roster/wire/verify.hpp"

namespace roster::cli {
namespace {

struct Options {
  std::string file, output;
  size_t max_size = wire::CodecLimits{}.max_document_bytes;
  bool json = false;
  bool compact = false;
  size_t bytes = 0;  // the document's size, once read
};

wire::DecodedDocument decode(Options& opts) {
  wire::CodecLimits limits;
  limits.max_document_bytes = opts.max_size;
  auto text = base::read_file(opts.file, limits.max_document_bytes);
  if (!text) {
    wire::DecodedDocument unreadable;
    unreadable.errors.push_back(text.error());
    return unreadable;
  }
  opts.bytes = text->size();
  return wire::JsonDecoder(limits).decode(*text);
}

std::string counts(const wire::DecodedDocument& doc) {
  std::ostringstream s;
  s << doc.services.size() << " service versions, " << doc.instances.size() << " instances, " << doc.contracts.size()
    << " contracts";
  return s.str();
}

// Prints `ok` or every error; returns the exit code.
int report(const Options& opts, const wire::DecodedDocument& doc) {
  if (opts.json) {
    std::string out;
    wire::JsonWriter w(out);
    w.begin_object().key("ok").boolean(doc.ok());
    if (doc.ok()) {
      w.key("service_versions").unsigned_number(doc.services.size());
      w.key("instances").unsigned_number(doc.instances.size());
      w.key("contracts").unsigned_number(doc.contracts.size());
    } else {
      w.key("errors").begin_array();
      for (auto& e : doc.errors) w.begin_object().key("path").string(e.where).key("message").string(e.message).end_object();
      w.end_array();
    }
    w.end_object();
    std::cout << out << "\n";
  } else if (doc.ok()) {
    std::cout << "ok (" << counts(doc) << ")\n";
    if (opts.bytes > net::HttpParserLimits{}.max_body_bytes)
      std::cerr << "rosterctl: note: " << opts.file << " is " << opts.bytes << " bytes, above roster-server's default "
                << "request limit of " << net::HttpParserLimits{}.max_body_bytes
                << " bytes: register it with a server started with a larger --max-body-bytes\n";
  } else {
    for (auto& e : doc.errors) std::cout << opts.file << ": " << e.to_string() << "\n";
  }
  return doc.ok() ? kOk : kNo;
}

void add_input_options(CLI::App* cmd, Options& opts) {
  cmd->add_option("file", opts.file, "Registry JSON document (a whole registry or one service version)")->required();
  cmd->add_option("--max-size", opts.max_size, "Largest document accepted, in bytes")->capture_default_str();
}

}  // namespace

void add_registry_commands(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<Options>();

  auto* validate = app.add_subcommand("validate", "Check a registry JSON document; print ok or every error with its path");
  add_input_options(validate, *opts);
  validate->add_flag("--json", opts->json, "Machine-readable output");
  validate->callback([opts, &exit_code] { exit_code = report(*opts, decode(*opts)); });

  auto* convert = app.add_subcommand("convert", "Convert a registry JSON document to a FlatBuffers snapshot");
  add_input_options(convert, *opts);
  convert->add_option("-o,--output", opts->output, "Output file (FlatBuffers Snapshot)")->required();
  convert->add_flag("--json", opts->json, "Machine-readable output");
  convert->callback([opts, &exit_code] {
    auto doc = decode(*opts);
    if (!doc.ok()) return void(exit_code = report(*opts, doc));
    // A whole snapshot, as the server sends one: each service's resolution too (an agent
    // refuses a snapshot without them).
    model::DependencyGraph graph;
    for (size_t i = 0; i < doc.services.size(); ++i)
      (void)graph.upsert(model::version_info(*flatbuffers::GetRoot<wire::ServiceVersion>(doc.services[i].data())));
    wire::RecordList resolutions;
    for (const std::string& name : graph.take_changed_services()) resolutions.append(model::resolution_record(graph, name));
    auto snapshot = wire::build_snapshot(doc.services, doc.instances, doc.contracts, 0, {}, resolutions);
    if (auto written = base::write_file_atomically(opts->output, {snapshot.data(), snapshot.size()}); !written) {
      std::cerr << "rosterctl: " << written.error().message << "\n";
      return void(exit_code = kUsage);
    }
    if (opts->json)
      report(*opts, doc);
    else
      std::cout << "wrote " << opts->output << ": " << counts(doc) << ", " << snapshot.size() << " bytes\n";
  });

  auto* dump = app.add_subcommand("dump", "Verify a FlatBuffers snapshot and print it as registry JSON");
  dump->add_option("file", opts->file, "FlatBuffers Snapshot written by `rosterctl convert`")->required();
  dump->add_flag("--compact", opts->compact, "One line instead of indented JSON");
  dump->add_flag("--json", opts->json, "Registry JSON either way; --json prints it on one line, as --compact");
  dump->callback([opts, &exit_code] {
    auto file = base::read_file_aligned(opts->file);
    if (!file) {
      std::cerr << "rosterctl: " << file.error().message << "\n";
      return void(exit_code = kUsage);
    }
    const auto bytes = file->bytes();
    if (auto valid = wire::verify<wire::Snapshot>(bytes); !valid) {
      std::cerr << "rosterctl: " << opts->file << ": " << valid.error().message << "\n";
      return void(exit_code = kNo);
    }
    auto records = wire::open_snapshot(*flatbuffers::GetRoot<wire::Snapshot>(bytes.data()));
    std::vector<const wire::Instance*> orphans;
    std::cout << wire::to_registry_json({records.versions, records.instances, records.contracts, {}},
                                        !opts->compact && !opts->json, &orphans);
    if (!orphans.empty()) {
      std::cerr << "rosterctl: " << opts->file << ": " << orphans.size()
                << " instances name a service version the snapshot does not hold; they were left out\n";
      exit_code = kNo;
    }
  });
}

}  // namespace roster::cli
