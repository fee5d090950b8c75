// Creating, naming and mapping the two shared-memory segments (writer and reader side).
// Boost.Interprocess creates and maps them; everything else here is the Linux specifics that
// Boost does not cover: page reservation, group ownership, atomic replacement by rename, and
// OFD byte-range locks for reader liveness.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "roster/base/result.hpp"

namespace roster::shm::detail {

std::string data_segment_name(const std::string& name);    // "roster.<name>.data"
std::string reader_segment_name(const std::string& name);  // "roster.<name>.readers"

// A mapped segment; unmapped (and the fd closed) on destruction. Never unlinks by itself.
class Mapping {
 public:
  // Creates `shm_name` (failing if it exists), sizes it, reserves every page (so a too-small
  // /dev/shm is an error now, never a SIGBUS later) and maps it read-write. Errors: Io.
  static Result<std::unique_ptr<Mapping>> create(const std::string& shm_name, size_t bytes, mode_t mode,
                                                 std::optional<gid_t> group);
  enum class Access {
    ReadWrite,
    ReadOnly,
    // Read-only, inside a window of zero pages (kGuardBelow before, kGuardAbove after): a read
    // that a corrupt record sends out of the segment (a FlatBuffers offset is at most 32 bits,
    // and our schema nests a few of them) finds zeros instead of raising a signal. Falls back to
    // a plain read-only mapping when the address space cannot be reserved (RLIMIT_AS).
    ReadOnlyGuarded,
  };
  static constexpr size_t kGuardBelow = size_t{4} << 30, kGuardAbove = size_t{64} << 30;

  // Maps an existing segment. Errors: NotFound (no such segment), Io.
  static Result<std::unique_ptr<Mapping>> open(const std::string& shm_name, Access access);

  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  void* base() const { return base_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  uid_t owner() const { return owner_; }  // as the file said when it was mapped
  mode_t mode() const { return mode_; }
  bool guarded() const { return region_ != base_; }

 private:
  Mapping(int fd, void* base, size_t size) : fd_(fd), base_(base), size_(size), region_(base), region_size_(size) {}
  int fd_;
  void* base_;
  size_t size_;
  void* region_;  // what to unmap: the guard window, or the segment alone
  size_t region_size_;
  uid_t owner_ = 0;
  mode_t mode_ = 0;
};

// Atomically gives segment `from` the name `to` (replacing any segment of that name; processes
// that mapped the old one keep their mapping).
Result<void> rename_segment(const std::string& from, const std::string& to);
void remove_segment(const std::string& shm_name);  // no error if it does not exist

// OFD byte-range locks on a reader-slot segment: held by a live reader, released by the kernel
// when its process dies (the lock belongs to the open file description, so it works across PID
// namespaces and threads, unlike classic POSIX locks).
bool lock_range(int fd, uint64_t offset, uint64_t length);    // false if someone else holds it
void unlock_range(int fd, uint64_t offset, uint64_t length);
bool range_is_locked(int fd, uint64_t offset, uint64_t length);  // by another open file description

}  // namespace roster::shm::detail
