#include "attachment.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <cstdio>
#include <cstdlib>

namespace roster::shm::detail {

namespace {

Unexpected<Error> corrupt(const std::string& path, const std::string& why) {
  return fail(ErrorKind::Corrupt, "not_an_arena", path + " is not a valid roster arena: " + why);
}

// The uid the arena's files must belong to, if one is required.
std::optional<uid_t> configured_owner(const OwnerRule& rule) {
  if (rule.owner) return rule.owner;
  if (const char* env = std::getenv("ROSTER_ARENA_OWNER"); env && *env) {
    char* end = nullptr;
    const unsigned long uid = std::strtoul(env, &end, 10);
    if (end && *end == '\0') return static_cast<uid_t>(uid);
  }
  return std::nullopt;
}

// A reader trusts files that root, its own user or the configured owner made, and that nobody
// else may write: anyone else could have created the name first and filled it with lies.
Result<void> check_trusted(const Mapping& m, const std::string& path, const OwnerRule& rule, mode_t forbidden) {
  const auto wanted = configured_owner(rule);
  const bool owner_ok = wanted ? m.owner() == *wanted : m.owner() == 0 || m.owner() == ::geteuid();
  if (!owner_ok)
    return fail(ErrorKind::Unauthorized, "untrusted_arena",
                path + " belongs to uid " + std::to_string(m.owner()) + ", not " +
                    (wanted ? "uid " + std::to_string(*wanted) : std::string("root or this user")) +
                    " (set ROSTER_ARENA_OWNER to the agent's uid if it runs as another user)");
  if (m.mode() & forbidden) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(m.mode() & 07777));
    return fail(ErrorKind::Unauthorized, "untrusted_arena",
                path + " is writable by " + ((m.mode() & forbidden & S_IWOTH) ? "anyone" : "its group") + " (mode " +
                    mode + "): refused");
  }
  return {};
}

bool table_fits(uint64_t offset, uint64_t capacity, uint64_t entry, uint64_t size) {
  return capacity > 0 && std::has_single_bit(capacity) && offset % 8 == 0 && offset >= sizeof(SegmentHeader) &&
         offset <= size && capacity <= (size - offset) / entry;
}

// Every place the reader will follow, checked against the mapped size once.
Result<Bounds> validate(const SegmentHeader& h, const Mapping& m, const std::string& path) {
  const uint64_t size = m.size();
  if (h.header_bytes != sizeof(SegmentHeader)) return corrupt(path, "header size " + std::to_string(h.header_bytes));
  if (h.segment_bytes != size)
    return corrupt(path, "the header says " + std::to_string(h.segment_bytes) + " bytes, the file has " +
                             std::to_string(size));
  Bounds b;
  b.base = static_cast<const char*>(m.base());
  b.size = size;
  if (!table_fits(h.service_table, h.service_capacity, sizeof(ServiceSlot), size))
    return corrupt(path, "the service table does not fit");
  for (uint64_t table : {h.team_table, h.tag_table, h.contract_table})
    if (!table_fits(table, h.key_capacity, sizeof(ListSlot), size)) return corrupt(path, "a key table does not fit");
  if (!table_fits(h.dependents_table, h.dependents_capacity, sizeof(ListSlot), size))
    return corrupt(path, "the dependents table does not fit");
  if (h.stage_lists % 8 != 0 || h.stage_lists < sizeof(SegmentHeader) || h.stage_lists > size ||
      size - h.stage_lists < kStageCount * sizeof(ListHead))
    return corrupt(path, "the stage lists do not fit");
  if (h.heap_offset < sizeof(SegmentHeader) || h.heap_offset > size) return corrupt(path, "the heap does not fit");
  if (h.federated > kMaxRegistries) return corrupt(path, "the header names more registries than an arena holds");
  b.services = reinterpret_cast<const ServiceSlot*>(b.base + h.service_table);
  b.service_mask = h.service_capacity - 1;
  b.team_table = h.team_table;
  b.tag_table = h.tag_table;
  b.dependents_table = h.dependents_table;
  b.contract_table = h.contract_table;
  b.key_mask = h.key_capacity - 1;
  b.dependents_mask = h.dependents_capacity - 1;
  b.stage_lists = h.stage_lists;
  b.registries = h.federated;
  b.heap = {h.heap_offset, size};
  return b;
}

}  // namespace

