// rosterctl deps tree | impact | cycles | upgrade | unresolved | graph: the dependency graph as
// roster-server resolves it (GET /v1/graph..., /v1/services/{name}/tree|impact|upgrade).
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "findings.hpp"
#include "server_client.hpp"
#include "service_names.hpp"
#include "roster/governance/json_document.hpp"

namespace roster::cli {
namespace {

using rapidjson::Value;

struct Options : ServerOptions {
  std::string spec, name, from, to, format = "dot";
  int depth = -1;
  bool paths = false;
};

std::string range_text(std::string_view range) { return range.empty() ? "*" : std::string(range); }

std::string node_id(const Value& v) { return std::string(str(v, "name")) + "@" + std::string(str(v, "version")); }

// `name@version (range) [stage] (mark)`, or `UNRESOLVED service range: status`.
std::string tree_label(const Value& node) {
  if (str(node, "mark") == "unresolved")
    return "UNRESOLVED " + std::string(str(node, "service")) + " " + range_text(str(node, "range")) + ": " +
           std::string(str(node, "status"));
  std::string label = node_id(node);
  if (governance::member(node, "range")) label += " (" + range_text(str(node, "range")) + ")";
  if (auto stage = str(node, "stage"); !stage.empty()) label += " [" + std::string(stage) + "]";
  // depth_limit: the server stopped at --depth; the others are npm ls's markers.
  if (auto mark = str(node, "mark"); mark == "depth_limit")
    label += " (depth limit)";
  else if (!mark.empty())
    label += " (" + std::string(mark) + ")";
  return label;
}

// npm-ls style branches below a node already printed.
void draw_dependencies(const Value& node, const std::string& prefix) {
  const auto& kids = array(node, "dependencies");
  for (rapidjson::SizeType i = 0; i < kids.Size(); ++i) {
    const bool last = i + 1 == kids.Size();
    std::cout << prefix << (last ? "└── " : "├── ") << tree_label(kids[i]) << "\n";
    draw_dependencies(kids[i], prefix + (last ? "    " : "│   "));
  }
}

void print_tree(const Value& root) {
  std::cout << tree_label(root) << "\n";
  draw_dependencies(root, "");
}

// The reverse tree of an impact answer: each dependent's shortest path, read backwards from the
// target, is a branch; dependents sharing a path prefix share the branch.
struct ImpactNode {
  std::string id, range;
  std::vector<std::unique_ptr<ImpactNode>> children;
};

void draw_impact(const ImpactNode& node, const std::string& prefix) {
  for (size_t i = 0; i < node.children.size(); ++i) {
    const auto& child = *node.children[i];
    const bool last = i + 1 == node.children.size();
    std::cout << prefix << (last ? "└── " : "├── ") << child.id;
    if (!child.range.empty()) std::cout << " (" << child.range << ")";
    std::cout << "\n";
    draw_impact(child, prefix + (last ? "    " : "│   "));
  }
}

void print_impact(const Value& answer, bool paths) {
  std::string target(str(answer, "service"));
  if (auto v = str(answer, "version"); !v.empty()) target += "@" + std::string(v);
  const auto& dependents = array(answer, "dependents");
  if (dependents.Empty()) {
    std::cout << "nothing depends on " << target << "\n";
    return;
  }
  // Nearest first, then by name, so the drawing does not depend on the server's order.
  std::vector<const Value*> list;
  for (auto& d : dependents.GetArray()) list.push_back(&d);
  std::stable_sort(list.begin(), list.end(), [](const Value* a, const Value* b) {
    return std::pair(integer(*a, "depth"), node_id(*a)) < std::pair(integer(*b, "depth"), node_id(*b));
  });
  size_t direct = 0;
  std::map<std::string, std::string> range_of;
  for (auto* d : list) {
    direct += integer(*d, "depth") == 1;
    range_of[node_id(*d)] = range_text(str(*d, "range"));
  }
  std::cout << target << ": " << list.size() << (list.size() == 1 ? " dependent" : " dependents") << " (" << direct
            << " direct)\n";
  if (paths) {
    for (auto* d : list) {
      std::cout << "  " << node_id(*d) << " (" << range_text(str(*d, "range")) << ", depth " << integer(*d, "depth")
                << "): ";
      const auto& path = array(*d, "path");
      for (rapidjson::SizeType i = 0; i < path.Size(); ++i)
        std::cout << (i ? " → " : "") << (path[i].IsString() ? path[i].GetString() : "?");
      std::cout << "\n";
    }
    return;
  }
  ImpactNode root{target, "", {}};
  for (auto* d : list) {
    const auto& path = array(*d, "path");
    ImpactNode* at = &root;
    // path is [dependent, ..., target]: walk it from the element next to the target outwards.
    for (rapidjson::SizeType i = path.Size() > 0 ? path.Size() - 1 : 0; i-- > 0;) {
      const std::string id = path[i].IsString() ? path[i].GetString() : "?";
      auto it = std::find_if(at->children.begin(), at->children.end(), [&](auto& c) { return c->id == id; });
      if (it == at->children.end()) {
        at->children.push_back(std::make_unique<ImpactNode>(ImpactNode{id, range_of[id], {}}));
        it = std::prev(at->children.end());
      }
      at = it->get();
    }
  }
  std::cout << root.id << "\n";
  draw_impact(root, "");
}

void print_cycles(const Value& answer) {
  const auto& cycles = array(answer, "cycles");
  if (cycles.Empty()) {
    std::cout << "no dependency cycles\n";
    return;
  }
  std::cout << cycles.Size() << (cycles.Size() == 1 ? " dependency cycle" : " dependency cycles") << ":\n";
  for (auto& cycle : cycles.GetArray()) {
    if (!cycle.IsArray() || cycle.Empty()) continue;
    std::cout << "  ";
    for (auto& member : cycle.GetArray()) std::cout << (member.IsString() ? member.GetString() : "?") << " → ";
    std::cout << (cycle[0].IsString() ? cycle[0].GetString() : "?") << "\n";
  }
  if (boolean(answer, "truncated")) std::cout << "  (more cycles exist; the server listed only these)\n";
}

void print_dependents(const Value& list) {
  for (auto& d : list.GetArray()) std::cout << "  " << node_id(d) << " (" << range_text(str(d, "range")) << ")\n";
}

void print_upgrade(const Value& answer) {
  const auto& breaking = array(answer, "breaking_dependents");
  const auto& unaffected = array(answer, "unaffected_dependents");
  std::cout << str(answer, "service") << " " << str(answer, "from") << " → " << str(answer, "to") << ": "
            << str(answer, "change") << " change\n";
  if (breaking.Empty()) {
    std::cout << "no dependent breaks\n";
  } else {
    std::cout << breaking.Size() << (breaking.Size() == 1 ? " dependent breaks" : " dependents break")
              << " (their range accepts " << str(answer, "from") << " but not " << str(answer, "to") << "):\n";
    print_dependents(breaking);
  }
  if (!unaffected.Empty()) {
    std::cout << unaffected.Size() << (unaffected.Size() == 1 ? " dependent" : " dependents") << " unaffected:\n";
    print_dependents(unaffected);
  }
  const auto* diff = governance::member(answer, "schema_diff");
  if (!diff || !diff->IsObject()) return;
  const auto& findings = array(*diff, "findings");
  std::cout << "schema diff: " << (boolean(*diff, "breaking") ? "breaking" : "nothing breaks") << " ("
            << findings.Size() << (findings.Size() == 1 ? " finding" : " findings") << ")\n";
  for (auto& f : findings.GetArray()) std::cout << "  " << finding_line(f) << "\n";
  const auto* contracts = governance::member(answer, "contracts");
  if (!contracts || !contracts->IsArray()) return;  // `to` is not registered: nothing to verify against
  const auto& breaking_contracts = array(answer, "breaking_contracts");
  if (contracts->Empty()) {
    std::cout << "no consumer contract covers " << str(answer, "from") << " or " << str(answer, "to") << "\n";
    return;
  }
  std::cout << "consumer contracts against " << str(answer, "to") << ": "
            << (breaking_contracts.Empty() ? "all hold" : std::to_string(breaking_contracts.Size()) + " broken") << "\n";
  for (auto& v : contracts->GetArray()) {
    std::cout << "  " << (boolean(v, "ok") ? "ok    " : "BREAKS ") << str(v, "consumer") << ": " << str(v, "message") << "\n";
    for (auto& f : array(v, "findings").GetArray()) std::cout << "    " << finding_line(f) << "\n";
  }
}

void print_unresolved(const Value& answer) {
  const auto& list = array(answer, "unresolved");
  if (list.Empty()) {
    std::cout << "every dependency resolves\n";
    return;
  }
  std::cout << list.Size() << (list.Size() == 1 ? " dependency does" : " dependencies do") << " not resolve:\n";
  for (auto& u : list.GetArray())
    std::cout << "  " << str(u, "from") << " → " << str(u, "service") << " " << range_text(str(u, "range")) << ": "
              << str(u, "status") << "\n";
}

// A DOT double-quoted string. In a label a newline becomes DOT's `\n` line break; elsewhere a space.
std::string dot_quote(std::string_view s, bool label = false) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {
      out += label ? "\\n" : " ";
      continue;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string_view stage_style(std::string_view stage) {
  if (stage == "deprecated") return ", style=filled, fillcolor=\"#fff3bf\"";
  if (stage == "sunset") return ", style=filled, fillcolor=\"#ffd8a8\"";
  if (stage == "retired") return ", style=dashed, color=gray50, fontcolor=gray50";
  if (stage == "proposed" || stage == "development" || stage == "beta") return ", style=dotted";
  return "";
}

void print_dot(const Value& graph) {
  std::cout << "digraph roster {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n"
            << "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (auto& v : array(graph, "versions").GetArray()) {
    const std::string id = node_id(v);
    std::cout << "  " << dot_quote(id) << " [label=" << dot_quote(id + "\n" + std::string(str(v, "stage")), true)
              << stage_style(str(v, "stage")) << "];\n";
  }
  std::set<std::string> missing;  // one node per unresolved (service, range)
  for (auto& d : array(graph, "dependencies").GetArray()) {
    const std::string range = range_text(str(d, "range"));
    if (auto to = str(d, "to"); !to.empty()) {
      std::cout << "  " << dot_quote(str(d, "from")) << " -> " << dot_quote(to) << " [label=" << dot_quote(range)
                << "];\n";
      continue;
    }
    const std::string node = std::string(str(d, "service")) + " (" + range + ")";
    if (missing.insert(node).second)
      std::cout << "  " << dot_quote(node) << " [style=dashed, color=red, fontcolor=red];\n";
    std::cout << "  " << dot_quote(str(d, "from")) << " -> " << dot_quote(node)
              << " [label=" << dot_quote(range + " " + std::string(str(d, "status")))
              << ", style=dashed, color=red, fontcolor=red];\n";
  }
  std::cout << "}\n";
}

// The service a request is about. The server refuses most requests about a service that does not
// exist (404) but answers some as if it had no versions (deps upgrade): an answer that
// `may_be_unknown` is then checked against the service names. Either way, a typo is told with the
// nearest name rather than answered.
struct About {
  std::string_view service;
  bool (*may_be_unknown)(const Value& answer) = nullptr;
};

// Runs a GET and prints the answer with `print` (as is with --json); `verdict` turns the answer
// into the exit code either way.
template <typename Print, typename Verdict>
int get_and_print(const Options& o, const std::string& target, Print print, Verdict verdict, About about = {}) {
  rapidjson::Document doc;
  std::string raw;
  if (int code = call_json(o, "GET", target, doc, {}, &raw); code != kOk) {
    if (code == kNo && !about.service.empty()) explain_unknown_service(o, about.service);
    return code;
  }
  if (about.may_be_unknown && about.may_be_unknown(doc)) {
    auto names = server_service_names(o);
    if (names && explain_unknown_service(about.service, *names)) return kNo;
  }
  if (o.json)
    std::cout << raw << "\n";
  else
    print(doc);
  return verdict(doc);
}

int always_ok(const Value&) { return kOk; }

// kNo when the answer's `key` array has anything in it.
auto no_if_any(std::string_view key) {
  return [key](const Value& answer) { return array(answer, key).Empty() ? kOk : kNo; };
}

std::string service_target(std::string_view name, std::string_view what) {
  return "/v1/services/" + escape_segment(name) + "/" + std::string(what);
}

}  // namespace

void add_deps_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<Options>();
  auto* deps = app.add_subcommand("deps", "The dependency graph: trees, impact, cycles, upgrades");
  deps->require_subcommand(1);

