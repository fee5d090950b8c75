// Fuzz harness: roster-agent's cache file (agent/cache_file.hpp), read at a warm start from a
// path anyone with write access to its folder could have replaced.
//
// Input: one mode byte, then the payload.
//   even: the payload is the whole file (header and all): the header and checksum checks;
//   odd:  the payload goes behind a valid header with its checksum, so it reaches the Snapshot's
//         verification (this is what write_cache_file writes).
// A file read_cache_file accepts has a verified Snapshot: its records are opened and read the way
// warm_start() does.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>

#include "frame_batch.hpp"
#include "cache_file.hpp"
#include "fuzz_support.hpp"
#include "records.hpp"
#include "roster/wire/snapshot.hpp"

namespace {

using namespace roster;

// The file lives in memory (memfd) and is read through /proc/self/fd/N like any path: nothing is
// left on disk, however the process ends (libFuzzer ends its runs without running atexit).
const std::string& cache_path() {
  static const std::string path = [] {
    const int fd = ::memfd_create("roster-fuzz-cache", 0);
    FUZZ_CHECK(fd >= 0);
    return "/proc/self/fd/" + std::to_string(fd);
  }();
  return path;
}

void write_file(const std::string& path, std::span<const uint8_t> a, std::span<const uint8_t> b) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC);
  FUZZ_CHECK(fd >= 0);
  for (auto part : {a, b}) {
    size_t done = 0;
    while (done < part.size()) {
      const ssize_t n = ::write(fd, part.data() + done, part.size() - done);
      FUZZ_CHECK(n > 0);
      done += static_cast<size_t>(n);
    }
  }
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> payload(data + 1, size - 1);
  if (data[0] & 1) {
    // The header write_cache_file writes: magic "RSTRCACH", format 1, reserved, size, XXH3-64.
    uint8_t header[32] = {};
    const uint64_t magic = 0x48434143'52545352, bytes = payload.size(), sum = XXH3_64bits(payload.data(), payload.size());
    const uint32_t format = 1;
    std::memcpy(header, &magic, 8);
    std::memcpy(header + 8, &format, 4);
    std::memcpy(header + 16, &bytes, 8);
    std::memcpy(header + 24, &sum, 8);
    write_file(cache_path(), header, payload);
  } else {
    write_file(cache_path(), payload, {});
  }

  auto cached = agent::read_cache_file(cache_path());
  if (!cached) {
    const auto kind = cached.error().kind;
    FUZZ_CHECK(kind == ErrorKind::Corrupt || kind == ErrorKind::Io);
    return 0;
  }
  FUZZ_CHECK(cached->snapshot != nullptr);
  const wire::Snapshot& snap = *cached->snapshot;
  volatile size_t sink = snap.revision() + fuzz::touch(snap.store_id());
  auto records = wire::open_snapshot(snap);
  for (auto* v : records.versions) sink = sink + fuzz::touch(*v);
  for (auto* i : records.instances) sink = sink + fuzz::touch(*i);
  for (auto* c : records.contracts) sink = sink + fuzz::touch(*c);
  shm::Batch batch;  // as warm_start() hands it to the arena writer
  batch.revision = snap.revision();
  agent::add_snapshot(snap, batch);
  FUZZ_CHECK(batch.upsert_versions.size() == records.versions.size());
  return 0;
}