Result<std::unique_ptr<Attachment>> attach(const std::string& name, uint64_t epoch, const OwnerRule& rule) {
  const std::string data_path = "/dev/shm/" + data_segment_name(name);
  const std::string readers_path = "/dev/shm/" + reader_segment_name(name);
  // The writer names the reader segment first and the data segment second; a reader that
  // races a replacement can see a new reader segment with an old data segment: retry.
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto data = Mapping::open(data_segment_name(name), Mapping::Access::ReadOnlyGuarded);
    if (!data && data.error().kind == ErrorKind::NotFound)
      return fail(ErrorKind::NotFound, "no_arena",
                  "no roster arena named \"" + name + "\" (" + data_path + " is missing: is roster-agent running?)");
    if (!data) return fail(data.error());
    // Readers never write the data segment: its group may not either.
    if (auto trusted = check_trusted(**data, data_path, rule, S_IWGRP | S_IWOTH); !trusted) return fail(trusted.error());
    // The magic number and the layout version first: every layout's header starts with them, so
    // another version's arena (whose header may be shorter) is named as such.
    const auto* prefix = static_cast<const uint8_t*>((*data)->base());
    uint64_t magic = 0;
    uint32_t layout = 0;
    if ((*data)->size() < sizeof magic + sizeof layout) return corrupt(data_path, "shorter than its header");
    std::memcpy(&magic, prefix, sizeof magic);
    std::memcpy(&layout, prefix + offsetof(SegmentHeader, layout_version), sizeof layout);
    if (magic != kSegmentMagic) return corrupt(data_path, "wrong magic number");
    if (layout == kLayoutVersion && (*data)->size() < sizeof(SegmentHeader))
      return corrupt(data_path, "shorter than its header");
    auto* h = static_cast<const SegmentHeader*>((*data)->base());
    if (layout != kLayoutVersion)
      return fail(ErrorKind::Conflict, "layout_mismatch",
                  "arena \"" + name + "\" has layout version " + std::to_string(layout) +
                      "; this client reads version " + std::to_string(kLayoutVersion) +
                      " (upgrade the client or the agent)");
    auto bounds = validate(*h, **data, data_path);
    if (!bounds) return fail(bounds.error());

    auto readers = Mapping::open(reader_segment_name(name), Mapping::Access::ReadWrite);
    if (!readers && readers.error().kind == ErrorKind::NotFound)
      return fail(ErrorKind::NotFound, "no_arena", readers_path + " is missing");
    if (!readers) return fail(readers.error());
    if (auto trusted = check_trusted(**readers, readers_path, rule, S_IWOTH); !trusted) return fail(trusted.error());
    auto* rh = static_cast<ReaderSegmentHeader*>((*readers)->base());
    if ((*readers)->size() < sizeof(ReaderSegmentHeader) || rh->magic != kReaderMagic ||
        rh->layout_version != kLayoutVersion)
      return corrupt(readers_path, "not a reader-slot segment");
    if (h->instance_id != rh->instance_id) {
      usleep(1000);
      continue;
    }
    auto a = std::make_unique<Attachment>();
    a->header = h;
    a->bounds = *bounds;
    a->slots = reinterpret_cast<ReaderSlot*>(static_cast<char*>((*readers)->base()) + sizeof(ReaderSegmentHeader));
    // Every reader may write this file: its header's slot count is only a claim; the file's size
    // is what bounds the slots.
    const uint64_t fit = ((*readers)->size() - sizeof(ReaderSegmentHeader)) / sizeof(ReaderSlot);
    a->slot_count = static_cast<uint32_t>(std::min<uint64_t>({rh->slot_count, fit, UINT32_MAX}));
    a->epoch = epoch;
    a->data = std::move(*data);
    a->readers = std::move(*readers);
    return a;
  }
  return fail(ErrorKind::Io, "io_error",
              "arena \"" + name + "\" keeps changing under the reader; is more than one agent running?");
}

}  // namespace roster::shm::detail
