// A small blocking HTTP/1.1 client for rosterctl and tests: one connection, reused across
// requests (keep-alive), responses parsed by Boost.Beast's response parser. Not thread-safe.
//
// Every failure comes back as an Error (roster/base/result.hpp) whose message names the server
// and what went wrong, with `where` the server's address:
//   "connect to 127.0.0.1:7000: Connection refused"                       Unavailable connect_failed
//   "GET /v1/revision to 127.0.0.1:7000 timed out after 200 ms: ..."     Unavailable timed_out
//   "malformed response from 127.0.0.1:7000 to GET /x: bad version: ..."  Unavailable malformed_response
//   "127.0.0.1:7000 closed the connection before a complete response ..." Unavailable connection_closed
// plus connect_timed_out (connecting took longer than connect_timeout), io_error (Io: a local
// send, receive or poll failed), socket_failed (Io), and Invalid invalid_address from open() and
// invalid_request from request() (a method, target or header that cannot go on the wire).
// An HTTP error status is not an error: it comes back in HttpResponse::status.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "roster/base/result.hpp"
#include "roster/net/http_message.hpp"
#include "roster/net/socket.hpp"

namespace roster::net {

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  size_t max_response_body_bytes = 256 * 1024 * 1024;
};

class HttpClient {
 public:
  // "127.0.0.1:7000", "http://127.0.0.1:7000", "localhost:7000" or "unix:/run/roster.sock".
  // Errors: invalid_address for a malformed address (https is not supported). Connects lazily,
  // on the first request.
  static Result<HttpClient> open(std::string_view address, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(HttpClient&& other) noexcept;
  HttpClient& operator=(HttpClient&& other) noexcept;

  // Sends one request and waits for its response; `timeout` bounds the whole exchange,
  // connecting included. A non-empty body gets Content-Type: application/json unless `headers`
  // says otherwise. A reused connection the server closed meanwhile is reopened, and the
  // request retried once when it is idempotent (not POST or PATCH) and nothing was received.
  // After an error the connection is closed; the next request opens a new one.
  Result<HttpResponse> request(std::string_view method, std::string_view target, std::string_view body = {},
                               const HttpHeaders& headers = {},
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  Result<HttpResponse> get(std::string_view target, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return request("GET", target, {}, {}, timeout);
  }

  // Pieces of a streamed body (server-sent events) as they arrive; false stops reading.
  using BodySink = std::function<bool(std::string_view piece)>;
  // A GET whose 2xx answer's chunked body is a stream: each piece goes to `sink` instead of the
  // response, and `idle_timeout` bounds the wait for each piece rather than the whole exchange.
  // Returns the status and headers (an error status keeps its body) once the body ends or `sink`
  // says stop; the connection is closed then.
  Result<HttpResponse> get_stream(std::string_view target, const HttpHeaders& headers,
                                  std::chrono::milliseconds idle_timeout, const BodySink& sink);

  void close();
  bool connected() const { return fd_ >= 0; }
  const std::string& address() const { return name_; }
  // Connections opened so far (keep-alive reuse keeps this at 1).
  size_t connections_opened() const { return connections_opened_; }

 private:
  struct Attempt;
  HttpClient(SocketAddress address, std::string name, HttpClientOptions options);
  // The request's bytes, or invalid_request.
  Result<std::string> encode(std::string_view method, std::string_view target, std::string_view body,
                             const HttpHeaders& headers) const;
  Result<HttpResponse> exchange(const std::string& bytes, Attempt& a);
  Result<void> connect(const Attempt& a);
  Result<void> send_request(const std::string& bytes, Attempt& a);
  Result<HttpResponse> read_response(Attempt& a);
  Unexpected<Error> timed_out(const Attempt& a, std::string_view while_what = {}) const;
  Unexpected<Error> transport_failure(int err, const std::string& what) const;
  bool peer_closed() const;

  SocketAddress address_;
  std::string name_;
  std::string host_header_;
  HttpClientOptions options_;
  int fd_ = -1;
  size_t connections_opened_ = 0;
};

}  // namespace roster::net
