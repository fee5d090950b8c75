// Fuzz harness: the reader's trust boundary. The arena's files in /dev/shm can be written by the
// agent's user (the data segment) and by every reader (the reader-slot segment); roster::Client
// must survive any bytes there: never crash, never read outside its mapping (a damaged structure
// reads as nothing and marks the View corrupt()).
//
// A small arena is built once per process by a real ArenaWriter (three generations, so older nodes
// exist). Each input patches bytes of its segments through a writable mapping, then a fresh Client
// opens it and makes every lookup; then the patched bytes are restored.
//
// Input: one flags byte (bit 0: also wait_for_change with a zero timeout), then patches, each
//   op (1 byte) | offset (2 bytes LE) | length (1 byte) | that many bytes
// op bit 0: 0 = data segment, 1 = reader-slot segment; op bits 1-2 say where the offset counts from:
//   0: the segment's start (its header, the tables and the start of the heap)
//   1: offset * 32 (anywhere in the 2 MiB segment)
//   2: the heap's start (nodes, arrays and records)
//   3: the start, 8-aligned, and the length is 8 (one whole field, as a hostile writer sets it)
// A patch running past the segment's end is cut there.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "arena_files.hpp"
#include "fuzz_support.hpp"
#include "walk_view.hpp"
#include "roster/client.hpp"
#include "roster/detail/layout.hpp"
#include "roster/shm/batch_resolver.hpp"
#include "roster/shm/writer.hpp"
#include "roster/wire/json_decoder.hpp"

namespace {

using namespace roster;

constexpr std::string_view kGeneration1 = R"({"services": [
  {"name": "users", "versions": [
    {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "identity", "tags": ["core"],
     "dependencies": [{"service": "db", "range": "^2"}],
     "instances": [{"id": "a", "address": "10.0.0.1", "port": 80}, {"id": "b", "address": "10.0.0.2", "port": 81, "health": "down"}]},
    {"version": "1.1.0-rc.1", "lifecycle_stage": "beta", "owner_team": "identity"}]},
  {"name": "db", "versions": [{"version": "2.3.0", "lifecycle_stage": "stable", "owner_team": "storage", "tags": ["core", "sql"],
     "instances": [{"id": "db-1", "address": "10.0.1.1", "port": 5432}]}]}],
  "contracts": [{"consumer": "users", "consumer_version": "1.0.0", "provider": "db", "provider_range": "^2",
                 "pact": {"consumer": {"name": "users"}, "provider": {"name": "db"}, "interactions": []}}]})";
// A second generation: replaces users' node (the old one stays until reclaimed) and adds a service.
constexpr std::string_view kGeneration2 = R"({"services": [
  {"name": "users", "versions": [{"version": "2.0.0", "lifecycle_stage": "development", "owner_team": "identity",
     "dependencies": [{"service": "db", "range": ">=2.0.0"}, {"service": "cache", "range": "~1.2"}]}]},
  {"name": "cache", "versions": [{"version": "1.2.7", "lifecycle_stage": "deprecated", "owner_team": "platform",
     "instances": [{"id": "c1", "address": "10.0.2.1", "port": 6379, "health": "starting"}]}]}]})";

// A third: a service with more instances than fit in its node, so they lie in slices of their own.
std::string fleet_generation() {
  std::string json = R"({"services": [{"name": "fleet", "versions": [{"version": "1.0.0", "lifecycle_stage": "stable",
     "owner_team": "identity", "instances": [)";
  for (int i = 0; i < 70; ++i)
    json += std::string(i ? "," : "") + R"({"id": "f)" + std::to_string(i) + R"(", "address": "10.0.3.1", "port": )" +
            std::to_string(1000 + i) + (i % 4 == 0 ? R"(, "health": "down"})" : "}");
  return json + "]}]}]}";
}

struct Segment {
  uint8_t* bytes = nullptr;
  size_t size = 0;
  std::vector<uint8_t> pristine;
};

struct Arena {
  std::string name = fuzz::process_unique("reader");
  std::unique_ptr<shm::ArenaWriter> writer;
  wire::DecodedDocument docs[3];
  Segment data, readers;
  uint64_t heap_offset = 0;
  fuzz::Keys keys;

  static Segment map(const std::string& path) {
    Segment s;
    const int fd = ::open(path.c_str(), O_RDWR);
    FUZZ_CHECK(fd >= 0);
    struct stat st {};
    FUZZ_CHECK(::fstat(fd, &st) == 0);
    s.size = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    FUZZ_CHECK(p != MAP_FAILED);
    ::close(fd);
    s.bytes = static_cast<uint8_t*>(p);
    s.pristine.assign(s.bytes, s.bytes + s.size);
    return s;
  }

