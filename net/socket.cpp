#include "roster/net/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <utility>

#include "system_failure.hpp"

namespace roster::net {
namespace {

Unexpected<Error> listen_failed(int err, const std::string& what, std::string where) {
  return system_failure(ErrorKind::Io, "listen_failed", err, what, std::move(where));
}

// A bad fd given to a helper that cannot fail otherwise: a bug.
[[noreturn]] void broken(int err, const std::string& what) {
  throw Exception({ErrorKind::Invalid, "bad_socket", what + ": " + std::strerror(err)});
}

// Closes the fd unless released: every error path below returns early.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Unexpected<Error> bad_address(std::string_view text, const std::string& why) {
  return fail(ErrorKind::Invalid, "invalid_address", "invalid address \"" + std::string(text) + "\": " + why,
              std::string(text));
}

Result<uint16_t> parse_port(std::string_view text, std::string_view port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
    return bad_address(text, "port \"" + std::string(port) + "\" is not a number from 0 to 65535");
  return static_cast<uint16_t>(value);
}

Result<SocketAddress> resolve_host(std::string_view text, const std::string& host, uint16_t port) {
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0)
    return bad_address(text, "cannot resolve host \"" + host + "\": " + ::gai_strerror(rc));
  // Prefer IPv4: "localhost" often resolves to ::1 first while servers bind 127.0.0.1 by default.
  const addrinfo* pick = found;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
  }
  std::memcpy(&out.storage, pick->ai_addr, pick->ai_addrlen);
  out.length = pick->ai_addrlen;
  ::freeaddrinfo(found);
  if (out.family() == AF_INET) v4->sin_port = htons(port);
  else if (out.family() == AF_INET6) v6->sin6_port = htons(port);
  else return bad_address(text, "host \"" + host + "\" resolved to an unsupported address family");
  return out;
}

Result<int> socket_for(int family) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return system_failure(ErrorKind::Io, "socket_failed", errno, "socket()");
  return fd;
}

// "HOST:PORT" for parse_address, with a bare IPv6 host put in brackets.
std::string host_port(const std::string& host, uint16_t port) {
  bool bare_v6 = host.find(':') != std::string::npos && host.front() != '[';
  return (bare_v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family()) {
    case AF_INET: {
      auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
      ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
      return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
    }
    case AF_INET6: {
      auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
      ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
      return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
    }
    case AF_UNIX: {
      auto* a = reinterpret_cast<const sockaddr_un*>(&storage);
      size_t max = length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
      return "unix:" + std::string(a->sun_path, ::strnlen(a->sun_path, max));
    }
    default:
      return "(unknown address family " + std::to_string(family()) + ")";
  }
}

bool SocketAddress::is_local() const {
  switch (family()) {
    case AF_UNIX:
      return true;
    case AF_INET:
      return (ntohl(reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr) >> 24) == 127;
    case AF_INET6: {
      const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr;
      return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
    }
    default:
      return false;
  }
}

std::string peer_ip(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    // One client on a dual-stack listener is one address, however it is written.
    if (IN6_IS_ADDR_V4MAPPED(&a)) ::inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof buf);
    else ::inet_ntop(AF_INET6, &a, buf, sizeof buf);
  }
  return buf;
}

Result<SocketAddress> parse_address(std::string_view text) {
  constexpr std::string_view kUnix = "unix:";
  if (text.substr(0, kUnix.size()) == kUnix) {
    std::string_view path = text.substr(kUnix.size());
    SocketAddress out;
    auto* un = reinterpret_cast<sockaddr_un*>(&out.storage);
    if (path.empty()) return bad_address(text, "empty unix socket path");
    if (path.size() >= sizeof un->sun_path)
      return bad_address(text, "unix socket path is " + std::to_string(path.size()) + " bytes, the limit is " +
                                   std::to_string(sizeof un->sun_path - 1));
    if (path.find('\0') != std::string_view::npos) return bad_address(text, "unix socket path contains a NUL byte");
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return out;
  }
  std::string host;
  std::string_view port_text;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad_address(text, "missing ']' after an IPv6 address");
    host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad_address(text, "expected :PORT after ']'");
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad_address(text, "expected HOST:PORT or unix:PATH");
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (host.empty()) return bad_address(text, "missing host before ':'");
    if (host.find(':') != std::string::npos) return bad_address(text, "write IPv6 addresses in brackets: [ADDR]:PORT");
  }
  auto port = parse_port(text, port_text);
  if (!port) return fail(std::move(port).error());
  auto out = resolve_host(text, host, *port);
  if (out && bracketed && out->family() != AF_INET6)
    return bad_address(text, "\"" + host + "\" in brackets is not an IPv6 address");
  return out;
}