  auto* tree = deps->add_subcommand("tree", "Draw what NAME[@VERSION] depends on (default: its latest version, docs/lifecycle.md)");
  tree->add_option("service", o->spec, "NAME or NAME@VERSION")->required();
  tree->add_option("--depth", o->depth, "Stop after N levels (1 to 1000)")->check(CLI::Range(1, 1000));
  add_server_options(tree, *o);
  tree->callback([o, &exit_code] {
    auto [name, version] = split_name_version(o->spec);
    std::string target = service_target(name, "tree");
    add_query(target, "version", version);
    if (o->depth >= 0) add_query(target, "depth", std::to_string(o->depth));
    exit_code = get_and_print(*o, target, print_tree, always_ok, {name});
  });

  auto* impact = deps->add_subcommand("impact", "Show everything that depends on NAME[@VERSION], directly or not");
  impact->add_option("service", o->spec, "NAME or NAME@VERSION")->required();
  impact->add_flag("--paths", o->paths, "List each dependent with its path instead of drawing a tree");
  add_server_options(impact, *o);
  impact->callback([o, &exit_code] {
    auto [name, version] = split_name_version(o->spec);
    std::string target = service_target(name, "impact");
    add_query(target, "version", version);
    exit_code = get_and_print(
        *o, target, [o](const Value& answer) { print_impact(answer, o->paths); }, always_ok, {name});
  });

