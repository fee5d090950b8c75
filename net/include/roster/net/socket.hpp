// Socket helpers: addresses, listeners and blocking connects. Every function that makes an fd
// returns it close-on-exec, or an Error (roster/base/result.hpp) whose message names the address
// and what went wrong, with `where` the address when there is one. Error codes:
//   invalid_address    Invalid      parse_address could not make sense of the text
//   listen_failed      Io           bind/listen refused ("bind 127.0.0.1:7000: Address already in use")
//   socket_failed      Io           socket() itself failed (out of descriptors, ...)
//   connect_failed     Unavailable  the peer refused or is unreachable
//   connect_timed_out  Unavailable  the peer did not answer within the timeout
//   io_error           Io           poll() failed while connecting
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "roster/base/result.hpp"

namespace roster::net {

// A parsed socket address: TCP over IPv4/IPv6, or a Unix-domain socket path.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  bool is_unix() const { return storage.ss_family == AF_UNIX; }
  // "127.0.0.1:7000", "[::1]:7000" or "unix:/run/roster.sock".
  std::string to_string() const;
  // Only this host can reach it: 127.0.0.0/8, ::1 (or an IPv4-mapped 127.x), or a Unix socket.
  // A wildcard (0.0.0.0, ::) is not: it listens on every interface.
  bool is_local() const;
};

// "127.0.0.1:7000", "[::1]:7000", "localhost:7000" (names resolve through getaddrinfo, IPv4
// preferred: call it at startup, not on the event loop), or "unix:/path/to.sock". Port 0 is
// accepted (listen on an ephemeral port). Errors: invalid_address, saying what is wrong
// ("invalid address \"127.0.0.1\": expected HOST:PORT or unix:PATH").
Result<SocketAddress> parse_address(std::string_view text);

// Non-blocking, close-on-exec listeners (ready for EventLoop::accept). SO_REUSEADDR is set so a
// restarted server can rebind while old connections sit in TIME_WAIT.
// Errors: invalid_address (listen_tcp, listen_unix), socket_failed, listen_failed.
Result<int> listen_tcp(const std::string& host, uint16_t port, int backlog = SOMAXCONN);
// Removes a stale socket file (one nobody listens on) first; refuses to replace a live socket or
// a file that is not a socket (listen_failed). The caller unlinks the path when it is done.
Result<int> listen_unix(const std::string& path, int backlog = SOMAXCONN);
Result<int> listen_on(const SocketAddress& address, int backlog = SOMAXCONN);
// A listener on an address as a user writes it (parse_address, then listen_on), with the address
// it is bound to: the port filled in when it was 0 ("127.0.0.1:0" -> "127.0.0.1:41234").
struct Listener {
  int fd = -1;
  std::string address;
};
Result<Listener> listen_at(std::string_view address, int backlog = SOMAXCONN);
// The port a TCP socket is bound to (after listen_tcp(host, 0)). Precondition: fd is a bound
// TCP socket; anything else is a bug and throws roster::Exception.
uint16_t local_port(int fd);
// What a listener bound to `requested` actually listens on: the port filled in when it was 0.
std::string bound_address(const SocketAddress& requested, int listen_fd);

// Blocking connects for the CLI and tests: the fd is returned in blocking mode, with TCP_NODELAY
// on TCP. Errors read like "connect to 127.0.0.1:7000: Connection refused" (connect_failed) or
// "connect to 127.0.0.1:7000 timed out after 5000 ms: Connection timed out" (connect_timed_out);
// `peer` is how they name the peer (default: address.to_string(); the HTTP client passes the
// address as its user wrote it, "localhost:7070").
Result<int> connect_blocking(const SocketAddress& address,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5), std::string_view peer = {});
Result<int> connect_tcp_blocking(const std::string& host, uint16_t port,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
Result<int> connect_unix_blocking(const std::string& path,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A non-blocking, close-on-exec stream socket of the address's family (for EventLoop::connect).
// Errors: socket_failed.
Result<int> open_stream_socket(const SocketAddress& address);

// The IP address of a connected TCP socket's peer ("127.0.0.2", "2001:db8::1"; an IPv4-mapped
// IPv6 peer as its IPv4 address); "" for a Unix-domain peer or when the kernel cannot say (the
// peer is already gone). Names one client for per-address limits.
std::string peer_ip(int fd);

// These two cannot fail on an open socket: a failure means a bad fd (a bug), thrown as
// roster::Exception.
void set_nonblocking(int fd, bool on = true);
// Small frames and responses go out at once instead of waiting for an ACK (Nagle). A no-op on
// Unix-domain sockets.
void set_tcp_nodelay(int fd, bool on = true);

}  // namespace roster::net
