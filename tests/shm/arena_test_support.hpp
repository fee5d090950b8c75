// Helpers for arena tests: unique arena names, records built from registry JSON, cleanup.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include "roster/detail/layout.hpp"

#include "roster/shm/batch_resolver.hpp"
#include "roster/shm/writer.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::testing {

// A name no other test (or test process) uses; segments are removed by ArenaFixture.
inline std::string unique_arena_name(const std::string& what) {
  static std::atomic<int> counter{0};
  return "test-" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

// Decoded records kept alive for a batch (Batch holds spans into them).
struct Records {
  wire::DecodedDocument doc;
  shm::Batch batch(uint64_t revision = 0) const {
    shm::Batch b;
    b.revision = revision;
    for (size_t i = 0; i < doc.services.size(); ++i) b.upsert_versions.push_back(doc.services[i]);
    for (size_t i = 0; i < doc.instances.size(); ++i) b.upsert_instances.push_back(doc.instances[i]);
    for (size_t i = 0; i < doc.contracts.size(); ++i) b.upsert_contracts.push_back(doc.contracts[i]);
    return b;
  }
};

inline Records records(const std::string& json) {
  wire::JsonDecoder decoder;
  Records r{decoder.decode(json)};
  if (!r.doc.ok()) throw std::runtime_error("test JSON is invalid: " + r.doc.errors[0].to_string());
  return r;
}

// The service-table slot whose newest node is `service`'s under slot key `key`, as the data
// segment's file holds it now: its offset in the file and its words (all 0 when none is).
struct SlotInFile {
  uint64_t offset = 0, hash = 0, head = 0, latest = 0, latest_since = 0;
};
inline SlotInFile service_slot_in_file(const std::string& arena, std::string_view service, uint16_t key = 0) {
  using shm::detail::ServiceNode;
  using shm::detail::ServiceSlot;
  std::ifstream in("/dev/shm/roster." + arena + ".data", std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto word = [&](uint64_t offset) {
    uint64_t value = 0;
    if (offset + sizeof value <= file.size()) std::memcpy(&value, file.data() + offset, sizeof value);
    return value;
  };
  const uint64_t table = word(offsetof(shm::detail::SegmentHeader, service_table));
  const uint64_t capacity = word(offsetof(shm::detail::SegmentHeader, service_capacity));
  for (uint64_t i = 0; i < capacity; ++i) {
    const uint64_t at = table + i * sizeof(ServiceSlot);
    const uint64_t head = word(at + offsetof(ServiceSlot, head));
    if (head == 0 || head + sizeof(ServiceNode) + service.size() > file.size()) continue;
    ServiceNode node;
    std::memcpy(static_cast<void*>(&node), file.data() + head, sizeof node);
    if (node.key != key || std::string_view(file.data() + head + node.name_offset, node.name_bytes) != service) continue;
    return {at, word(at + offsetof(ServiceSlot, hash)), head, word(at + offsetof(ServiceSlot, latest)),
            word(at + offsetof(ServiceSlot, latest_since))};
  }
  return {};
}

// One service version as registry JSON, with optional extra fields.
inline std::string version_json(const std::string& name, const std::string& version, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "version": ")" + version +
         R"(", "lifecycle_stage": "stable", "owner_team": "team-a")" + extra + "}";
}

}  // namespace roster::testing

// =============================================================================================
// Helpers for the reclaim, stress, crash and TSan tests. They build records with FlatBuffers
// directly (no JSON codec), so the TSan executable can compile them without wire/*.cpp.
// =============================================================================================

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "roster/semver.hpp"
#include "roster/client.hpp"
#include "../lifecycle_oracle.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::testing {

// --- /dev/shm cleanup ----------------------------------------------------------------------

// Every /dev/shm entry of arena `name`: its two segments and any half-created ".new." ones.
inline std::vector<std::string> arena_files(const std::string& name) {
  const std::string prefix = "roster." + name + ".";
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    std::string file = entry.path().filename().string();
    if (file.rfind(prefix, 0) == 0) out.push_back(std::move(file));
  }
  return out;
}

inline void remove_arena(const std::string& name) {
  for (const auto& file : arena_files(name)) ::unlink(("/dev/shm/" + file).c_str());
}

// Removes what test processes that crashed (and so never ran their cleanup) left in /dev/shm:
// arenas named by unique_arena_name ("test-<what>-<pid>-<n>") whose process is gone.
inline void remove_stale_test_arenas() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string file = entry.path().filename().string();
    if (file.rfind("roster.test-", 0) != 0) continue;
    const std::string arena = file.substr(7, file.find('.', 7) - 7);  // test-<what>-<pid>-<n>
    const size_t counter_dash = arena.rfind('-');
    if (counter_dash == std::string::npos || counter_dash == 0) continue;
    const size_t pid_dash = arena.rfind('-', counter_dash - 1);
    if (pid_dash == std::string::npos) continue;
    pid_t pid = 0;
    const std::string pid_text = arena.substr(pid_dash + 1, counter_dash - pid_dash - 1);
    auto r = std::from_chars(pid_text.data(), pid_text.data() + pid_text.size(), pid);
    if (r.ec != std::errc() || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) ::unlink(entry.path().c_str());
  }
}

// Removes the arena's segments when the test ends (and what crashed test processes left).
struct ArenaCleanup {
  explicit ArenaCleanup(std::string arena) : name(std::move(arena)) { remove_stale_test_arenas(); }
  ~ArenaCleanup() { remove_arena(name); }
  std::string name;
};

// --- records built with FlatBuffers ----------------------------------------------------------

using Labels = std::vector<std::pair<std::string, std::string>>;

