// chaos_reader: a reader process for tests/chaos/chaos.py that exercises the C++ client
// (roster/client.hpp) while the chaos loop kills and restarts roster-server and roster-agent.
//
//   chaos_reader ARENA ACK_LOG STATS_FILE SEED [FLOOR_REVISION FLOOR_GENERATION]
//   chaos_reader --verify ARENA ACK_LOG MIN_REVISION
//
// It keeps opening Views (sometimes two at once, sometimes through a freshly opened Client,
// mostly through one long-lived Client that re-attaches by itself when a new agent replaces the
// arena) and checks, for every View:
//   - the generation and the revision never go below what this process saw before (nor below
//     the floors the chaos loop passes: what earlier readers and the loop itself saw);
//   - the store identity never changes once the arena has one (the test keeps one data dir);
//   - every write acknowledged at a revision <= the View's revision (ACK_LOG, appended by the
//     chaos loop) is visible: a version with the revision it was acknowledged at, an instance
//     by its id;
//   - no View is corrupt() (unless it was revoked meanwhile).
// A View the arena revoked (evicted(), held past the pin limit) proves nothing either way: its
// misses are not counted. Any violation, or an error opening the arena once it existed, ends
// the process with exit status 3 and a line starting "CHAOS-READER-FAIL" on stderr.
// STATS_FILE is rewritten (atomically) a few times a second: views, max revision/generation.
//
// --verify: a fresh reader once the agent caught up: its Views (a few hundred lookups each, as
// the pin limit is short) must be at MIN_REVISION or later, all at one revision, and show every
// write in ACK_LOG acknowledged at or below it. Exit 0, or 3 with CHAOS-READER-FAIL lines for
// what is missing.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "roster/client.hpp"

namespace {

struct Ack {
  char kind;  // 'V' version, 'I' instance
  uint64_t revision;
  std::string service, version, id;
};

struct Reader {
  std::string arena, ack_log, stats_file;
  std::mt19937_64 rng;
  std::vector<Ack> acks;
  std::streamoff ack_offset = 0;
  std::string partial;
  std::optional<roster::Client> client;
  bool ever_opened = false;
  uint64_t last_revision = 0, last_generation = 0;
  std::string store;
  uint64_t views = 0, evicted = 0, checks = 0, reopens = 0, nested = 0;
  std::chrono::steady_clock::time_point last_stats{};

  [[noreturn]] void fail(const std::string& what) {
    std::cerr << "CHAOS-READER-FAIL cpp pid=" << getpid() << ": " << what << " (views so far " << views
              << ", last revision " << last_revision << ", last generation " << last_generation << ", store \""
              << store << "\")" << std::endl;
    write_stats();
    std::_Exit(3);
  }

  // New complete lines of the ack log.
  void load_acks() {
    std::ifstream in(ack_log, std::ios::binary);
    if (!in) return;
    in.seekg(ack_offset);
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ack_offset += static_cast<std::streamoff>(chunk.size());
    partial += chunk;
    size_t start = 0;
    for (size_t nl; (nl = partial.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::istringstream line(partial.substr(start, nl - start));
      Ack a;
      line >> a.kind >> a.revision >> a.service >> a.version;
      if (a.kind == 'I') line >> a.id;
      if (!line) fail("unreadable ack log line: " + partial.substr(start, nl - start));
      acks.push_back(std::move(a));
    }
    partial.erase(0, start);
  }

  void write_stats() {
    if (stats_file.empty()) return;
    const std::string tmp = stats_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << "views " << views << "\nmax_revision " << last_revision << "\nmax_generation " << last_generation
          << "\nevicted " << evicted << "\nchecks " << checks << "\nreopens " << reopens << "\nnested " << nested
          << "\n";
    }
    std::rename(tmp.c_str(), stats_file.c_str());
  }

  bool open() {
    auto opened = roster::Client::open(arena);
    if (!opened) {
      if (!ever_opened && opened.error().code == "no_arena") return false;  // no agent has made it yet
      fail("opening the arena failed" + std::string(ever_opened ? " after it had existed" : "") + ": " +
           opened.error().code + ": " + opened.error().message);
    }
    client.emplace(std::move(*opened));
    ever_opened = true;
    ++reopens;
    return true;
  }

