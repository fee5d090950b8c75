// The write path, through a real roster-server on loopback, against the peers that bound it, in
// the same run (one fsync per write is what "durable before acknowledged" costs on this disk):
//   write/roster_instance_puts/<clients>/<group>
//        instance registrations (PUT .../instances/{id}, a new id each) from <clients> threads,
//        each with one keep-alive connection, for a few seconds; group 1: the default group
//        commit, group 0: --no-group-commit (one fsync per write on the event loop, as before).
//        Counters: writes_per_s, p50_ms, p99_ms (per request, send to response).
//   write/etcd_puts/<clients>
//        etcd's own put (a one-member etcd on the same disk, POST /v3/kv/put through its JSON
//        gateway, keep-alive), the same way.
//   write/sqlite_fsync_each     one INSERT per transaction, WAL + synchronous=FULL, one thread
//   write/sqlite_batched/32     the same with a transaction per 32 INSERTs (counted per row)
//   write/roster_version_puts/<registered>
//        version PUTs (a new version of one service each) after <registered> versions of it
//        were imported: what a write costs as versions accumulate. 1 client.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

#include "bench_distribution.hpp"
#include "bench_processes.hpp"
#include "bench_scale.hpp"
#include "roster/net/http_client.hpp"

namespace {

using namespace roster::bench;
using roster::net::HttpClient;

double seconds_per_run() { return smoke_run() ? 0.2 : 3.0; }

struct Server {
  TempDir dir{"write"};
  pid_t pid = -1;
  std::string http;
  explicit Server(bool group_commit) {
    pid = spawn({(build_dir() / "upstream/roster-server").string(), "--listen", "127.0.0.1:0", "--stream", "127.0.0.1:0",
                 "--data-dir", (dir.path / "data").string(), "--ready-file", (dir.path / "ready").string(),
                 "--max-body-bytes", std::to_string(256u << 20), group_commit ? "--group-commit" : "--no-group-commit"},
                dir.path / "server.log");
    http = field(wait_for_line(dir.path / "ready"), "http");
  }
  ~Server() { stop(pid); }
};

// A free loopback port (closed again: etcd binds it a moment later).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Etcd {
  TempDir dir{"etcd"};
  pid_t pid = -1;
  std::string client;
  Etcd() {
    const std::string c = "http://127.0.0.1:" + std::to_string(free_port());
    const std::string p = "http://127.0.0.1:" + std::to_string(free_port());
    client = c.substr(7);
    pid = spawn({"/usr/bin/etcd", "--name", "bench", "--data-dir", (dir.path / "data").string(), "--listen-client-urls", c,
                 "--advertise-client-urls", c, "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
                 "--initial-cluster", "bench=" + p, "--log-level", "error"},
                dir.path / "etcd.log");
  }
  bool ready() {
    auto http = HttpClient::open(client);
    for (int i = 0; i < 200 && http; ++i) {
      auto r = http->request("POST", "/v3/kv/range", R"({"key":"AA=="})");
      if (r && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  ~Etcd() { stop(pid); }
};

// Runs `clients` threads, each with its own keep-alive connection to `address`, sending the
// request `make(client, n)` builds until the time is up; sets the counters.
template <typename Make>
void load(benchmark::State& state, const std::string& address, int clients, Make make) {
  std::atomic<bool> stopping{false};
  std::atomic<int> failed{0};
  std::mutex mu;
  std::string failure;
  std::vector<double> latencies_ms;
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto http = HttpClient::open(address);
      std::vector<double> mine;
      for (uint64_t n = 0; http && !stopping.load(std::memory_order_relaxed); ++n) {
        const auto [method, target, body] = make(c, n);
        const auto sent = Clock::now();
        auto r = http->request(method, target, body, {}, std::chrono::seconds(30));
        mine.push_back(micros(Clock::now() - sent) / 1000);
        if (!r || r->status != 200) {
          std::lock_guard lock(mu);
          failure = r ? std::to_string(r->status) + " " + r->body.substr(0, 300) : r.error().message;
          failed.fetch_add(1);
          break;
        }
      }
      std::lock_guard lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds_per_run()));
  stopping = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (failed) return state.SkipWithError(("a write failed: " + failure).c_str());
  state.counters["writes_per_s"] = static_cast<double>(latencies_ms.size()) / elapsed;
  state.counters["p50_ms"] = percentile(latencies_ms, 0.50);
  state.counters["p99_ms"] = percentile(latencies_ms, 0.99);
  state.counters["clients"] = clients;
}

struct Request {
  std::string method, target, body;
};

void BM_RosterInstancePuts(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  Server server(state.range(1) != 0);
  auto http = HttpClient::open(server.http);
  auto v = http->request("PUT", "/v1/services/bench/versions/1.0.0", R"({"name":"bench","version":"1.0.0",)"
                                                                     R"("lifecycle_stage":"beta","owner_team":"bench"})");
  if (!v || v->status != 200) return state.SkipWithError("registering the version failed");
  for (auto _ : state)
    load(state, server.http, clients, [](int c, uint64_t n) {
      const std::string id = "c" + std::to_string(c) + "-" + std::to_string(n);
      return Request{"PUT", "/v1/services/bench/versions/1.0.0/instances/" + id,
                     R"({"id":")" + id + R"(","address":"10.0.0.1","port":8080})"};
    });
}

void BM_EtcdPuts(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  if (access("/usr/bin/etcd", X_OK) != 0) return state.SkipWithError("no /usr/bin/etcd");
  Etcd etcd;
  if (!etcd.ready()) return state.SkipWithError("etcd did not start");
  for (auto _ : state)
    load(state, etcd.client, clients, [](int c, uint64_t n) {
      // Keys and values of about an instance record's size, base64 as the gateway wants them.
      const std::string key = "instance/" + std::to_string(c) + "/" + std::to_string(n);
      static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      std::string k64;
      for (size_t i = 0; i + 2 < key.size() + 2; i += 3) {
        const uint32_t b = (static_cast<uint8_t>(key[i]) << 16) |
                           (i + 1 < key.size() ? static_cast<uint8_t>(key[i + 1]) << 8 : 0) |
                           (i + 2 < key.size() ? static_cast<uint8_t>(key[i + 2]) : 0);
        k64 += kB64[(b >> 18) & 63];
        k64 += kB64[(b >> 12) & 63];
        k64 += i + 1 < key.size() ? kB64[(b >> 6) & 63] : '=';
        k64 += i + 2 < key.size() ? kB64[b & 63] : '=';
      }
      return Request{"POST", "/v3/kv/put", R"({"key":")" + k64 + R"(","value":")" + std::string(200, 'A') + R"("})"};
    });
}

// SQLite on the same disk, as roster's store opens it: WAL, synchronous=FULL.
void sqlite_inserts(benchmark::State& state, int per_transaction) {
  TempDir dir("sqlite");
  sqlite3* db = nullptr;
  sqlite3_open((dir.path / "peer.db").c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t(k BLOB PRIMARY KEY, v BLOB)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?, ?)", -1, &insert, nullptr);
  const std::string value(200, 'v');
  uint64_t rows = 0;
  const auto start = Clock::now();
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (int i = 0; i < per_transaction; ++i, ++rows) {
      const std::string key = "instance/" + std::to_string(rows);
      sqlite3_bind_blob(insert, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(insert, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) return state.SkipWithError(sqlite3_errmsg(db));
      sqlite3_reset(insert);
    }
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return state.SkipWithError(sqlite3_errmsg(db));
  }
  state.counters["writes_per_s"] = static_cast<double>(rows) / std::chrono::duration<double>(Clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_close(db);
}

void BM_SqliteFsyncEach(benchmark::State& state) { sqlite_inserts(state, 1); }
void BM_SqliteBatched(benchmark::State& state) { sqlite_inserts(state, static_cast<int>(state.range(0))); }

void BM_RosterVersionPuts(benchmark::State& state) {
  const size_t registered = static_cast<size_t>(state.range(0));
  Server server(true);
  auto http = HttpClient::open(server.http);
  // The existing versions arrive as imports of 5,000 (one request each).
  for (size_t start = 0; start < registered; start += 5000) {
    std::string doc = R"({"services":[{"name":"bench","versions":[)";
    for (size_t i = start; i < std::min(registered, start + 5000); ++i)
      doc += std::string(i > start ? "," : "") + R"({"version":"0.)" + std::to_string(i) +
             R"(.0","lifecycle_stage":"stable","owner_team":"bench"})";
    doc += "]}]}";
    auto r = http->request("POST", "/v1/registry", doc, {}, std::chrono::seconds(300));
    if (!r || r->status != 200)
      return state.SkipWithError(("import failed: " + (r ? r->body.substr(0, 300) : r.error().message)).c_str());
  }
  for (auto _ : state)
    load(state, server.http, 1, [](int, uint64_t n) {
      const std::string version = "1." + std::to_string(n) + ".0";
      return Request{"PUT", "/v1/services/bench/versions/" + version,
                     R"({"name":"bench","version":")" + version + R"(","lifecycle_stage":"beta","owner_team":"bench"})"};
    });
  state.counters["registered"] = static_cast<double>(registered);
}

}  // namespace

BENCHMARK(BM_RosterInstancePuts)
    ->Name("write/roster_instance_puts")
    ->ArgsProduct({{1, 8, 32}, {1, 0}})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EtcdPuts)->Name("write/etcd_puts")->Arg(1)->Arg(8)->Arg(32)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SqliteFsyncEach)->Name("write/sqlite_fsync_each")->MinTime(min_seconds(2))->UseRealTime();
BENCHMARK(BM_SqliteBatched)->Name("write/sqlite_batched")->Arg(32)->MinTime(min_seconds(2))->UseRealTime();
BENCHMARK(BM_RosterVersionPuts)
    ->Name("write/roster_version_puts")
    ->Arg(0)
    ->Arg(static_cast<int64_t>(scaled(10'000, 100)))
    ->Arg(static_cast<int64_t>(scaled(100'000, 200)))
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
