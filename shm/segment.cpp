#include "segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstring>

namespace roster::shm::detail {

namespace bip = boost::interprocess;

std::string data_segment_name(const std::string& name) { return "roster." + name + ".data"; }
std::string reader_segment_name(const std::string& name) { return "roster." + name + ".readers"; }

namespace {

std::string errno_text(int e) { return std::strerror(e); }

Unexpected<Error> io_error(std::string message) { return fail(ErrorKind::Io, "io_error", std::move(message)); }

// mmap the fd ourselves: a Boost mapped_region would unmap when it goes out of scope, and we
// want the mapping's lifetime tied to Mapping, not to a Boost object.
Result<void*> map_fd(int fd, size_t bytes, bool writable, const std::string& what) {
  void* base = ::mmap(nullptr, bytes, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return io_error("cannot map " + what + ": " + errno_text(errno));
  return base;
}

// Boost opens the object; we keep a dup of its fd and let Boost close its own.
Result<int> dup_fd(const bip::shared_memory_object& shm, const std::string& what) {
  int fd = ::fcntl(shm.get_mapping_handle().handle, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return io_error("cannot duplicate the descriptor of " + what + ": " + errno_text(errno));
  return fd;
}

}  // namespace

Result<std::unique_ptr<Mapping>> Mapping::create(const std::string& shm_name, size_t bytes, mode_t mode,
                                                 std::optional<gid_t> group) {
  const std::string what = "shared memory segment /dev/shm/" + shm_name;
  Result<int> fd = -1;
  try {
    bip::permissions perms(static_cast<unsigned>(mode));
    bip::shared_memory_object shm(bip::create_only, shm_name.c_str(), bip::read_write, perms);
    fd = dup_fd(shm, what);
  } catch (const bip::interprocess_exception& e) {
    return io_error("cannot create " + what + ": " + e.what());
  }
  if (!fd) return fail(fd.error());
  auto abandon = [&](const std::string& message) {
    ::close(*fd);
    bip::shared_memory_object::remove(shm_name.c_str());
    return io_error(message);
  };
  // The umask may have narrowed the mode; the caller asked for exactly this one.
  if (::fchmod(*fd, mode) != 0) return abandon("cannot set the mode of " + what + ": " + errno_text(errno));
  if (group && ::fchown(*fd, static_cast<uid_t>(-1), *group) != 0)
    return abandon("cannot give " + what + " to group " + std::to_string(*group) + ": " + errno_text(errno));
  if (::ftruncate(*fd, static_cast<off_t>(bytes)) != 0) return abandon("cannot size " + what + ": " + errno_text(errno));
  // Reserve every page now: tmpfs allocates lazily, and a write past what /dev/shm can hold
  // would otherwise kill the writer with SIGBUS at some later, arbitrary moment.
  if (int e = ::posix_fallocate(*fd, 0, static_cast<off_t>(bytes)); e != 0)
    return abandon("cannot reserve " + std::to_string(bytes) + " bytes for " + what + ": " + errno_text(e) +
                   (e == ENOSPC ? " (/dev/shm is too small: enlarge it, e.g. --shm-size for containers, or ask for a "
                                  "smaller segment)"
                                : ""));
  auto base = map_fd(*fd, bytes, true, what);
  if (!base) return abandon(base.error().message);
  return std::unique_ptr<Mapping>(new Mapping(*fd, *base, bytes));
}

Result<std::unique_ptr<Mapping>> Mapping::open(const std::string& shm_name, Access access) {
  const bool writable = access == Access::ReadWrite;
  const std::string what = "shared memory segment /dev/shm/" + shm_name;
  Result<int> fd = -1;
  try {
    bip::shared_memory_object shm(bip::open_only, shm_name.c_str(), writable ? bip::read_write : bip::read_only);
    fd = dup_fd(shm, what);
  } catch (const bip::interprocess_exception& e) {
    if (e.get_error_code() == bip::not_found_error)
      return fail(ErrorKind::NotFound, "no_segment", "/dev/shm/" + shm_name + " does not exist");
    return io_error("cannot open " + what + ": " + e.what());
  }
  if (!fd) return fail(fd.error());
  struct stat st {};
  if (::fstat(*fd, &st) != 0) {
    const int e = errno;
    ::close(*fd);
    return io_error("cannot stat " + what + ": " + errno_text(e));
  }
  const auto size = static_cast<size_t>(st.st_size);
  std::unique_ptr<Mapping> mapping;
  if (access == Access::ReadOnlyGuarded && size > 0) {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    const size_t window = kGuardBelow + (size + page - 1) / page * page + kGuardAbove;
    // Anonymous, private and read-only: the guard pages all map the kernel's zero page and
    // commit no memory (NORESERVE).
    void* region = ::mmap(nullptr, window, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region != MAP_FAILED) {
      void* base = static_cast<char*>(region) + kGuardBelow;
      if (::mmap(base, size, PROT_READ, MAP_SHARED | MAP_FIXED, *fd, 0) == MAP_FAILED) {
        const int e = errno;
        ::munmap(region, window);
        ::close(*fd);
        return io_error("cannot map " + what + ": " + errno_text(e));
      }
      mapping.reset(new Mapping(*fd, base, size));
      mapping->region_ = region;
      mapping->region_size_ = window;
    }
  }
  if (!mapping) {
    auto base = map_fd(*fd, size, writable, what);
    if (!base) {
      ::close(*fd);
      return fail(base.error());
    }
    mapping.reset(new Mapping(*fd, *base, size));
  }
  mapping->owner_ = st.st_uid;
  mapping->mode_ = st.st_mode;
  return mapping;
}

Mapping::~Mapping() {
  ::munmap(region_, region_size_);
  ::close(fd_);
}

Result<void> rename_segment(const std::string& from, const std::string& to) {
  // POSIX shared memory objects live in /dev/shm on Linux, where rename(2) is atomic.
  if (::rename(("/dev/shm/" + from).c_str(), ("/dev/shm/" + to).c_str()) != 0)
    return io_error("cannot rename /dev/shm/" + from + " to /dev/shm/" + to + ": " + errno_text(errno));
  return {};
}

void remove_segment(const std::string& shm_name) { bip::shared_memory_object::remove(shm_name.c_str()); }

namespace {
struct flock range_lock(short type, uint64_t offset, uint64_t length) {
  struct flock fl {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(offset);
  fl.l_len = static_cast<off_t>(length);
  return fl;
}
}  // namespace

bool lock_range(int fd, uint64_t offset, uint64_t length) {
  auto fl = range_lock(F_WRLCK, offset, length);
  return ::fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

void unlock_range(int fd, uint64_t offset, uint64_t length) {
  auto fl = range_lock(F_UNLCK, offset, length);
  ::fcntl(fd, F_OFD_SETLK, &fl);
}

bool range_is_locked(int fd, uint64_t offset, uint64_t length) {
  auto fl = range_lock(F_WRLCK, offset, length);
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) return true;  // cannot tell: assume alive, never free early
  return fl.l_type != F_UNLCK;
}

}  // namespace roster::shm::detail