  // One acknowledged write, as this View must show it. nullopt: fine; else what is wrong.
  std::optional<std::string> check(const roster::View& view, const Ack& a) {
    ++checks;
    if (a.kind == 'V') {
      auto v = view.service(a.service, a.version);
      if (!v) return "version " + a.service + "@" + a.version + " acknowledged at revision " + std::to_string(a.revision) +
                     " is missing";
      const uint64_t carried = v->record().revision();
      if (carried != a.revision)
        return "version " + a.service + "@" + a.version + " acknowledged at revision " + std::to_string(a.revision) +
               " carries revision " + std::to_string(v->record().revision());
      return std::nullopt;
    }
    for (auto inst : view.instances(a.service, a.version))
      if (inst.id() == a.id) return std::nullopt;
    return "instance " + a.service + "@" + a.version + "/" + a.id + " acknowledged at revision " +
           std::to_string(a.revision) + " is missing";
  }

  void observe(const roster::View& view, const char* what) {
    const uint64_t g = view.generation(), r = view.revision();
    if (g < last_generation)
      fail(std::string(what) + ": generation went back from " + std::to_string(last_generation) + " to " + std::to_string(g));
    if (r < last_revision)
      fail(std::string(what) + ": revision went back from " + std::to_string(last_revision) + " to " + std::to_string(r) +
           " (generation " + std::to_string(g) + ")");
    const std::string s(view.store());
    if (!s.empty()) {
      if (!store.empty() && s != store) fail(std::string(what) + ": store changed from \"" + store + "\" to \"" + s + "\"");
      store = s;
    }
    last_generation = g;
    last_revision = r;
  }

