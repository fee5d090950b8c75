// clean_up_abandoned (roster/shm/writer.hpp): replacement segments a dead writer left in /dev/shm.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <optional>

#include "roster/detail/layout.hpp"
#include "roster/shm/writer.hpp"
#include "segment.hpp"

namespace roster::shm {

using namespace detail;

namespace {

constexpr std::string_view kPending = ".new.";  // ArenaWriter's temporary names: <name>.new.<pid>.<n>

// The suffixes (".new.<pid>.<n>") of the segments in /dev/shm named `prefix` + suffix.
std::vector<std::string> pending_suffixes(const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string file = entry.path().filename().string();
    if (file.size() > prefix.size() && file.starts_with(prefix) &&
        std::string_view(file).substr(prefix.size()).starts_with(kPending))
      out.push_back(file.substr(prefix.size()));
  }
  return out;
}

bool ours(const Mapping& m) { return ::geteuid() == 0 || m.owner() == ::geteuid(); }

// The instance id in a segment's header, when it is one of this layout.
std::optional<uint64_t> data_instance(const Mapping& m) {
  if (m.size() < sizeof(SegmentHeader)) return std::nullopt;
  auto* h = static_cast<const SegmentHeader*>(m.base());
  if (h->magic != kSegmentMagic || h->layout_version != kLayoutVersion) return std::nullopt;
  return h->instance_id;
}
std::optional<uint64_t> readers_instance(const Mapping& m) {
  if (m.size() < sizeof(ReaderSegmentHeader)) return std::nullopt;
  auto* h = static_cast<const ReaderSegmentHeader*>(m.base());
  if (h->magic != kReaderMagic || h->layout_version != kLayoutVersion) return std::nullopt;
  return h->instance_id;
}

std::optional<uint64_t> named_instance(const std::string& shm_name, bool data) {
  auto m = Mapping::open(shm_name, Mapping::Access::ReadOnly);
  if (!m) return std::nullopt;
  return data ? data_instance(**m) : readers_instance(**m);
}

bool exists(const std::string& shm_name) { return std::filesystem::exists("/dev/shm/" + shm_name); }

// Marks a segment that lost the name replaced, as ArenaWriter::take_name does when it publishes.
void mark_replaced(Mapping& old) {
  if (!data_instance(old)) return;
  auto* h = static_cast<SegmentHeader*>(old.base());
  // Release: pairs with the readers' acquire load of `replaced` (as in ArenaWriter::take_name).
  h->replaced.store(1, std::memory_order_release);
  h->generation_word.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, &h->generation_word, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

}  // namespace

AbandonedSegments clean_up_abandoned(const std::string& name) {
  AbandonedSegments out;
  const std::string data_name = data_segment_name(name), reader_name = reader_segment_name(name);
  const auto named_readers = named_instance(reader_name, false);
  for (const auto& suffix : pending_suffixes(data_name)) {
    auto data = Mapping::open(data_name + suffix, Mapping::Access::ReadOnly);
    if (!data || !ours(**data) || range_is_locked((*data)->fd(), 0, 1)) continue;  // gone, not ours, or live
    const auto instance = data_instance(**data);
    const bool mine = (*data)->owner() == ::geteuid();  // never give the name to another user's file
    data->reset();
    // Its readers segment has the name, the data segment has not: the writer died in between.
    if (mine && instance && instance == named_readers && !exists(reader_name + suffix) &&
        named_instance(data_name, true) != instance) {
      auto old = Mapping::open(data_name, Mapping::Access::ReadWrite);  // to mark it once renamed over
      if (rename_segment(data_name + suffix, data_name)) {
        if (old) mark_replaced(**old);
        out.publish_finished = true;
        continue;
      }
    }
    remove_segment(data_name + suffix);
    ++out.removed;
    if (exists(reader_name + suffix)) {
      remove_segment(reader_name + suffix);
      ++out.removed;
    }
  }
  // A readers segment whose data segment is gone: its writer died while removing the pair.
  for (const auto& suffix : pending_suffixes(reader_name)) {
    if (exists(data_name + suffix)) continue;
    auto readers = Mapping::open(reader_name + suffix, Mapping::Access::ReadOnly);
    if (!readers || !ours(**readers)) continue;
    readers->reset();
    remove_segment(reader_name + suffix);
    ++out.removed;
  }
  return out;
}

}  // namespace roster::shm
