#include "cache_file.hpp"

#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <sys/stat.h>

#include "roster/wire/verify.hpp"

namespace roster::agent {

namespace {

constexpr uint64_t kMagic = 0x48434143'52545352;  // "RSTRCACH"
constexpr uint32_t kFormat = 1;

struct Header {
  uint64_t magic;
  uint32_t format;
  uint32_t reserved;
  uint64_t payload_bytes;
  uint64_t checksum;  // XXH3-64, seed 0, of the payload
};
static_assert(sizeof(Header) == 32);  // keeps the payload 8-aligned

Unexpected<Error> corrupt(const std::string& path, const std::string& why) {
  return fail(ErrorKind::Corrupt, "corrupt_cache", path + ": " + why, path);
}

}  // namespace

Result<void> write_cache_file(const std::string& path, std::span<const uint8_t> snapshot) {
  Header h{kMagic, kFormat, 0, snapshot.size(), XXH3_64bits(snapshot.data(), snapshot.size())};
  std::vector<uint8_t> file(sizeof h + snapshot.size());
  std::memcpy(file.data(), &h, sizeof h);
  std::memcpy(file.data() + sizeof h, snapshot.data(), snapshot.size());
  return base::write_file_atomically(path, file, 0600);
}

Result<CachedState> read_cache_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT)
    return fail(ErrorKind::NotFound, "no_cache", path + " does not exist", path);
  auto file = base::read_file_aligned(path);
  if (!file) return fail(file.error());
  const auto bytes = file->bytes();
  Header h{};
  if (bytes.size() < sizeof h) return corrupt(path, "shorter than its header");
  std::memcpy(&h, bytes.data(), sizeof h);
  if (h.magic != kMagic) return corrupt(path, "not a roster cache file");
  if (h.format != kFormat) return corrupt(path, "cache format " + std::to_string(h.format) + " (this agent reads 1)");
  if (h.payload_bytes != bytes.size() - sizeof h)
    return corrupt(path, "the header says " + std::to_string(h.payload_bytes) + " bytes, the file holds " +
                             std::to_string(bytes.size() - sizeof h));
  const auto payload = bytes.subspan(sizeof h);
  if (XXH3_64bits(payload.data(), payload.size()) != h.checksum) return corrupt(path, "checksum mismatch");
  if (auto valid = wire::verify<wire::Snapshot>(payload); !valid) return corrupt(path, valid.error().message);
  CachedState out;
  out.file = std::move(*file);
  out.snapshot = flatbuffers::GetRoot<wire::Snapshot>(out.file.bytes().data() + sizeof h);
  return out;
}

}  // namespace roster::agent
