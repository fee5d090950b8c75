// rosterctl schema check | diff | compat: the registry's schema rules run locally on files, with
// no server, so that CI can refuse a change before anyone registers it.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "findings.hpp"
#include "json_file.hpp"
#include "server_client.hpp"
#include "service_names.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/governance/json_schema.hpp"
#include "roster/governance/openapi_check.hpp"
#include "roster/governance/openapi_diff.hpp"
#include "roster/governance/schema_compat.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::cli {
namespace {

struct Options {
  std::string file, old_file, new_file, format, mode;
  std::vector<std::string> files;
  bool json = false, strict = false;
};

bool is_openapi(const rapidjson::Value& doc) { return governance::member(doc, "openapi") != nullptr; }

std::string_view pointer_text(std::string_view pointer) { return pointer.empty() ? "(root)" : pointer; }

std::string_view format_title(std::string_view format) {
  return format == "openapi" ? "OpenAPI document" : "JSON Schema (draft-07)";
}

// schema check: every problem as `POINTER: message`; exit 0 valid, 1 invalid, 2 unusable input.
int check(const Options& o) {
  auto doc = load_json_file(o.file);
  if (!doc) return kUsage;
  const std::string format = !o.format.empty() ? o.format : is_openapi(*doc) ? "openapi" : "json_schema";
  const auto problems = format == "openapi" ? governance::check_openapi(*doc) : governance::check_json_schema(*doc, *doc);
  if (o.json) {
    std::string out;
    wire::JsonWriter w(out);
    w.begin_object().key("valid").boolean(problems.empty()).key("format").string(format).key("problems").begin_array();
    for (auto& p : problems)
      w.begin_object().key("pointer").string(p.pointer).key("message").string(p.message).end_object();
    w.end_array().end_object();
    std::cout << out << "\n";
  } else {
    for (auto& p : problems) std::cout << pointer_text(p.pointer) << ": " << p.message << "\n";
    std::cout << o.file << ": ";
    if (problems.empty())
      std::cout << "a valid " << format_title(format) << "\n";
    else
      std::cout << "not a valid " << format_title(format) << " (" << problems.size()
                << (problems.size() == 1 ? " problem)\n" : " problems)\n");
  }
  return problems.empty() ? kOk : kNo;
}

// The document, or nullopt (after saying why) when it is not a valid OpenAPI document: a diff of
// a broken document would report noise, so it is bad input like unparseable JSON.
std::optional<rapidjson::Document> load_openapi(const std::string& path) {
  auto doc = load_json_file(path);
  if (!doc) return doc;
  if (!doc->IsObject() || !is_openapi(*doc)) {
    std::cerr << "rosterctl: " << path << ": not an OpenAPI document (no \"openapi\" member)\n";
    return std::nullopt;
  }
  if (auto problems = governance::check_openapi(*doc); !problems.empty()) {
    for (auto& p : problems) std::cerr << path << ": " << pointer_text(p.pointer) << ": " << p.message << "\n";
    std::cerr << "rosterctl: " << path << ": not a valid OpenAPI document\n";
    return std::nullopt;
  }
  return doc;
}

// One line per finding, then the verdict: "breaking: 3 findings, 2 breaking".
void print_diff(const std::vector<governance::Finding>& findings, bool breaking) {
  size_t breaking_count = 0;
  for (auto& f : findings) {
    std::cout << finding_line(f) << "\n";
    breaking_count += f.severity == governance::Severity::Breaking;
  }
  if (findings.empty())
    std::cout << "no differences\n";
  else
    std::cout << (breaking ? "breaking: " : "nothing breaks: ") << findings.size()
              << (findings.size() == 1 ? " finding, " : " findings, ") << breaking_count << " breaking\n";
}

// schema diff: what a client of OLD notices against NEW; exit 1 when something breaks.
int diff(const Options& o) {
  auto old_doc = load_openapi(o.old_file);
  auto new_doc = old_doc ? load_openapi(o.new_file) : std::nullopt;
  if (!new_doc) return kUsage;
  const auto result = governance::diff_openapi(*old_doc, *new_doc);
  const bool breaking = result.breaking();
  if (o.json) {
    std::string out;
    wire::JsonWriter w(out);
    w.begin_object().key("breaking").boolean(breaking).key("findings");
    write_findings(w, result.findings);
    w.end_object();
    std::cout << out << "\n";
  } else {
    print_diff(result.findings, breaking);
  }
  return breaking ? kNo : kOk;
}

// schema compat: the last file against the ones before it (oldest first) under --mode.
int compat(const Options& o) {
  const auto mode = governance::parse_compatibility_mode(o.mode);
  if (!mode) {
    std::cerr << "rosterctl: " << mode.error().message << "\n";
    return kUsage;
  }
  std::vector<rapidjson::Document> docs;
  for (auto& file : o.files) {
    auto doc = load_json_file(file);
    if (!doc) return kUsage;
    docs.push_back(std::move(*doc));
  }
  // All OpenAPI documents (compared schema by schema) or all JSON Schemas; a mix means nothing.
  size_t openapi = 0;
  for (auto& d : docs) openapi += is_openapi(d);
  if (openapi != 0 && openapi != docs.size()) {
    std::cerr << "rosterctl: mixing OpenAPI documents and JSON Schemas: compare one kind at a time\n";
    return kUsage;
  }
  // Comparing an invalid schema proves nothing: it is bad input.
  for (size_t i = 0; i < docs.size(); ++i) {
    const auto problems = openapi ? governance::check_openapi(docs[i]) : governance::check_json_schema(docs[i], docs[i]);
    for (auto& p : problems) std::cerr << o.files[i] << ": " << pointer_text(p.pointer) << ": " << p.message << "\n";
    if (!problems.empty()) {
      std::cerr << "rosterctl: " << o.files[i] << ": not a valid " << format_title(openapi ? "openapi" : "") << "\n";
      return kUsage;
    }
  }
  std::vector<governance::Finding> findings;
  if (openapi) {
    std::vector<governance::OpenApiVersionRef> history;
    for (size_t i = 0; i + 1 < docs.size(); ++i) history.push_back({o.files[i], &docs[i]});
    findings = governance::check_openapi_compatibility(*mode, history, {o.files.back(), &docs.back()}, {.lenient = !o.strict});
  } else {
    std::vector<governance::SchemaVersionRef> history;
    for (size_t i = 0; i + 1 < docs.size(); ++i) history.push_back({o.files[i], &docs[i], ""});
    findings = governance::check_compatibility(*mode, history, {o.files.back(), &docs.back(), ""}, {.lenient = !o.strict});
  }
  if (o.json) {
    std::string out;
    wire::JsonWriter w(out);
    w.begin_object().key("compatible").boolean(findings.empty()).key("mode").string(governance::to_string(*mode));
    w.key("findings");
    write_findings(w, findings);
    w.end_object();
    std::cout << out << "\n";
  } else {
    for (auto& f : findings) std::cout << finding_line(f) << "\n";
    std::cout << o.files.back() << (findings.empty() ? " is" : " is not") << " compatible (" << governance::to_string(*mode)
              << ", " << docs.size() - 1 << (docs.size() == 2 ? " previous version" : " previous versions");
    if (!findings.empty()) std::cout << "; " << findings.size() << (findings.size() == 1 ? " finding" : " findings");
    std::cout << ")\n";
  }
  return findings.empty() ? kOk : kNo;
}

}  // namespace

