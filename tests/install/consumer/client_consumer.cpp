// An SDK user's C++ program, built against an installed roster only (find_package(roster),
// roster::client): looks services up in a live arena.   client_consumer ARENA
#include <cstdio>
#include <string_view>

#include "roster/client.hpp"
#include "roster/wire/names.hpp"

namespace {

int failed = 0;

void expect(bool ok, const char* what) {
  if (!ok) {
    ++failed;
    std::fprintf(stderr, "client_consumer: expected %s\n", what);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: client_consumer ARENA\n");
    return 2;
  }
  auto opened = roster::Client::open(argv[1]);
  if (!opened) {
    std::fprintf(stderr, "client_consumer: %s\n", opened.error().message.c_str());
    return 1;
  }
  roster::View view = opened->view();
  auto svc = view.service("user-service");
  expect(svc.has_value(), "user-service");
  if (svc) {
    expect(svc->version() == "2.1.0", "user-service's latest stable version 2.1.0");
    expect(svc->owner_team() == "identity-team", "owner identity-team");
    expect(roster::wire::to_string(svc->stage()) == "stable", "stage stable (roster/wire/names.hpp)");
  }
  expect(!view.service("no-such-service"), "no no-such-service");
  int healthy = 0;
  for (auto inst : view.instances("user-service", roster::Healthy)) {
    expect(inst.health() == roster::wire::Health::Up && inst.port() > 0 && !inst.address().empty(),
           "healthy instances up, with an address and a port");
    ++healthy;
  }
  expect(healthy > 0, "a healthy user-service instance");
  std::printf("client_consumer: %s, user-service@%.*s, %d healthy instances, generation %llu\n",
              failed ? "FAILED" : "ok", svc ? static_cast<int>(svc->version().size()) : 0,
              svc ? svc->version().data() : "", healthy, static_cast<unsigned long long>(view.generation()));
  return failed ? 1 : 0;
}
