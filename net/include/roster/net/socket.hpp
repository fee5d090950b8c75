// Socket helpers: addresses, listeners and blocking connects. Every function that makes an fd
// returns it close-on-exec and throws std::system_error naming the address on failure.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace roster::net {

// A parsed socket address: TCP over IPv4/IPv6, or a Unix-domain socket path.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  bool is_unix() const { return storage.ss_family == AF_UNIX; }
  // "127.0.0.1:7000", "[::1]:7000" or "unix:/run/roster.sock".
  std::string to_string() const;
};

// "127.0.0.1:7000", "[::1]:7000", "localhost:7000" (names resolve through getaddrinfo, IPv4
// preferred: call it at startup, not on the event loop), or "unix:/path/to.sock". Port 0 is
// accepted (listen on an ephemeral port). Throws std::invalid_argument saying what is wrong.
SocketAddress parse_address(std::string_view text);

// Non-blocking, close-on-exec listeners (ready for EventLoop::accept). SO_REUSEADDR is set so a
// restarted server can rebind while old connections sit in TIME_WAIT.
int listen_tcp(const std::string& host, uint16_t port, int backlog = SOMAXCONN);
// Removes a stale socket file (one nobody listens on) first; refuses to replace a live socket or
// a file that is not a socket. The caller unlinks the path when it is done.
int listen_unix(const std::string& path, int backlog = SOMAXCONN);
int listen_on(const SocketAddress& address, int backlog = SOMAXCONN);
// The port a TCP socket is bound to (after listen_tcp(host, 0)).
uint16_t local_port(int fd);
// What a listener bound to `requested` actually listens on: the port filled in when it was 0.
std::string bound_address(const SocketAddress& requested, int listen_fd);

// Blocking connects for the CLI and tests: the fd is returned in blocking mode, with TCP_NODELAY
// on TCP. Errors read like "connect to 127.0.0.1:7000: Connection refused" or "connect to
// 127.0.0.1:7000: timed out after 5000 ms" (std::errc::timed_out).
int connect_blocking(const SocketAddress& address,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));
int connect_tcp_blocking(const std::string& host, uint16_t port,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));
int connect_unix_blocking(const std::string& path,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A non-blocking, close-on-exec stream socket of the address's family (for EventLoop::connect).
int open_stream_socket(const SocketAddress& address);

void set_nonblocking(int fd, bool on = true);
// Small frames and responses go out at once instead of waiting for an ACK (Nagle). A no-op on
// Unix-domain sockets.
void set_tcp_nodelay(int fd, bool on = true);

}  // namespace roster::net