// A service's schema history from a server: each version's format and what changed since the one
// before.
int evolution(const ServerOptions& o, const std::string& name) {
  rapidjson::Document answer;
  std::string raw;
  if (int code = call_json(o, "GET", "/v1/services/" + escape_segment(name) + "/evolution", answer, {}, &raw); code != kOk) {
    if (code == kNo) explain_unknown_service(o, name);
    return code;
  }
  if (o.json) return std::cout << raw << "\n", kOk;
  for (auto& v : array(answer, "versions").GetArray()) {
    std::cout << name << "@" << str(v, "version") << " (" << str(v, "format") << ")";
    if (v.HasMember("paths")) std::cout << ": " << integer(v, "paths") << " paths, " << integer(v, "operations") << " operations";
    std::cout << "\n";
    for (const char* list : {"added", "removed", "changed"})
      for (auto& f : array(v, list).GetArray()) std::cout << "  " << finding_line(f) << "\n";
  }
  return kOk;
}

void add_schema_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* schema = app.add_subcommand("schema", "Check, diff and compare API schemas locally; a service's schema history on a server");
  schema->require_subcommand(1);

  auto* chk = schema->add_subcommand("check", "Is FILE a valid OpenAPI 3.x document or JSON Schema (draft-07)?");
  chk->add_option("file", o->file, "Schema document")->required();
  chk->add_option("--format", o->format, "openapi or json_schema (default: openapi when it has an \"openapi\" member)")
      ->check(CLI::IsMember({"openapi", "json_schema"}));
  chk->add_flag("--json", o->json, "Machine-readable output");
  chk->callback([o, &exit_code] { exit_code = check(*o); });

  auto* dif =
      schema->add_subcommand("diff", "What breaks for clients of OLD against NEW (OpenAPI); exit 1 if anything");
  dif->add_option("old", o->old_file, "The current OpenAPI document")->required();
  dif->add_option("new", o->new_file, "The proposed OpenAPI document")->required();
  dif->add_flag("--json", o->json, "Machine-readable output");
  dif->callback([o, &exit_code] { exit_code = diff(*o); });

  auto* cmp = schema->add_subcommand("compat", "Is NEW compatible with the OLD versions (oldest first) under --mode?");
  cmp->add_option("--mode", o->mode, "BACKWARD, FORWARD, FULL (each also _TRANSITIVE) or NONE")->required();
  cmp->add_flag("--strict", o->strict,
                "Also report properties added to (or closing) an open content model; by default, as the server does, "
                "writers are assumed to send only the properties their schema declares");
  cmp->add_option("files", o->files, "OLD... NEW: JSON Schemas or OpenAPI documents")->required()->expected(2, -1);
  cmp->add_flag("--json", o->json, "Machine-readable output");
  cmp->callback([o, &exit_code] { exit_code = compat(*o); });

  auto server = std::make_shared<ServerOptions>();
  auto name = std::make_shared<std::string>();
  auto* evo = schema->add_subcommand("evolution", "A service's schemas version by version: what each added, removed, changed");
  evo->add_option("name", *name, "Service name")->required();
  add_server_options(evo, *server);
  evo->callback([server, name, &exit_code] { exit_code = evolution(*server, *name); });
}

}  // namespace roster::cli