  auto* cycles = deps->add_subcommand("cycles", "List dependency cycles; exit 1 when there is one");
  add_server_options(cycles, *o);
  cycles->callback(
      [o, &exit_code] { exit_code = get_and_print(*o, "/v1/graph/cycles", print_cycles, no_if_any("cycles")); });

  auto* upgrade =
      deps->add_subcommand("upgrade", "What moving NAME from version A to B breaks (ranges and consumer contracts); "
                                      "exit 1 when a dependent or a contract breaks");
  upgrade->add_option("name", o->name, "Service name")->required();
  upgrade->add_option("from", o->from, "Current version")->required();
  upgrade->add_option("to", o->to, "New version")->required();
  add_server_options(upgrade, *o);
  upgrade->callback([o, &exit_code] {
    std::string target = service_target(o->name, "upgrade");
    add_query(target, "from", o->from);
    add_query(target, "to", o->to);
    exit_code = get_and_print(
        *o, target, print_upgrade,
        [](const Value& answer) {
          return array(answer, "breaking_dependents").Empty() && array(answer, "breaking_contracts").Empty() ? kOk : kNo;
        },
        {o->name, [](const Value& answer) {
           // No dependent and nothing to compare: perhaps not a service at all.
           const auto* contracts = governance::member(answer, "contracts");
           return array(answer, "breaking_dependents").Empty() && array(answer, "unaffected_dependents").Empty() &&
                  !(contracts && contracts->IsArray());
         }});
  });

  auto* unresolved =
      deps->add_subcommand("unresolved", "List dependencies that resolve to nothing; exit 1 when there is one");
  add_server_options(unresolved, *o);
  unresolved->callback([o, &exit_code] {
    exit_code = get_and_print(*o, "/v1/graph/unresolved", print_unresolved, no_if_any("unresolved"));
  });

  auto* graph = deps->add_subcommand("graph", "The whole graph as Graphviz DOT or JSON");
  graph->add_option("--format", o->format, "dot or json")->check(CLI::IsMember({"dot", "json"}))->capture_default_str();
  add_server_options(graph, *o);
  graph->callback([o, &exit_code] {
    if (o->format == "json") o->json = true;
    exit_code = get_and_print(*o, "/v1/graph", print_dot, always_ok);
  });
}

}  // namespace roster::cli
