// The example reader `make demo` runs: what a process on the host sees through the shm client.
//   reader ARENA [--watch SERVICE]   (--watch: wait for the next change and show it)
#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <vector>

#include "roster/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;

void show(const roster::View& view, std::string_view name) {
  auto svc = view.service(name);
  if (!svc) {
    std::cout << "  " << name << ": no version counts as latest\n";
    return;
  }
  std::cout << "  " << svc->name() << "@" << svc->version() << " (stage " << roster::wire::EnumNameLifecycleStage(svc->stage())
            << ", owned by " << svc->owner_team() << ")\n";
  for (auto inst : view.instances(name, roster::Healthy))
    std::cout << "    healthy: " << inst.address() << ":" << inst.port() << "  v" << inst.record().version()->string_view()
              << "  weight " << inst.weight() << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: reader ARENA [--watch SERVICE]\n";
    return 2;
  }
  auto opened = roster::Client::open(argv[1]);
  if (!opened) {
    std::cerr << "reader: " << opened.error().message << "\n";
    return 1;
  }
  roster::Client& client = *opened;
  {
    if (argc > 3 && std::strcmp(argv[2], "--watch") == 0) {
      const uint64_t start = client.view().generation();
      const auto t0 = Clock::now();
      while (!client.wait_for_change(start, std::chrono::milliseconds(200)))
        if (Clock::now() - t0 > std::chrono::seconds(10)) return std::cerr << "reader: no change within 10 s\n", 1;
      roster::View view = client.view();
      std::cout << "reader: change arrived (generation " << start << " -> " << view.generation() << ", revision "
                << view.revision() << "):\n";
      show(view, argv[3]);
      return 0;
    }

    roster::View view = client.view();
    std::cout << "reader: arena \"" << argv[1] << "\" at generation " << view.generation() << ", revision "
              << view.revision() << ", staleness " << view.staleness().count() << " ms\n";
    for (auto name : {"user-service", "payment-service", "api-gateway"}) show(view, name);
    std::cout << "  user-service versions:";
    for (auto& v : view.versions("user-service")) std::cout << " " << v.version();
    std::cout << "\n  who depends on user-service:";
    for (auto& v : view.dependents("user-service")) std::cout << " " << v.name() << "@" << v.version();
    std::cout << "\n  what api-gateway needs (transitively):";
    std::vector<std::string> needed;
    for (auto& d : view.dependencies("api-gateway", roster::Transitive))
      needed.push_back(std::string(d.service) + (d.resolved ? "@" + std::string(d.resolved->version()) : " (unresolved)"));
    std::sort(needed.begin(), needed.end());
    needed.erase(std::unique(needed.begin(), needed.end()), needed.end());
    for (auto& n : needed) std::cout << " " << n;
    std::cout << "\n";

    // Lookup latency: a View per request, then a lookup by name, as a proxy would do it.
    const char* names[] = {"user-service", "auth-service", "order-service", "payment-service", "inventory-service"};
    constexpr int kRounds = 1'000'000;
    size_t sink = 0;
    const auto t0 = Clock::now();
    for (int i = 0; i < kRounds; ++i) {
      roster::View v = client.view();
      if (auto s = v.service(names[i % 5])) sink += s->owner_team().size();
    }
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / kRounds;
    std::cout << "  lookup latency: " << ns << " ns per view + lookup (" << kRounds << " rounds, checksum " << sink % 97 << ")\n";
  }
  return 0;
}
