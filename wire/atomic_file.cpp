#include "wire/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace roster::wire {

bool write_file_atomically(const std::string& path, std::span<const uint8_t> bytes, std::string& why) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return why = "cannot create " + tmp + ": " + std::strerror(errno), false;
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    why = "cannot sync " + tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    why = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  // The rename itself is durable once the directory is synced.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

std::optional<AlignedBytes> read_file_aligned(const std::string& path, std::string& why) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return why = "cannot read " + path + ": " + std::strerror(errno), std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    why = "cannot stat " + path + ": " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  AlignedBytes out;
  out.size = static_cast<size_t>(st.st_size);
  out.words.resize((out.size + 7) / 8);
  size_t done = 0;
  auto* dst = reinterpret_cast<uint8_t*>(out.words.data());
  while (done < out.size) {
    ssize_t n = ::read(fd, dst + done, out.size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = "cannot read " + path + ": " + (n < 0 ? std::strerror(errno) : "file shrank while reading");
      ::close(fd);
      return std::nullopt;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}

}  // namespace roster::wire
