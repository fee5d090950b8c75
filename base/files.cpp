#include "roster/base/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace roster::base {

namespace {

auto io_error(const std::string& what, const std::string& path, int error) {
  return fail(ErrorKind::Io, "io_error", what + " " + path + ": " + std::strerror(error), path);
}

// Reads the whole of `path` into storage that `resize(bytes)` provides (and returns a pointer to).
template <typename Resize>
Result<size_t> read_into(const std::string& path, size_t max_bytes, Resize&& resize) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot read", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return io_error("cannot stat", path, e);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    return fail(ErrorKind::TooLarge, "file_too_large",
                path + " is " + std::to_string(size) + " bytes; the limit is " + std::to_string(max_bytes) + " bytes",
                path);
  }
  auto* dst = static_cast<uint8_t*>(resize(size));
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, dst + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int e = n < 0 ? errno : EIO;
      ::close(fd);
      if (n == 0) return fail(ErrorKind::Io, "io_error", "cannot read " + path + ": the file shrank while reading", path);
      return io_error("cannot read", path, e);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return size;
}

}  // namespace

Result<void> write_file_atomically(const std::string& path, std::span<const uint8_t> bytes, mode_t mode) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return io_error("cannot create", tmp, errno);
  auto abandon = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error(what, tmp, e);
  };
  // The umask may have narrowed the mode; the caller asked for exactly this one.
  if (::fchmod(fd, mode) != 0) return abandon("cannot set the mode of");
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return abandon("cannot write");
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("cannot sync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return io_error("cannot close", tmp, e);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return fail(ErrorKind::Io, "io_error", "cannot rename " + tmp + " to " + path + ": " + std::strerror(e), path);
  }
  // The rename itself is durable once the directory is synced.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Result<AlignedBytes> read_file_aligned(const std::string& path, size_t max_bytes) {
  AlignedBytes out;
  auto size = read_into(path, max_bytes, [&](size_t bytes) {
    out.words.resize((bytes + 7) / 8);
    return static_cast<void*>(out.words.data());
  });
  if (!size) return fail(std::move(size).error());
  out.size = *size;
  return out;
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  std::string out;
  auto size = read_into(path, max_bytes, [&](size_t bytes) {
    out.resize(bytes);
    return static_cast<void*>(out.data());
  });
  if (!size) return fail(std::move(size).error());
  return out;
}

}  // namespace roster::base
