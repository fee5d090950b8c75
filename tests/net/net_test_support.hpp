// Helpers for the net tests: an event loop running in its own thread, a temporary directory, and
// blocking socket I/O with timeouts (so a broken server fails a test instead of hanging it).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "roster/net/event_loop.hpp"

namespace roster::net::testing {

using namespace std::chrono_literals;

// An EventLoop whose run() is in a background thread; call() runs a function on it and waits.
class LoopThread {
 public:
  LoopThread() : thread_([this] { loop.run(); }) {}
  ~LoopThread() { stop(); }

  template <class F>
  auto call(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    loop.post([&task] { task(); });
    return result.get();
  }

  void stop() {
    if (thread_.joinable()) {
      loop.stop();
      thread_.join();
    }
  }

  EventLoop loop;

 private:
  std::thread thread_;
};

// Polls `condition` (on the calling thread) until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "roster-net-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::system_category(), "mkdtemp");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Closes an fd at scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  operator int() const { return fd; }
};

// A blocking TCP connection to 127.0.0.1:port from a local address of the test's choosing: Linux
// routes all of 127.0.0.0/8 to lo, so "127.0.0.2" is a second client on the same host.
inline int connect_from(const char* local_ip, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "socket");
  sockaddr_in local{}, server{};
  local.sin_family = server.sin_family = AF_INET;
  ::inet_pton(AF_INET, local_ip, &local.sin_addr);
  server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  server.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0) {
    int err = errno;
    ::close(fd);
    throw std::system_error(err, std::system_category(), std::string("connect from ") + local_ip);
  }
  return fd;
}

inline void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::system_category(), "test write");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// One recv with a timeout: the bytes, "" at EOF; throws on timeout or error.
inline std::string read_some(int fd, std::chrono::milliseconds timeout = 5s) {
  pollfd p{fd, POLLIN, 0};
  int ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (ready == 0) throw std::runtime_error("test read timed out");
  char buf[65536];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n < 0) throw std::system_error(errno, std::system_category(), "test read");
  return std::string(buf, static_cast<size_t>(n));
}

inline std::string read_exact(int fd, size_t size, std::chrono::milliseconds timeout = 5s) {
  std::string out;
  while (out.size() < size) {
    std::string chunk = read_some(fd, timeout);
    if (chunk.empty()) throw std::runtime_error("test read: EOF after " + std::to_string(out.size()) + " bytes");
    out += chunk;
  }
  return out;
}

// Reads until the peer closes (or resets) the connection.
inline std::string read_until_close(int fd, std::chrono::milliseconds timeout = 5s) {
  std::string out;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) == 0) throw std::runtime_error("test read: no EOF in time");
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return out;
    if (n < 0) throw std::system_error(errno, std::system_category(), "test read");
    out.append(buf, static_cast<size_t>(n));
  }
}

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// Reads one Content-Length-framed HTTP response; `leftover` carries bytes across calls.
inline RawResponse read_raw_response(int fd, std::string& leftover, std::chrono::milliseconds timeout = 5s) {
  size_t end;
  while ((end = leftover.find("\r\n\r\n")) == std::string::npos) {
    std::string chunk = read_some(fd, timeout);
    if (chunk.empty()) throw std::runtime_error("test read: EOF inside a response head: " + leftover);
    leftover += chunk;
  }
  RawResponse r;
  r.head = leftover.substr(0, end + 2);
  leftover.erase(0, end + 4);
  r.status = std::stoi(r.head.substr(9, 3));
  size_t length = 0;
  for (std::string_view key : {"Content-Length: ", "content-length: "}) {
    if (size_t at = r.head.find(key); at != std::string::npos) length = std::stoul(r.head.substr(at + key.size()));
  }
  while (leftover.size() < length) {
    std::string chunk = read_some(fd, timeout);
    if (chunk.empty()) throw std::runtime_error("test read: EOF inside a response body");
    leftover += chunk;
  }
  r.body = leftover.substr(0, length);
  leftover.erase(0, length);
  return r;
}

}  // namespace roster::net::testing