  void one_view() {
    if (!client || std::uniform_int_distribution<int>(0, 299)(rng) == 0) {
      client.reset();
      if (!open()) return;
    }
    roster::View view = client->view();
    ++views;
    observe(view, "view");
    const uint64_t r = view.revision();
    load_acks();
    // The newest acknowledged writes this revision covers, and a few at random.
    std::vector<std::string> problems;
    int recent = 0;
    for (size_t i = acks.size(); i-- > 0 && recent < 6;)
      if (acks[i].revision <= r) {
        ++recent;
        if (auto p = check(view, acks[i])) problems.push_back(*p);
      }
    if (!acks.empty())
      for (int k = 0; k < 6; ++k) {
        const Ack& a = acks[std::uniform_int_distribution<size_t>(0, acks.size() - 1)(rng)];
        if (a.revision <= r)
          if (auto p = check(view, a)) problems.push_back(*p);
      }
    // Lookups that must simply not misbehave.
    (void)view.service("no-such-service");
    (void)view.by_team("chaos-team").to_vector();
    // Sometimes a second View on this thread while the first is open; sometimes the first is
    // held for a while (an agent may die and a new one replace the arena meanwhile: the held
    // View keeps its mapping), with newer Views opened and closed inside it.
    const int mode = std::uniform_int_distribution<int>(0, 19)(rng);
    const int inner = mode == 0 ? std::uniform_int_distribution<int>(5, 40)(rng) : mode < 3 ? 1 : 0;
    for (int k = 0; k < inner; ++k) {
      if (mode == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      roster::View second = client->view();
      ++nested;
      if (second.generation() < view.generation() || second.revision() < view.revision())
        fail("a nested View went back: generation " + std::to_string(view.generation()) + " -> " +
             std::to_string(second.generation()) + ", revision " + std::to_string(view.revision()) + " -> " +
             std::to_string(second.revision()));
      observe(second, "nested view");
      if (!acks.empty()) {
        const Ack& a = acks[std::uniform_int_distribution<size_t>(0, acks.size() - 1)(rng)];
        if (a.revision <= second.revision())
          if (auto p = check(second, a); p && !second.evicted()) fail("nested View: " + *p);
      }
      if (second.corrupt() && !second.evicted()) fail("a nested View is corrupt");
    }
    // The held View still answers as before.
    if (mode == 0 && !acks.empty()) {
      const Ack& a = acks[std::uniform_int_distribution<size_t>(0, acks.size() - 1)(rng)];
      if (a.revision <= r)
        if (auto p = check(view, a)) problems.push_back("after holding the View: " + *p);
    }
    if (view.evicted()) {
      ++evicted;  // revoked while we looked: its misses (and what it met) prove nothing
      return;
    }
    if (view.corrupt()) fail("a View at generation " + std::to_string(view.generation()) + " is corrupt");
    if (!problems.empty())
      fail("View at revision " + std::to_string(r) + " generation " + std::to_string(view.generation()) + ": " +
           problems.front() + (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : ""));
  }

  int verify(uint64_t min_revision) {
    if (!open()) fail("no arena to verify");
    load_acks();
    // Views are short (the agent revokes those held past its pin limit): a chunk of the acks per
    // View, again in a new View if it was revoked. Nothing is written meanwhile: every View is
    // at the same revision.
    size_t missing = 0, checked = 0;
    uint64_t r = 0, g = 0;
    std::string s;
    constexpr size_t kChunk = 200;
    for (size_t from = 0; from < acks.size() || from == 0; from += kChunk) {
      for (int attempt = 0;; ++attempt) {
        roster::View view = client->view();
        if (from == 0) {
          r = view.revision();
          g = view.generation();
          s = std::string(view.store());
          if (r < min_revision)
            fail("fresh View at revision " + std::to_string(r) + ", below " + std::to_string(min_revision));
        } else if (view.revision() != r) {
          fail("the arena moved from revision " + std::to_string(r) + " to " + std::to_string(view.revision()) +
               " while nothing was written");
        }
        std::vector<std::string> problems;
        size_t chunk_checked = 0;
        for (size_t i = from; i < std::min(acks.size(), from + kChunk); ++i)
          if (acks[i].revision <= r) {
            ++chunk_checked;
            if (auto p = check(view, acks[i])) problems.push_back(*p);
          }
        if (view.corrupt() && !view.evicted()) fail("a fresh View is corrupt");
        if (view.evicted()) {
          if (attempt == 20) fail("fresh Views keep being revoked");
          continue;
        }
        checked += chunk_checked;
        for (auto& p : problems)
          if (++missing <= 20) std::cerr << "CHAOS-READER-FAIL cpp verify at revision " << r << ": " << p << "\n";
        break;
      }
      if (acks.empty()) break;
    }
    if (missing) {
      std::cerr << "CHAOS-READER-FAIL cpp verify: " << missing << " of " << checked << " acknowledged writes wrong" << std::endl;
      return 3;
    }
    std::cout << "verified " << checked << " acknowledged writes at revision " << r << " generation " << g << " store "
              << s << std::endl;
    return 0;
  }

  void run() {
    for (;;) {
      one_view();
      if (!client) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      } else if (std::uniform_int_distribution<int>(0, 3)(rng) == 0) {
        // Wait for a change sometimes (the futex path), sleep otherwise: readers must not starve
        // the server and the agent of the two CPUs.
        client->wait_for_change(last_generation, std::chrono::milliseconds(3));
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(200, 2000)(rng)));
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - last_stats > std::chrono::milliseconds(200)) {
        write_stats();
        last_stats = now;
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--verify") {
    Reader reader;
    reader.arena = argv[2];
    reader.ack_log = argv[3];
    try {
      return reader.verify(std::strtoull(argv[4], nullptr, 10));
    } catch (const std::exception& e) {
      reader.fail(std::string("exception: ") + e.what());
    }
  }
  if (argc != 5 && argc != 7) {
    std::cerr << "usage: chaos_reader ARENA ACK_LOG STATS_FILE SEED [FLOOR_REVISION FLOOR_GENERATION]\n";
    return 2;
  }
  Reader reader;
  reader.arena = argv[1];
  reader.ack_log = argv[2];
  reader.stats_file = argv[3];
  reader.rng.seed(std::strtoull(argv[4], nullptr, 10));
  if (argc == 7) {
    reader.last_revision = std::strtoull(argv[5], nullptr, 10);
    reader.last_generation = std::strtoull(argv[6], nullptr, 10);
  }
  try {
    reader.run();
  } catch (const std::exception& e) {
    reader.fail(std::string("exception: ") + e.what());
  }
}
