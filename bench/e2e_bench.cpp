// The registry end to end, with real roster-server and roster-agent processes on loopback:
//   e2e/write_to_visible/reader_waits:{0,1}
//                            server write ack -> visible to this (reader) process through shm, the
//                            reader spinning on Views (0) or waiting in wait_for_change (1),
//                            over >= 1000 writes; counters p50_us, p99_us (target p50 <= 200 us,
//                            p99 <= 1 ms) and the other percentiles p0 (min) .. p100 (max); also
//                            send -> visible (send_*).
//   e2e/fresh_agent_load     a new agent loading 100k services + 1M instances (target <= 1 s).
//   e2e/fanout/N             one delta to N (100 to 10,000) agent connections (simulated here):
//                            percentiles p0_us .. p100_us from the write's send to each connection's receipt
//                            (the kernel's receive timestamp); spread_*: after the first receipt.
#include <benchmark/benchmark.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "bench_distribution.hpp"
#include "bench_processes.hpp"
#include "bench_scale.hpp"
#include "registry_generator.hpp"
#include "roster/net/http_client.hpp"
#include "roster/net/socket.hpp"
#include "roster/client.hpp"
#include "roster/wire/roster_generated.h"
#include "roster/wire/frame.hpp"

namespace {

using namespace roster::bench;

// A request answered 200, or why not: the transport error or the body.
bool ok(const roster::Result<roster::net::HttpResponse>& r) { return r && r->status == 200; }
std::string why(const roster::Result<roster::net::HttpResponse>& r) { return r ? r->body : r.error().message; }

// A server (and optionally an agent) in a temp dir, stopped and removed on destruction.
struct Cluster {
  fs::path dir = fs::temp_directory_path() / ("roster-bench-" + std::to_string(getpid()) + "-" + std::to_string(rand()));
  std::string arena = "bench-e2e-" + std::to_string(getpid());
  pid_t server = -1, agent = -1;
  std::string http, stream;