  Arena() {
    fuzz::clean_arenas_at_exit();
    shm::ArenaOptions options;
    options.name = name;
    options.segment_bytes = size_t{2} << 20;
    options.max_services = 16;
    options.reader_slots = 4;
    auto created = shm::ArenaWriter::create(options);
    FUZZ_CHECK(created.has_value());
    writer = std::move(*created);
    FUZZ_CHECK(writer->set_store("fuzz-store").has_value());
    wire::JsonDecoder decoder;
    shm::BatchResolver resolver;  // what the server would send with each batch
    uint64_t revision = 0;
    const std::string fleet = fleet_generation();
    for (auto [i, json] : {std::pair{0, kGeneration1}, std::pair{1, kGeneration2}, std::pair{2, std::string_view(fleet)}}) {
      docs[i] = decoder.decode(json);
      FUZZ_CHECK(docs[i].ok());
      shm::Batch batch;
      batch.revision = ++revision;
      for (size_t k = 0; k < docs[i].services.size(); ++k) {
        batch.upsert_versions.push_back(docs[i].services[k]);
        keys.add_record(*flatbuffers::GetRoot<wire::ServiceVersion>(docs[i].services[k].data()));
      }
      for (size_t k = 0; k < docs[i].instances.size(); ++k) batch.upsert_instances.push_back(docs[i].instances[k]);
      for (size_t k = 0; k < docs[i].contracts.size(); ++k) batch.upsert_contracts.push_back(docs[i].contracts[k]);
      FUZZ_CHECK(resolver.apply(*writer, batch).has_value());
    }
    // Few keys: every lookup of a hostile arena may scan lists and records as large as the heap,
    // and what matters is each lookup's code, not each key (the names cover a service with
    // dependencies, a dependency target, a service on its own and one with instances in slices;
    // one team, one tag).
    keys.versions = {"1.0.0", "2.3.0", "9.9.9"};
    keys.teams = {"identity"};
    keys.tags = {"core"};
    data = map("/dev/shm/roster." + name + ".data");
    readers = map("/dev/shm/roster." + name + ".readers");
    std::memcpy(&heap_offset, data.bytes + offsetof(shm::detail::SegmentHeader, heap_offset), sizeof heap_offset);
    FUZZ_CHECK(heap_offset < data.size);
    // Sound first: the unpatched arena reads whole and clean.
    auto client = Client::open(name);
    FUZZ_CHECK(client.has_value());
    View view = client->view();
    (void)fuzz::walk(view, keys, /*hostile=*/false);
    FUZZ_CHECK(!view.corrupt());
  }
};

struct Patch {
  Segment* segment;
  size_t offset, length;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Arena arena;
  fuzz::Input in(data, size);
  const uint8_t flags = in.byte();
  std::vector<Patch> patches;
  while (in.left() >= 4 && patches.size() < 64) {
    const uint8_t op = in.byte();
    const size_t raw = in.u16();
    size_t length = in.byte();
    Segment& segment = (op & 1) ? arena.readers : arena.data;
    size_t offset = raw;
    switch ((op >> 1) & 3) {
      case 0: break;
      case 1: offset = raw * 32; break;
      case 2: offset = (&segment == &arena.data ? arena.heap_offset : 0) + raw; break;
      case 3: offset = raw & ~size_t{7}, length = 8; break;
    }
    const auto bytes = in.take(length);
    if (offset >= segment.size) continue;
    const size_t n = std::min(bytes.size(), segment.size - offset);
    std::memcpy(segment.bytes + offset, bytes.data(), n);
    patches.push_back({&segment, offset, n});
  }

  {
    auto client = Client::open(arena.name);
    if (client) {
      try {
        View view = client->view();
        volatile size_t sink = fuzz::walk(view, arena.keys, /*hostile=*/true).size();
        (void)sink;
        if (flags & 1) (void)client->wait_for_change(view.generation(), std::chrono::milliseconds(0));
      } catch (const roster::Exception& e) {
        // Documented: every reader slot taken (here: slots a hostile reader marked as owned).
        FUZZ_CHECK(e.error().code == "no_reader_slot");
      }
      (void)client->generation();
      (void)client->attachments();
    } else {
      FUZZ_CHECK(!client.error().code.empty());
    }
  }

  // Back to the sound arena for the next input; the reader-slot segment whole (the client wrote
  // its slot there).
  for (auto& p : patches) std::memcpy(p.segment->bytes + p.offset, p.segment->pristine.data() + p.offset, p.length);
  std::memcpy(arena.readers.bytes, arena.readers.pristine.data(), arena.readers.size);
  return 0;
}