Result<int> listen_on(const SocketAddress& address, int backlog) {
  auto socket = socket_for(address.family());
  if (!socket) return fail(std::move(socket).error());
  FdGuard fd(*socket);
  std::string name = address.to_string();
  if (!address.is_unix()) {
    int one = 1;
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
      return listen_failed(errno, "setsockopt(SO_REUSEADDR) for " + name, name);
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0)
    return listen_failed(errno, "bind " + name, name);
  if (::listen(fd.get(), backlog) != 0) return listen_failed(errno, "listen on " + name, name);
  return fd.release();
}

Result<int> listen_tcp(const std::string& host, uint16_t port, int backlog) {
  auto address = parse_address(host_port(host, port));
  if (!address) return fail(std::move(address).error());
  return listen_on(*address, backlog);
}

Result<int> listen_unix(const std::string& path, int backlog) {
  auto address = parse_address("unix:" + path);
  if (!address) return fail(std::move(address).error());
  const std::string name = "unix:" + path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return listen_failed(EEXIST, "listen on " + name + ": the path exists and is not a socket", name);
    // A socket file outlives its server; it is stale when nobody accepts on it. A server that was
    // just killed can still take connections for a moment: the kernel tears down its io_uring
    // (which holds the listener through a pending accept) asynchronously after the process has
    // gone. So probe for a while: one refusal means stale; only a listener that answers
    // throughout is taken as live.
    bool live = true;
    for (int attempt = 0; attempt < 20 && live; ++attempt) {
      if (attempt > 0) ::usleep(50'000);
      auto socket = socket_for(AF_UNIX);
      if (!socket) return fail(std::move(socket).error());
      FdGuard probe(*socket);
      const int rc = ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address->storage), address->length);
      live = rc == 0 || errno == EAGAIN;  // EAGAIN: a listener with a full backlog
    }
    if (live) return listen_failed(EADDRINUSE, "listen on " + name + ": another server is listening there", name);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return listen_failed(errno, "remove stale socket file " + path, name);
  }
  return listen_on(*address, backlog);
}

Result<Listener> listen_at(std::string_view text, int backlog) {
  auto address = parse_address(text);
  if (!address) return fail(std::move(address).error());
  auto fd = listen_on(*address, backlog);
  if (!fd) return fail(std::move(fd).error());
  return Listener{*fd, bound_address(*address, *fd)};
}

uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) broken(errno, "getsockname");
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  broken(EAFNOSUPPORT, "local_port: fd " + std::to_string(fd) + " is not a TCP socket");
}

Result<int> connect_blocking(const SocketAddress& address, std::chrono::milliseconds timeout, std::string_view peer) {
  auto socket = socket_for(address.family());
  if (!socket) return fail(std::move(socket).error());
  FdGuard fd(*socket);
  const std::string name = peer.empty() ? address.to_string() : std::string(peer);
  auto refused = [&](int err) { return system_failure(ErrorKind::Unavailable, "connect_failed", err, "connect to " + name, name); };
  // Non-blocking connect + poll, so the timeout bounds an unresponsive host.
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    if (errno != EINPROGRESS) return refused(errno);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return system_failure(ErrorKind::Unavailable, "connect_timed_out", ETIMEDOUT,
                              "connect to " + name + " timed out after " + std::to_string(timeout.count()) + " ms", name);
      pollfd p{fd.get(), POLLOUT, 0};
      int rc = ::poll(&p, 1, static_cast<int>(left.count()));
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0) return system_failure(ErrorKind::Io, "io_error", errno, "poll while connecting to " + name, name);
      if (rc > 0) break;
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return refused(err);
  }
  set_nonblocking(fd.get(), false);
  if (!address.is_unix()) set_tcp_nodelay(fd.get(), true);
  return fd.release();
}

Result<int> connect_tcp_blocking(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  auto address = parse_address(host_port(host, port));
  if (!address) return fail(std::move(address).error());
  return connect_blocking(*address, timeout);
}

Result<int> connect_unix_blocking(const std::string& path, std::chrono::milliseconds timeout) {
  auto address = parse_address("unix:" + path);
  if (!address) return fail(std::move(address).error());
  return connect_blocking(*address, timeout);
}

Result<int> open_stream_socket(const SocketAddress& address) {
  auto fd = socket_for(address.family());
  if (fd && !address.is_unix()) set_tcp_nodelay(*fd, true);
  return fd;
}

void set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) broken(errno, "fcntl(F_GETFL)");
  int wanted = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (wanted != flags && ::fcntl(fd, F_SETFL, wanted) != 0) broken(errno, "fcntl(F_SETFL, O_NONBLOCK)");
}

void set_tcp_nodelay(int fd, bool on) {
  int value = on ? 1 : 0;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, sizeof value) != 0 && errno != EOPNOTSUPP &&
      errno != ENOPROTOOPT)
    broken(errno, "setsockopt(TCP_NODELAY)");
}

std::string bound_address(const SocketAddress& requested, int listen_fd) {
  const std::string text = requested.to_string();
  if (requested.is_unix()) return text;
  return text.substr(0, text.rfind(':') + 1) + std::to_string(local_port(listen_fd));
}

}  // namespace roster::net