  Cluster() {
    fs::create_directories(dir);
    std::vector<std::string> args{(build_dir() / "upstream/roster-server").string(), "--listen", "127.0.0.1:0",
                                  "--stream", "127.0.0.1:0", "--data-dir", (dir / "data").string(),
                                  "--ready-file", (dir / "server.ready").string(),
                                  "--max-body-bytes", std::to_string(64u << 20), "--stream-max-connections", "20000"};
    // More server flags for a comparison, e.g. ROSTER_BENCH_SERVER_ARGS="--stream-threads 0".
    if (const char* extra = std::getenv("ROSTER_BENCH_SERVER_ARGS")) {
      std::istringstream words(extra);
      for (std::string word; words >> word;) args.push_back(word);
    }
    server = spawn(args, dir / "server.log");
    const std::string line = wait_for_line(dir / "server.ready");
    http = field(line, "http");
    stream = field(line, "stream");
  }
  void start_agent(size_t segment_bytes = size_t{64} << 20) {
    agent = spawn({(build_dir() / "agent/roster-agent").string(), "--upstream", stream, "--arena", arena, "--http", "127.0.0.1:0",
                   "--segment-bytes", std::to_string(segment_bytes), "--ready-file", (dir / "agent.ready").string(),
                   "--remove-on-exit"},
                  dir / "agent.log");
    wait_for_line(dir / "agent.ready");
  }
  void stop_agent() {
    stop(agent);
    agent = -1;
  }
  ~Cluster() {
    stop(agent);
    stop(server);
    fs::remove_all(dir);
  }
};

std::string version_doc(const std::string& name, const std::string& version) {
  return R"({"name": ")" + name + R"(", "version": ")" + version + R"(", "lifecycle_stage": "beta", "owner_team": "bench"})";
}

// state.range(0): 0 = the reader spins on Views (as a latency-sensitive proxy would between
// requests), 1 = it sleeps in wait_for_change (a futex) until the arena changes.
void BM_WriteToVisible(benchmark::State& state) {
  const bool waits = state.range(0) != 0;
  Cluster cluster;
  cluster.start_agent();
  auto http = roster::net::HttpClient::open(cluster.http);
  if (!http) return state.SkipWithError(http.error().message.c_str());
  std::optional<roster::Client> client;
  for (int i = 0; i < 200 && !client; ++i) try {
      client = roster::Client::open(cluster.arena).value();
    } catch (const roster::Exception&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  if (!client) return state.SkipWithError("the agent never created its arena");
  std::vector<double> ack_to_visible, send_to_visible;
  int n = 0;
  for (auto _ : state) {
    for (int k = 0; k < (roster::bench::smoke_run() ? 10 : 1000); ++k, ++n) {
      const std::string name = "svc-" + std::to_string(n);
      const auto sent = Clock::now();
      auto r = http->request("PUT", "/v1/services/" + name + "/versions/1.0.0", version_doc(name, "1.0.0"));
      const auto acked = Clock::now();
      if (!ok(r)) return state.SkipWithError(("PUT failed: " + why(r)).c_str());
      Clock::time_point seen;
      for (;;) {
        roster::View view = client->view();
        if (view.service(name)) {
          seen = Clock::now();
          break;
        }
        if (waits) client->wait_for_change(view.generation(), std::chrono::milliseconds(100));
      }
      ack_to_visible.push_back(std::max(0.0, micros(seen - acked)));
      send_to_visible.push_back(micros(seen - sent));
    }
  }
  record_distribution(state, "", ack_to_visible);
  record_distribution(state, "send_", send_to_visible);
  state.counters["writes"] = static_cast<double>(ack_to_visible.size());
}

void BM_FreshAgentLoad(benchmark::State& state) {
  const size_t services = static_cast<size_t>(state.range(0));
  Cluster cluster;
  auto http = roster::net::HttpClient::open(cluster.http);
  if (!http) return state.SkipWithError(http.error().message.c_str());
  // Register in documents of 2,000 services (~5 MB each).
  for (size_t start = 0; start < services; start += 2000) {
    roster::bench::GeneratorOptions o;
    o.services = std::min<size_t>(2000, services - start);
    o.seed = start + 1;
    o.first_service = start;
    const std::string doc = roster::bench::generate_registry_json(o);
    auto r = http->request("POST", "/v1/registry", doc, {}, std::chrono::seconds(120));
    if (!ok(r)) return state.SkipWithError(("register failed: " + why(r).substr(0, 300)).c_str());
  }
  const auto revision_answer = http->get("/v1/revision");
  if (!ok(revision_answer)) return state.SkipWithError(("GET /v1/revision failed: " + why(revision_answer)).c_str());
  const std::string& revision_line = revision_answer->body;
  const uint64_t revision = std::stoull(revision_line.substr(revision_line.find(':') + 1));
  for (auto _ : state) {
    const auto start = Clock::now();
    cluster.start_agent(size_t{1} << 30);
    uint64_t seen = 0;
    while (seen < revision) {
      try {
        seen = roster::Client::open(cluster.arena).value().view().revision();
      } catch (const roster::Exception&) {
      }
      if (Clock::now() - start > std::chrono::seconds(60)) return state.SkipWithError("agent never caught up");
      if (seen < revision) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    state.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    state.PauseTiming();
    cluster.stop_agent();
    state.ResumeTiming();
  }
  state.counters["services"] = static_cast<double>(services);
  state.counters["instances"] = static_cast<double>(services * 10);
}

void BM_Fanout(benchmark::State& state) {
  const int agents = static_cast<int>(state.range(0));
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::max<rlim_t>(limit.rlim_cur, std::min<rlim_t>(limit.rlim_max, agents + 1024));
  setrlimit(RLIMIT_NOFILE, &limit);
  Cluster cluster;
  auto http = roster::net::HttpClient::open(cluster.http);
  if (!http) return state.SkipWithError(http.error().message.c_str());
  if (auto warm = http->request("PUT", "/v1/services/warm/versions/1.0.0", version_doc("warm", "1.0.0")); !ok(warm))
    return state.SkipWithError(("PUT failed: " + why(warm)).c_str());
  const auto address = roster::net::parse_address(cluster.stream);
  if (!address) return state.SkipWithError(address.error().message.c_str());
  std::vector<int> fds;
  for (int i = 0; i < agents; ++i) {
    auto connected = roster::net::connect_blocking(*address);
    if (!connected) return state.SkipWithError(connected.error().message.c_str());
    int fd = *connected;
    flatbuffers::FlatBufferBuilder fbb;
    fbb.Finish(roster::wire::CreateHello(fbb, fbb.CreateString("sim-" + std::to_string(i)), 1, 0));
    std::vector<uint8_t> hello;
    roster::wire::append_frame(hello, roster::wire::FrameType::Hello, {fbb.GetBufferPointer(), fbb.GetSize()});
    if (write(fd, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size())) return state.SkipWithError("hello");
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // every Hello handled
  std::vector<double> latencies, spread;
  int n = 0;
  std::vector<uint8_t> buf(1 << 16);
  // When each delta arrived is the kernel's receive timestamp (SO_TIMESTAMPNS), not when this
  // process got round to reading it: at 10,000 connections the reading, not the server, would
  // otherwise set the tail. epoll finds the ready ones without scanning them all.
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  for (size_t i = 0; i < fds.size(); ++i) {
    int on = 1;
    setsockopt(fds[i], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  std::vector<epoll_event> events(1024);
  // Reads what each ready connection received; `got(i, arrival)` (CLOCK_REALTIME).
  auto drain = [&](int timeout_ms, const std::function<void(size_t, timespec)>& got) {
    const int ready = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int k = 0; k < ready; ++k) {
      iovec iov{buf.data(), buf.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      timespec arrival{};
      if (recvmsg(fds[events[k].data.u64], &msg, 0) > 0)
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) std::memcpy(&arrival, CMSG_DATA(c), sizeof arrival);
      got(events[k].data.u64, arrival);
    }
    return ready;
  };
  auto realtime_us = [](timespec t) { return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3; };
  for (auto _ : state) {
    const std::string name = "fan-" + std::to_string(n++);
    while (drain(0, [](size_t, timespec) {}) > 0) {  // keepalives first
    }
    // From the write's send: with group commit the deltas leave with the write's answer (both
    // wait for the same fsync), so some arrive before the writer reads its ack.
    timespec sent_at{};
    clock_gettime(CLOCK_REALTIME, &sent_at);
    const double sent = realtime_us(sent_at);
    auto r = http->request("PUT", "/v1/services/" + name + "/versions/1.0.0", version_doc(name, "1.0.0"));
    if (!ok(r)) return state.SkipWithError(("PUT failed: " + why(r)).c_str());
    size_t remaining = fds.size();
    std::vector<bool> done(fds.size(), false);
    std::vector<double> arrivals;
    while (remaining > 0) {
      const auto now_before = Clock::now();
      const int ready = drain(5000, [&](size_t i, timespec arrival) {
        if (done[i]) return;  // a keepalive after its delta
        done[i] = true;
        --remaining;
        latencies.push_back(realtime_us(arrival) - sent);
        arrivals.push_back(realtime_us(arrival));
      });
      if (ready <= 0 && Clock::now() - now_before >= std::chrono::seconds(5))
        return state.SkipWithError("a delta never arrived");
    }
    // The fan-out alone: how long after the first connection each got it.
    const double first = *std::min_element(arrivals.begin(), arrivals.end());
    for (double a : arrivals) spread.push_back(a - first);
  }
  close(ep);
  for (int fd : fds) close(fd);
  record_distribution(state, "", latencies);
  record_distribution(state, "spread_", spread);
  state.counters["agents"] = agents;
}

}  // namespace

BENCHMARK(BM_WriteToVisible)->Name("e2e/write_to_visible")->ArgName("reader_waits")->Arg(0)->Arg(1)->Iterations(roster::bench::repeats(2))->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_FreshAgentLoad)->Name("e2e/fresh_agent_load")->Arg(roster::bench::scaled(100000))->Iterations(roster::bench::repeats(3))->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Fanout)->Name("e2e/fanout")->Arg(roster::bench::scaled(100, 5))->Arg(roster::bench::scaled(1000, 10))->Arg(roster::bench::scaled(3000, 15))->Arg(roster::bench::scaled(10000, 20))->Iterations(roster::bench::repeats(20))->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