struct VersionSpec {
  std::string name, version;
  wire::LifecycleStage stage = wire::LifecycleStage::Stable;
  std::string owner_team = "team-a";
  std::string description;
  std::vector<std::string> tags;
  Labels labels;
  std::vector<std::pair<std::string, std::string>> dependencies;  // service, range
};

struct InstanceSpec {
  std::string service, version, id, address = "10.0.0.1";
  uint16_t port = 80, weight = 100;
  wire::Health health = wire::Health::Up;
  std::string zone;
  Labels metadata;
};

struct ContractSpec {
  std::string consumer, consumer_version, provider, provider_range = "*", pact = "{}";
};

inline std::vector<uint8_t> finish(flatbuffers::FlatBufferBuilder& fbb) {
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

inline std::vector<uint8_t> version_record(const VersionSpec& s) {
  flatbuffers::FlatBufferBuilder fbb(512);
  std::vector<flatbuffers::Offset<flatbuffers::String>> tags;
  for (const auto& t : s.tags) tags.push_back(fbb.CreateString(t));
  std::vector<flatbuffers::Offset<wire::Label>> labels;
  for (const auto& [k, v] : s.labels) labels.push_back(wire::CreateLabelDirect(fbb, k.c_str(), v.c_str()));
  std::vector<flatbuffers::Offset<wire::Dependency>> deps;
  for (const auto& [svc, range] : s.dependencies) deps.push_back(wire::CreateDependencyDirect(fbb, svc.c_str(), range.c_str()));
  fbb.Finish(wire::CreateServiceVersionDirect(fbb, s.name.c_str(), s.version.c_str(), s.stage,
                                              s.description.empty() ? nullptr : s.description.c_str(),
                                              s.owner_team.c_str(), s.tags.empty() ? nullptr : &tags,
                                              s.labels.empty() ? nullptr : &labels, 0,
                                              s.dependencies.empty() ? nullptr : &deps));
  return finish(fbb);
}

inline std::vector<uint8_t> instance_record(const InstanceSpec& s) {
  flatbuffers::FlatBufferBuilder fbb(256);
  std::vector<flatbuffers::Offset<wire::Label>> metadata;
  for (const auto& [k, v] : s.metadata) metadata.push_back(wire::CreateLabelDirect(fbb, k.c_str(), v.c_str()));
  fbb.Finish(wire::CreateInstanceDirect(fbb, s.service.c_str(), s.version.c_str(), s.id.c_str(), s.address.c_str(),
                                        s.port, s.zone.empty() ? nullptr : s.zone.c_str(), s.weight, s.health, 0,
                                        s.metadata.empty() ? nullptr : &metadata));
  return finish(fbb);
}

inline std::vector<uint8_t> contract_record(const ContractSpec& s) {
  flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Finish(wire::CreateContractDirect(fbb, s.consumer.c_str(), s.consumer_version.c_str(), s.provider.c_str(),
                                        s.provider_range.c_str(), s.pact.c_str()));
  return finish(fbb);
}

// A batch that owns its records (shm::Batch only holds spans). Not copyable: the spans point
// into `records`, whose element buffers never move.
struct OwnedBatch {
  OwnedBatch() = default;
  OwnedBatch(OwnedBatch&&) = default;
  OwnedBatch& operator=(OwnedBatch&&) = default;
  OwnedBatch(const OwnedBatch&) = delete;
  OwnedBatch& operator=(const OwnedBatch&) = delete;

  const std::vector<uint8_t>& upsert(const VersionSpec& s) {
    records.push_back(version_record(s));
    batch.upsert_versions.push_back(records.back());
    return records.back();
  }
  const std::vector<uint8_t>& upsert(const InstanceSpec& s) {
    records.push_back(instance_record(s));
    batch.upsert_instances.push_back(records.back());
    return records.back();
  }
  const std::vector<uint8_t>& upsert(const ContractSpec& s) {
    records.push_back(contract_record(s));
    batch.upsert_contracts.push_back(records.back());
    return records.back();
  }
  void remove_version(std::string service, std::string version) {
    batch.remove_versions.push_back({std::move(service), std::move(version)});
  }
  void remove_instance(std::string service, std::string version, std::string id) {
    batch.remove_instances.push_back({std::move(service), std::move(version), std::move(id)});
  }

  std::deque<std::vector<uint8_t>> records;
  shm::Batch batch;
};

// True if the record a View returned (its root table) is byte-for-byte `original`: the arena
// copies records unchanged, so the buffer starts `root offset` bytes before the table.
inline bool same_record_bytes(const void* table, const std::vector<uint8_t>& original) {
  const uint32_t root = flatbuffers::ReadScalar<uint32_t>(original.data());
  const auto* start = static_cast<const uint8_t*>(table) - root;
  return std::memcmp(start, original.data(), original.size()) == 0;
}

inline std::string_view label(const flatbuffers::Vector<flatbuffers::Offset<wire::Label>>* labels, const char* key) {
  if (!labels) return {};
  const wire::Label* l = labels->LookupByKey(key);
  return l ? l->value()->string_view() : std::string_view();
}

// --- a readable dump of everything a View shows about some names ------------------------------

inline std::string dump_view(const View& view, const std::vector<std::string>& names,
                             const std::vector<std::string>& teams = {}, const std::vector<std::string>& tags = {}) {
  std::string out = "generation " + std::to_string(view.generation()) + " revision " + std::to_string(view.revision()) + "\n";
  auto labels_of = [](const flatbuffers::Vector<flatbuffers::Offset<wire::Label>>* labels) {
    std::string s;
    if (labels)
      for (const auto* l : *labels) s += " " + l->key()->str() + "=" + l->value()->str();
    return s;
  };
  auto version_line = [&](const ServiceVersion& v) {
    std::string s = std::string(v.name()) + "@" + std::string(v.version()) + " stage=" +
                    std::to_string(static_cast<int>(v.stage())) + " team=" + std::string(v.owner_team()) +
                    " desc=" + std::string(v.description()) + labels_of(v.record().labels());
    if (v.record().tags())
      for (const auto* t : *v.record().tags()) s += " tag:" + t->str();
    return s;
  };
  auto sorted_list = [&](const std::vector<ServiceVersion>& list) {
    std::vector<std::string> lines;
    for (const auto& v : list) lines.push_back(std::string(v.name()) + "@" + std::string(v.version()));
    std::sort(lines.begin(), lines.end());
    std::string s;
    for (auto& l : lines) s += " " + l;
    return s;
  };
  for (const auto& name : names) {
    out += "service " + name + "\n";
    if (auto s = view.service(name)) out += "  latest " + std::string(s->version()) + "\n";
    if (auto s = view.latest(name, Latest::IncludingPrereleases)) out += "  latest-any " + std::string(s->version()) + "\n";
    for (const auto& v : view.versions(name)) {
      out += "  " + version_line(v) + "\n";
      for (const auto& d : view.dependencies(name, v.version(), Direct))
        out += "    dep " + std::string(d.service) + " " + std::string(d.range) + " -> " +
               (d.resolved ? std::string(d.resolved->version()) : "none") + "\n";
      for (auto inst : view.instances(name, v.version()))
        out += "    instance " + std::string(inst.id()) + " " + std::string(inst.address()) + ":" +
               std::to_string(inst.port()) + " w=" + std::to_string(inst.weight()) +
               " h=" + std::to_string(static_cast<int>(inst.health())) + " zone=" + std::string(inst.zone()) +
               labels_of(inst.record().metadata()) + "\n";
    }
    size_t healthy = 0;
    for (auto inst : view.instances(name, Healthy)) healthy += inst.health() == wire::Health::Up;
    out += "  healthy " + std::to_string(healthy) + "\n";
    out += "  dependents" + sorted_list(view.dependents(name)) + "\n";
    std::vector<std::string> contracts;
    for (const auto* c : view.contracts(name))
      contracts.push_back(c->consumer()->str() + "@" + c->consumer_version()->str() + "->" + c->provider()->str());
    std::sort(contracts.begin(), contracts.end());
    for (const auto& c : contracts) out += "  contract " + c + "\n";
  }
  for (const auto& team : teams) out += "team " + team + sorted_list(view.by_team(team).to_vector()) + "\n";
  for (const auto& tag : tags) out += "tag " + tag + sorted_list(view.by_tag(tag).to_vector()) + "\n";
  for (int stage = 0; stage <= static_cast<int>(wire::LifecycleStage::Retired); ++stage)
    out += "stage " + std::to_string(stage) +
           sorted_list(view.by_stage(static_cast<wire::LifecycleStage>(stage)).to_vector()) + "\n";
  return out;
}

// "" if two dumps are equal, else their first differing lines (short enough for a test message).
inline std::string first_difference(const std::string& got, const std::string& expected) {
  if (got == expected) return "";
  size_t line = 0, at = 0;
  while (at < got.size() && at < expected.size() && got[at] == expected[at]) {
    if (got[at] == '\n') line = at + 1;
    ++at;
  }
  auto line_at = [&](const std::string& s) { return s.substr(line, s.find('\n', line) - line); };
  return "got \"" + line_at(got) + "\", expected \"" + line_at(expected) + "\"";
}

// --- child processes ---------------------------------------------------------------------------

// One end of a bidirectional channel (a Unix socket pair) between a test and its child.
class Channel {
 public:
  Channel() = default;
  explicit Channel(int fd) : fd_(fd) {}
  Channel(Channel&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Channel& operator=(Channel&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Channel() {
    if (fd_ >= 0) ::close(fd_);
  }

  bool send(const void* data, size_t size) {
    const char* p = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::send(fd_, p, size, MSG_NOSIGNAL);  // no SIGPIPE if the peer died
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }
  // False on timeout, EOF (the peer died) or error.
  bool receive(void* data, size_t size, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    char* p = static_cast<char*>(data);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (size > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{fd_, POLLIN, 0};
      const int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      const ssize_t n = ::recv(fd_, p, size, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  }
  bool send_u64(uint64_t v) { return send(&v, sizeof v); }
  std::optional<uint64_t> receive_u64(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    uint64_t v = 0;
    if (!receive(&v, sizeof v, timeout)) return std::nullopt;
    return v;
  }
  bool send_string(const std::string& s) { return send_u64(s.size()) && send(s.data(), s.size()); }
  std::optional<std::string> receive_string(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto size = receive_u64(timeout);
    if (!size || *size > (size_t{64} << 20)) return std::nullopt;
    std::string s(*size, '\0');
    if (!receive(s.data(), s.size(), timeout)) return std::nullopt;
    return s;
  }

 private:
  int fd_ = -1;
};

// A forked child (no exec) that runs a function and _exits with its result. It cannot outlive
// the test: the destructor kills and reaps it, PR_SET_PDEATHSIG kills it if the test process
// dies, and alarm() ends it after `lifetime_s` whatever happens. Fork only from a thread-free
// process (the test's main thread before it starts threads).
class ChildProcess {
 public:
  static std::unique_ptr<ChildProcess> spawn(const std::function<int(Channel&)>& body, unsigned lifetime_s = 30) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw std::runtime_error("socketpair failed");
    std::fflush(nullptr);  // or buffered output would be written twice
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(sv[0]);
      ::close(sv[1]);
      throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
      ::close(sv[0]);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(120);  // the parent died before prctl
      ::alarm(lifetime_s);
      int rc = 121;
      try {
        Channel channel(sv[1]);
        rc = body(channel);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", ::getpid(), e.what());
        rc = 122;
      } catch (...) {
        rc = 123;
      }
      std::fflush(nullptr);
      ::_exit(rc);  // never run the parent's atexit handlers or gtest's state
    }
    ::close(sv[1]);
    return std::unique_ptr<ChildProcess>(new ChildProcess(pid, sv[0]));
  }

  ~ChildProcess() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  pid_t pid() const { return pid_; }
  Channel& channel() { return channel_; }
  void kill9() { ::kill(pid_, SIGKILL); }

  // The wait status once the child ended, or nullopt if it still runs after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (reaped_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return status_;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  ChildProcess(pid_t pid, int fd) : pid_(pid), channel_(fd) {}
  pid_t pid_;
  Channel channel_;
  bool reaped_ = false;
  int status_ = 0;
};

// Counters in anonymous shared memory, visible to children forked after they were made.
class SharedCounters {
 public:
  explicit SharedCounters(size_t n) : n_(n) {
    void* p = ::mmap(nullptr, n * sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    words_ = static_cast<std::atomic<uint64_t>*>(p);
    for (size_t i = 0; i < n; ++i) new (&words_[i]) std::atomic<uint64_t>(0);
  }
  ~SharedCounters() { ::munmap(words_, n_ * sizeof(std::atomic<uint64_t>)); }
  SharedCounters(const SharedCounters&) = delete;
  SharedCounters& operator=(const SharedCounters&) = delete;
  std::atomic<uint64_t>& operator[](size_t i) const { return words_[i]; }

 private:
  size_t n_;
  std::atomic<uint64_t>* words_;
};

// A flag in anonymous shared memory, visible to children forked after it was made.
class SharedFlag {
 public:
  SharedFlag() {
    void* p = ::mmap(nullptr, sizeof(std::atomic<uint32_t>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    flag_ = new (p) std::atomic<uint32_t>(0);
  }
  ~SharedFlag() { ::munmap(flag_, sizeof(*flag_)); }
  SharedFlag(const SharedFlag&) = delete;
  SharedFlag& operator=(const SharedFlag&) = delete;
  void set() { flag_->store(1, std::memory_order_release); }
  bool is_set() const { return flag_->load(std::memory_order_acquire) != 0; }

 private:
  std::atomic<uint32_t>* flag_;
};

// --- a randomized workload and a checker of what a View shows ---------------------------------
//
// The writer side (Workload) keeps a model of `services` services named svc-00, svc-01, ...;
// service i belongs to team-(i % 4), carries tags "all" and tag-(i % 3), and each of its
// versions depends on service (i + 1) % services. Every batch picks a few services and
// rewrites EVERY record of each (all versions, all instances) with labels
//   batch = the batch id (= the generation the batch publishes = its revision),
//   epoch = the writer incarnation, touched = the services of this batch,
//   sum   = a checksum of the record's own content,
// so a reader can tell from one View whether it saw a whole batch or a mixture.

inline uint64_t fnv1a(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// Checksum of a version record's content (everything but its "sum" label).
inline std::string content_sum(const wire::ServiceVersion& v) {
  std::string s;
  auto add = [&](std::string_view part) {
    s.append(part);
    s.push_back('\x1f');
  };
  add(v.name()->string_view());
  add(v.version()->string_view());
  add(std::to_string(static_cast<int>(v.stage())));
  add(v.owner_team()->string_view());
  add(v.description() ? v.description()->string_view() : "");
  if (v.tags())
    for (const auto* t : *v.tags()) add(t->string_view());
  if (v.labels())
    for (const auto* l : *v.labels())
      if (l->key()->string_view() != "sum") add(l->key()->str() + "=" + l->value()->str());
  if (v.dependencies())
    for (const auto* d : *v.dependencies()) add(d->service()->str() + " " + d->range()->str());
  return std::to_string(fnv1a(s));
}

inline std::string content_sum(const wire::Instance& i) {
  std::string s;
  auto add = [&](std::string_view part) {
    s.append(part);
    s.push_back('\x1f');
  };
  add(i.service()->string_view());
  add(i.version()->string_view());
  add(i.id()->string_view());
  add(i.address()->string_view());
  add(std::to_string(i.port()));
  add(i.zone() ? i.zone()->string_view() : "");
  add(std::to_string(i.weight()));
  add(std::to_string(static_cast<int>(i.health())));
  if (i.metadata())
    for (const auto* l : *i.metadata())
      if (l->key()->string_view() != "sum") add(l->key()->str() + "=" + l->value()->str());
  return std::to_string(fnv1a(s));
}

class Workload {
 public:
  static constexpr int kTeams = 4, kTags = 3;

  explicit Workload(int services = 32, uint64_t seed = 1, uint64_t epoch = 0)
      : rng_(seed), services_(static_cast<size_t>(services)), epoch_(epoch) {}

  static std::string service_name(int i) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "svc-%02d", i);
    return buf;
  }
  static std::string team_of(int i) { return "team-" + std::to_string(i % kTeams); }
  static std::string tag_of(int i) { return "tag-" + std::to_string(i % kTags); }
  static int service_index(std::string_view name) {
    int i = -1;
    if (name.size() < 5 || name.substr(0, 4) != "svc-") return -1;
    auto r = std::from_chars(name.data() + 4, name.data() + name.size(), i);
    return r.ec == std::errc() && r.ptr == name.data() + name.size() ? i : -1;
  }
  int services() const { return static_cast<int>(services_.size()); }
  void set_epoch(uint64_t epoch) { epoch_ = epoch; }

  // Every service's records (a fresh arena's first batch, or a writer restart).
  OwnedBatch full(uint64_t id) {
    std::vector<int> all;
    for (int i = 0; i < services(); ++i) {
      if (services_[i].versions.empty()) add_version(i, 1 + static_cast<int>(rng_() % 3));
      all.push_back(i);
    }
    OwnedBatch b;
    emit(b, all, id);
    return b;
  }

  // A random change to 1-4 services: new versions, removed versions (sometimes all of a
  // service's), stage changes, new or removed instances, health flips.
  OwnedBatch next(uint64_t id) {
    std::vector<int> touched;
    const int count = 1 + static_cast<int>(rng_() % 4);
    while (static_cast<int>(touched.size()) < count) {
      const int i = static_cast<int>(rng_() % services_.size());
      if (std::find(touched.begin(), touched.end(), i) == touched.end()) touched.push_back(i);
    }
    std::sort(touched.begin(), touched.end());
    OwnedBatch b;
    for (int i : touched) {
      Svc& s = services_[i];
      const std::string name = service_name(i);
      const unsigned r = static_cast<unsigned>(rng_() % 100);
      if (s.versions.empty()) {
        add_version(i, 1 + static_cast<int>(rng_() % 2));
      } else if (r < 20 && s.versions.size() < 5) {
        add_version(i, 1);
      } else if (r < 32 && s.versions.size() > 1) {
        const size_t v = rng_() % s.versions.size();
        b.remove_version(name, s.versions[v].version);
        s.versions.erase(s.versions.begin() + static_cast<long>(v));
      } else if (r < 35) {
        for (auto& v : s.versions) b.remove_version(name, v.version);
        s.versions.clear();
      } else if (r < 50) {
        s.versions[rng_() % s.versions.size()].stage = random_stage();
      } else if (r < 65) {
        Ver& v = s.versions[rng_() % s.versions.size()];
        if (v.instances.size() < 4) v.instances.push_back(new_instance(s));
      } else if (r < 75) {
        Ver& v = s.versions[rng_() % s.versions.size()];
        if (!v.instances.empty()) {
          const size_t k = rng_() % v.instances.size();
          b.remove_instance(name, v.version, "i-" + std::to_string(v.instances[k].k));
          v.instances.erase(v.instances.begin() + static_cast<long>(k));
        }
      } else {
        for (int flips = 1 + static_cast<int>(rng_() % 3); flips > 0; --flips) {
          Ver& v = s.versions[rng_() % s.versions.size()];
          if (!v.instances.empty()) v.instances[rng_() % v.instances.size()].health = random_health();
        }
      }
    }
    emit(b, touched, id);
    return b;
  }

 private:
  struct Inst {
    int k;
    uint16_t weight;
    wire::Health health;
    int zone;
  };
  struct Ver {
    std::string version;
    wire::LifecycleStage stage;
    std::string range;
    std::vector<Inst> instances;
  };
  struct Svc {
    std::vector<Ver> versions;
    int next_instance = 0;
  };

  wire::LifecycleStage random_stage() {
    static constexpr wire::LifecycleStage pool[] = {
        wire::LifecycleStage::Stable,     wire::LifecycleStage::Stable,     wire::LifecycleStage::Stable,
        wire::LifecycleStage::Stable,     wire::LifecycleStage::Beta,       wire::LifecycleStage::Deprecated,
        wire::LifecycleStage::Retired,    wire::LifecycleStage::Development, wire::LifecycleStage::Sunset,
        wire::LifecycleStage::Proposed};
    return pool[rng_() % std::size(pool)];
  }
  wire::Health random_health() {
    static constexpr wire::Health pool[] = {wire::Health::Up, wire::Health::Up, wire::Health::Down,
                                            wire::Health::Starting, wire::Health::OutOfService};
    return pool[rng_() % std::size(pool)];
  }
  Inst new_instance(Svc& s) {
    return {s.next_instance++, static_cast<uint16_t>(1 + rng_() % 200), random_health(), static_cast<int>(rng_() % 3)};
  }
  void add_version(int i, int count) {
    static const char* ranges[] = {"^1.0.0", "^2.0.0", ">=1.0.0 <3.0.0", "*", "~2.1", "1.x || 3.x"};
    static const char* pre[] = {"", "", "", "", "-rc.1", "-beta.2"};
    Svc& s = services_[i];
    for (int added = 0; added < count && s.versions.size() < 5;) {
      std::string v = std::to_string(1 + rng_() % 3) + "." + std::to_string(rng_() % 4) + "." +
                      std::to_string(rng_() % 4) + pre[rng_() % std::size(pre)];
      if (std::any_of(s.versions.begin(), s.versions.end(), [&](const Ver& x) { return x.version == v; })) continue;
      Ver ver{v, random_stage(), ranges[rng_() % std::size(ranges)], {}};
      for (int n = static_cast<int>(rng_() % 4); n > 0; --n) ver.instances.push_back(new_instance(s));
      s.versions.push_back(std::move(ver));
      ++added;
    }
  }

  // Rewrites every record of the touched services, stamped with batch `id`.
  void emit(OwnedBatch& b, const std::vector<int>& touched, uint64_t id) {
    b.batch.revision = id;
    std::string touched_list;
    for (int i : touched) touched_list += (touched_list.empty() ? "" : ",") + std::to_string(i);
    const std::string batch = std::to_string(id), epoch = std::to_string(epoch_);
    for (int i : touched) {
      const std::string name = service_name(i);
      for (const Ver& v : services_[i].versions) {
        VersionSpec spec{name, v.version, v.stage, team_of(i), "version " + v.version + " of " + name + " from batch " + batch,
                         {"all", tag_of(i)}, {{"batch", batch}, {"epoch", epoch}, {"touched", touched_list}},
                         {{service_name((i + 1) % services()), v.range}}};
        spec.labels.emplace_back("sum", content_sum(*flatbuffers::GetRoot<wire::ServiceVersion>(version_record(spec).data())));
        b.upsert(spec);
        for (const Inst& in : v.instances) {
          InstanceSpec is{name, v.version, "i-" + std::to_string(in.k),
                          "10." + std::to_string(i) + "." + std::to_string(in.k % 256) + "." + std::to_string(in.k / 256),
                          static_cast<uint16_t>(1000 + in.k), in.weight, in.health, "zone-" + std::to_string(in.zone),
                          {{"batch", batch}, {"epoch", epoch}}};
          is.metadata.emplace_back("sum", content_sum(*flatbuffers::GetRoot<wire::Instance>(instance_record(is).data())));
          b.upsert(is);
        }
      }
    }
  }

  std::mt19937_64 rng_;
  std::vector<Svc> services_;
  uint64_t epoch_;
};

// Checks one View against the Workload's invariants; counts violations by kind and keeps the
// first few messages. One per reader thread (it remembers the last generation it saw).
class ViewChecker {
 public:
  explicit ViewChecker(int services, bool restarts_allowed = false)
      : services_(services), restarts_allowed_(restarts_allowed) {}

  uint64_t views = 0, empty_views = 0, records = 0, violations = 0;
  std::set<uint64_t> generations;  // distinct generations seen (capped)
  std::set<uint64_t> epochs;       // writer incarnations seen
  std::map<std::string, uint64_t> by_kind;
  std::string messages;

  // full: every service and every index. Otherwise a sample, several times cheaper: one
  // service (rotating), the services its batch touched, and its dependency's target.
  void check(const View& view, bool full = true) {
    ++views;
    const uint64_t g = view.generation();
    if (generations.size() < 100000) generations.insert(g);
    if (view.evicted()) fail("evicted", "a fresh View reports evicted");
    // In a federated arena the workload is the last registry; the others' records are not its.
    const auto registries = view.registries();
    const RegistryState& workload = registries.back();
    if (g >= 2 && workload.revision != g)
      fail("revision", "View at generation " + std::to_string(g) + " reports revision " + std::to_string(workload.revision));

    std::vector<Seen> seen(static_cast<size_t>(services_));
    std::optional<uint64_t> epoch;
    std::map<std::string, size_t> team_count, tag_count;
    size_t stage_count[8] = {};
    size_t total_versions = 0;

    std::vector<char> checked(static_cast<size_t>(services_), 0);
    auto visit = [&](int i) {
      if (i < 0 || i >= services_ || checked[i]) return;
      checked[i] = 1;
      check_service(view, i, seen[i], epoch, team_count, tag_count, stage_count, total_versions);
    };
    if (full) {
      for (int i = 0; i < services_; ++i) visit(i);
    } else {
      const int first = static_cast<int>(views % static_cast<uint64_t>(services_));
      visit(first);
      visit((first + 1) % services_);
      const std::vector<int> touched = seen[first].touched;
      for (int j : touched) visit(j);
    }

    // Monotonic: a thread's Views never go back in time (per writer incarnation).
    if (epoch) epochs.insert(*epoch);
    if (epoch || !restarts_allowed_) {
      const uint64_t e = epoch.value_or(last_epoch_);
      if (e < last_epoch_ || (e == last_epoch_ && g < last_generation_))
        fail("generation", "generation went back from " + std::to_string(last_epoch_) + "/" +
                               std::to_string(last_generation_) + " to " + std::to_string(e) + "/" + std::to_string(g));
      last_epoch_ = e;
      last_generation_ = g;
    }
    if (total_versions == 0) {
      ++empty_views;
      return;
    }

    // All or nothing across services: if batch b touched service j, j cannot show an older batch.
    for (int i = 0; i < services_; ++i) {
      if (!seen[i].present) continue;
      if (seen[i].batch > g)
        fail("batch", service(i) + " shows batch " + std::to_string(seen[i].batch) + " in generation " + std::to_string(g));
      for (int j : seen[i].touched)
        if (j >= 0 && j < services_ && seen[j].present && seen[j].batch < seen[i].batch)
          fail("atomicity", service(i) + " is at batch " + std::to_string(seen[i].batch) + ", which also touched " +
                                service(j) + ", but " + service(j) + " shows older batch " + std::to_string(seen[j].batch));
    }

    // Resolved dependencies: the highest non-retired version of the target that satisfies the range.
    for (int i = 0; i < services_; ++i) {
      if (!seen[i].present || !checked[(i + 1) % services_]) continue;
      for (const auto& ver : seen[i].versions) {
        for (const auto& dep : view.dependencies(service(i), ver.version, Direct)) {
          const int j = Workload::service_index(dep.service);
          const std::string expected = j >= 0 && j < services_ ? best_match(seen[j], dep.range) : "";
          const std::string got = dep.resolved ? std::string(dep.resolved->version()) : "";
          if (got != expected)
            fail("dependency", service(i) + "@" + ver.version + " -> " + std::string(dep.service) + " " +
                                   std::string(dep.range) + " resolved to \"" + got + "\", expected \"" + expected +
                                   "\" (generation " + std::to_string(g) + ")");
        }
      }
    }
    if (!full) return;
    // Dependents of one service per View (rotating): exactly the versions whose edge resolves.
    {
      const int target = static_cast<int>(views % static_cast<uint64_t>(services_));
      const int from = (target + services_ - 1) % services_;
      std::set<std::string> expected, got;
      if (seen[from].present)
        for (const auto& ver : seen[from].versions)
          if (!best_match(seen[target], ver.range).empty()) expected.insert(service(from) + "@" + ver.version);
      for (const auto& v : view.dependents(service(target))) got.insert(std::string(v.name()) + "@" + std::string(v.version()));
      if (got != expected)
        fail("dependents", "dependents(" + service(target) + ") has " + std::to_string(got.size()) +
                               " versions, expected " + std::to_string(expected.size()));
    }

    // Secondary indexes agree with the service nodes of the same generation.
    auto check_list = [&](const char* kind, const std::string& key, const VersionList& list, size_t expected) {
      size_t n = 0;
      for (auto v : list) {
        if (v.registry() != workload.name) continue;
        ++n;
        const int j = Workload::service_index(v.name());
        const Seen* s = j >= 0 && j < services_ ? &seen[j] : nullptr;
        const SeenVersion* sv = nullptr;
        if (s)
          for (const auto& x : s->versions)
            if (x.version == v.version()) sv = &x;
        if (!sv || label(v.record().labels(), "batch") != std::to_string(s->batch))
          fail("index", std::string(kind) + " " + key + " lists " + std::string(v.name()) + "@" +
                            std::string(v.version()) + ", which the View's service node does not have in that form");
      }
      if (n != expected)
        fail("index", std::string(kind) + " " + key + " lists " + std::to_string(n) + " versions, expected " +
                          std::to_string(expected) + " (generation " + std::to_string(g) + ")");
    };
    for (int t = 0; t < Workload::kTeams; ++t) {
      const std::string team = "team-" + std::to_string(t);
      check_list("team", team, view.by_team(team), team_count[team]);
    }
    for (int t = 0; t < Workload::kTags; ++t) {
      const std::string tag = "tag-" + std::to_string(t);
      check_list("tag", tag, view.by_tag(tag), tag_count[tag]);
    }
    check_list("tag", "all", view.by_tag("all"), total_versions);
    for (int st = 0; st <= static_cast<int>(wire::LifecycleStage::Retired); ++st)
      check_list("stage", std::to_string(st), view.by_stage(static_cast<wire::LifecycleStage>(st)), stage_count[st]);
  }

  void fail(const std::string& kind, const std::string& what) {
    ++violations;
    ++by_kind[kind];
    if (messages.size() < 4000) messages += "[" + kind + "] " + what + "\n";
  }

  std::string summary() const {
    std::string s = std::to_string(views) + " views (" + std::to_string(empty_views) + " empty), " +
                    std::to_string(records) + " records, " + std::to_string(generations.size()) + " generations, " +
                    std::to_string(violations) + " violations";
    for (const auto& [k, n] : by_kind) s += " " + k + "=" + std::to_string(n);
    return s;
  }

 private:
  struct SeenVersion {
    std::string version;
    semver::Version parsed;
    wire::LifecycleStage stage;
    std::string range;
  };
  struct Seen {
    bool present = false;
    uint64_t batch = 0;
    std::vector<int> touched;
    std::vector<SeenVersion> versions;
  };

  std::string service(int i) const { return Workload::service_name(i); }

  const semver::Version* parse_version(std::string_view text) {
    auto it = version_cache_.find(std::string(text));
    if (it == version_cache_.end()) {
      auto parsed = semver::Version::parse(text);
      if (!parsed) return nullptr;
      it = version_cache_.emplace(std::string(text), std::move(*parsed)).first;
    }
    return &it->second;
  }
  const semver::Range* parse_range(std::string_view text) {
    auto it = range_cache_.find(std::string(text));
    if (it == range_cache_.end()) {
      auto parsed = semver::Range::parse(text);
      if (!parsed) return nullptr;
      it = range_cache_.emplace(std::string(text), std::move(*parsed)).first;
    }
    return &it->second;
  }

  std::string best_match(const Seen& target, std::string_view range_text) {
    const semver::Range* range = parse_range(range_text);
    if (!range || !target.present) return "";
    const SeenVersion* best = nullptr;
    for (const auto& v : target.versions)
      if (range->satisfies(v.parsed) && better(v, best)) best = &v;
    return best ? best->version : "";
  }

  // Whether `v` is chosen over `best` (docs/lifecycle.md; null: nothing chosen yet).
  static bool better(const SeenVersion& v, const SeenVersion* best) {
    const int tier = oracle_tier(v.stage);
    if (tier > 2) return false;
    if (!best) return true;
    const int best_tier = oracle_tier(best->stage);
    return tier < best_tier || (tier == best_tier && best->parsed < v.parsed);
  }

  static uint64_t to_u64(std::string_view s) {
    uint64_t v = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size() ? v : ~uint64_t{0};
  }

  void check_service(const View& view, int i, Seen& seen, std::optional<uint64_t>& epoch,
                     std::map<std::string, size_t>& team_count, std::map<std::string, size_t>& tag_count,
                     size_t* stage_count, size_t& total_versions) {
    const std::string name = service(i);
    const auto versions = view.versions(name);
    if (versions.empty()) {
      if (view.service(name) || view.latest(name, Latest::IncludingPrereleases)) fail("latest", name + " has no versions but a latest one");
      if (!view.instances(name).empty()) fail("instances", name + " has no versions but instances");
      return;
    }
    seen.present = true;
    std::string want_stable, want_any;  // from the versions this View shows
    size_t instances_total = 0, healthy_total = 0;
    for (size_t k = 0; k < versions.size(); ++k) {
      const ServiceVersion& v = versions[k];
      const wire::ServiceVersion& rec = v.record();
      ++records;
      if (v.name() != name) fail("record", "versions(" + name + ") returned a record of " + std::string(v.name()));
      if (v.owner_team() != Workload::team_of(i)) fail("record", name + " has owner " + std::string(v.owner_team()));
      const std::string_view sum = label(rec.labels(), "sum");
      if (sum.empty() || sum != content_sum(rec))
        fail("checksum", name + "@" + std::string(v.version()) + ": the record's content does not match its checksum");
      const uint64_t batch = to_u64(label(rec.labels(), "batch"));
      const uint64_t e = to_u64(label(rec.labels(), "epoch"));
      if (k == 0) {
        seen.batch = batch;
        std::string_view touched = label(rec.labels(), "touched");
        while (!touched.empty()) {
          const size_t comma = touched.find(',');
          seen.touched.push_back(static_cast<int>(to_u64(touched.substr(0, comma))));
          touched = comma == std::string_view::npos ? std::string_view() : touched.substr(comma + 1);
        }
      } else if (batch != seen.batch) {
        fail("atomicity", name + " mixes versions of batch " + std::to_string(seen.batch) + " and " + std::to_string(batch));
      }
      if (!epoch) epoch = e;
      else if (*epoch != e) fail("atomicity", "one View mixes writer incarnations " + std::to_string(*epoch) + " and " + std::to_string(e));
      const semver::Version* parsed = parse_version(v.version());
      if (!parsed) {
        fail("record", name + " has invalid version " + std::string(v.version()));
        continue;
      }
      if (!seen.versions.empty() && !(seen.versions.back().parsed < *parsed))
        fail("order", name + ": versions are not ascending at " + std::string(v.version()));
      std::string range;
      if (rec.dependencies() && rec.dependencies()->size() == 1) range = rec.dependencies()->Get(0)->range()->str();
      else fail("record", name + "@" + std::string(v.version()) + " lost its dependency");
      seen.versions.push_back({std::string(v.version()), *parsed, v.stage(), range});
      ++team_count[std::string(v.owner_team())];
      if (rec.tags())
        for (const auto* t : *rec.tags()) ++tag_count[t->str()];
      const int stage = static_cast<int>(v.stage());
      if (stage >= 0 && stage < 8) ++stage_count[stage];
      ++total_versions;
      // Versions come in ascending precedence: the last live one is the highest.
      if (v.stage() != wire::LifecycleStage::Retired) want_any = std::string(v.version());

      // Instances of this version: well-formed, same batch, healthy ones first.
      size_t n = 0, up = 0;
      std::set<std::string_view> ids;
      bool healthy_part = true;
      for (auto inst : view.instances(name, v.version())) {
        ++n;
        ++records;
        const wire::Instance& ir = inst.record();
        if (ir.service()->string_view() != name || ir.version()->string_view() != v.version())
          fail("record", name + "@" + std::string(v.version()) + " lists an instance of " + ir.service()->str() + "@" +
                             ir.version()->str());
        if (label(ir.metadata(), "sum") != content_sum(ir))
          fail("checksum", name + " instance " + std::string(inst.id()) + ": content does not match its checksum");
        if (to_u64(label(ir.metadata(), "batch")) != seen.batch)
          fail("atomicity", name + " instance " + std::string(inst.id()) + " is from batch " +
                                std::string(label(ir.metadata(), "batch")) + ", its versions from batch " +
                                std::to_string(seen.batch));
        if (inst.port() != ir.port() || inst.weight() != ir.weight() || inst.health() != ir.health())
          fail("record", name + " instance " + std::string(inst.id()) + ": index entry disagrees with its record");
        if (!ids.insert(inst.id()).second) fail("record", name + " lists instance " + std::string(inst.id()) + " twice");
        const bool is_up = inst.health() == wire::Health::Up;
        if (is_up && !healthy_part) fail("instances", name + ": a healthy instance after an unhealthy one");
        healthy_part = healthy_part && is_up;
        up += is_up;
      }
      size_t healthy = 0;
      for (auto inst : view.instances(name, v.version(), Healthy)) {
        ++healthy;
        if (inst.health() != wire::Health::Up) fail("instances", name + ": healthy filter returned an unhealthy instance");
      }
      if (healthy != up) fail("instances", name + "@" + std::string(v.version()) + ": healthy filter count is wrong");
      instances_total += n;
      healthy_total += up;
    }
    size_t all = 0, healthy = 0;
    for (auto inst : view.instances(name)) {
      (void)inst;
      ++all;
    }
    for (auto inst : view.instances(name, Healthy)) {
      ++healthy;
      if (inst.health() != wire::Health::Up) fail("instances", name + ": healthy filter returned an unhealthy instance");
    }
    if (all != instances_total || healthy != healthy_total)
      fail("instances", name + ": service-wide instance lists disagree with the per-version ones");
    const SeenVersion* stable_choice = nullptr;  // what "latest" chooses: among releases, by the rule
    for (const SeenVersion& sv : seen.versions)
      if (!sv.parsed.is_prerelease() && better(sv, stable_choice)) stable_choice = &sv;
    if (stable_choice) want_stable = stable_choice->version;
    auto stable = view.service(name);
    auto any = view.latest(name, Latest::IncludingPrereleases);
    if ((stable ? std::string(stable->version()) : "") != want_stable)
      fail("latest", name + ": latest stable is " + (stable ? std::string(stable->version()) : "none") + ", expected " +
                         (want_stable.empty() ? "none" : want_stable));
    if ((any ? std::string(any->version()) : "") != want_any) fail("latest", name + ": latest (any) is wrong");
  }

  int services_;
  bool restarts_allowed_;
  uint64_t last_generation_ = 0, last_epoch_ = 0;
  std::unordered_map<std::string, semver::Version> version_cache_;
  std::unordered_map<std::string, semver::Range> range_cache_;
};

}  // namespace roster::testing
