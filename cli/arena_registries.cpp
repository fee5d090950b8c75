#include "arena_registries.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "service_names.hpp"

namespace roster::cli {

bool known_registry(const View& view, std::string_view arena, std::string_view registry) {
  if (registry.empty()) return true;
  auto found = view.find_registry(registry);
  if (!found) std::cerr << "rosterctl: arena " << arena << ": " << found.error().message << "\n";
  return found.has_value();
}

std::vector<std::string> arena_service_names(const View& view, std::string_view registry) {
  std::vector<std::string> names = arena_service_names(view);
  if (!registry.empty())
    std::erase_if(names, [&](const std::string& name) {
      const auto where = view.where(name);
      return std::find(where.begin(), where.end(), registry) == where.end();
    });
  return names;
}

bool explain_unknown_service(const View& view, std::string_view arena, std::string_view registry,
                             std::string_view name) {
  const auto where = view.where(name);
  if (registry.empty() || where.empty()) return explain_unknown_service(name, arena_service_names(view, registry));
  if (std::find(where.begin(), where.end(), registry) != where.end()) return false;
  std::cerr << "rosterctl: registry " << registry << " of arena " << arena << " has no service \"" << name
            << "\"; it is in ";
  for (size_t i = 0; i < where.size(); ++i) std::cerr << (i ? ", " : "") << where[i];
  std::cerr << "\n";
  return true;
}

std::string staleness_text(std::chrono::milliseconds staleness) {
  return staleness == std::chrono::milliseconds::max() ? "never heard from upstream"
                                                       : std::to_string(staleness.count()) + " ms";
}

void write_registries(wire::JsonWriter& w, const View& view) {
  w.begin_array();
  for (const RegistryState& r : view.registries()) {
    w.begin_object().key("name").string(r.name);
    w.key("revision").unsigned_number(r.revision).key("store").string(r.store);
    if (r.staleness == std::chrono::milliseconds::max())
      w.key("staleness_ms").null();
    else
      w.key("staleness_ms").number(r.staleness.count());
    w.end_object();
  }
  w.end_array();
}

void print_registries(const View& view) {
  const auto registries = view.registries();
  size_t width = 8;  // "registry"
  for (auto& r : registries) width = std::max(width, r.name.size());
  std::cout << std::left << std::setw(static_cast<int>(width)) << "registry" << "  " << std::setw(10) << "revision"
            << "  " << std::setw(26) << "staleness" << "  store\n";
  for (auto& r : registries)
    std::cout << std::setw(static_cast<int>(width)) << r.name << "  " << std::setw(10) << r.revision << "  "
              << std::setw(26) << staleness_text(r.staleness) << "  " << r.store << "\n";
}

namespace {

struct WhereOptions {
  std::string name, shm = "roster";
  bool json = false;
};

}  // namespace

void add_where_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<WhereOptions>();
  auto* where = app.add_subcommand(
      "where", "The registries of the local agent's federated arena that have a service, the one serving it first");
  where->add_option("name", o->name, "Service name")->required();
  where->add_option("--shm", o->shm, "Arena name")->capture_default_str();
  where->add_flag("--json", o->json, "Machine-readable output");
  where->callback([o, &exit_code] {
    auto client = Client::open(o->shm);
    if (!client) {
      std::cerr << "rosterctl: " << client.error().message << "\n";
      return void(exit_code = kNo);
    }
    View view = client->view();
    const auto registries = view.where(o->name);
    if (registries.empty()) {
      if (!explain_unknown_service(o->name, arena_service_names(view)))
        std::cerr << "rosterctl: no registry of arena " << o->shm << " has a version of " << o->name << "\n";
      return void(exit_code = kNo);
    }
    // Each registry's latest version (docs/lifecycle.md), or none (only pre-releases, say).
    auto latest = [&](std::string_view registry) {
      auto svc = registry.empty() ? view.service(o->name) : view.in(registry).service(o->name);
      return svc ? std::optional<std::string>(svc->version()) : std::nullopt;
    };
    if (o->json) {
      std::string out;
      wire::JsonWriter w(out);
      w.begin_object().key("service").string(o->name).key("registries").begin_array();
      for (size_t i = 0; i < registries.size(); ++i) {
        w.begin_object().key("name").string(registries[i]).key("serves").boolean(i == 0).key("latest");
        if (auto v = latest(registries[i]))
          w.string(*v);
        else
          w.null();
        w.end_object();
      }
      w.end_array().end_object();
      return void(std::cout << out << "\n");
    }
    size_t width = 1;
    for (auto r : registries) width = std::max(width, r.size());
    for (size_t i = 0; i < registries.size(); ++i)
      std::cout << std::left << std::setw(static_cast<int>(width)) << (registries[i].empty() ? "-" : registries[i])
                << "  " << latest(registries[i]).value_or("-") << (i == 0 ? "  serves it" : "") << "\n";
  });
}

}  // namespace roster::cli
