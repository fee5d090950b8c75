// An HTTP/1.1 server on an EventLoop. Requests are parsed by HttpRequestParser (Boost.Beast's
// parser plus RFC 9112's framing rules), fed incrementally; keep-alive and pipelining are
// supported, responses go out in request order.
//
// Errors the server answers itself, rendered by the HttpErrorRenderer it was given (by default
// plain text "code: message"; roster's daemons render their JSON error shape):
//   400 malformed_request     the bytes are not HTTP/1.x, or the target's %-escapes are bad
//   400 ambiguous_framing     the body's length could be read two ways (Transfer-Encoding with
//                             Content-Length, a final coding other than chunked, differing
//                             Content-Lengths): see http_request_parser.hpp
//   408 header_timeout        a request's header block took longer than header_timeout
//   413 body_too_large        Content-Length (or the chunks so far) above max_body_bytes: refused
//                             as soon as the header is read, before any of the body
//   431 headers_too_large     request line + headers above max_header_bytes
//   500 internal_error        the handler threw (the connection stays usable)
//   501 not_implemented       a transfer coding other than chunked
//   503 too_many_connections  max_connections reached
//   503 too_many_connections_from_address
//                             this client address has max_connections_per_address open already
// After any of these but 500 (and a bad target's 400) the connection closes: the stream position
// is unknown, or the client is over a limit. Closing is graceful: the response is sent, the write
// side shut down, and what the client still sends is read and dropped for a moment, so the
// client reads the response instead of a reset.
//
// Threading: construct, listen, close and destroy on the loop thread, or while the loop is not
// running, and destroy the server before its EventLoop. The handler runs on the loop thread:
// keep it short, it blocks every connection.
//
// A handler may answer later, or stream a body: see http_deferred.hpp (HttpResponse::deferred).
//
// HttpRequest::path is the raw path; HttpRequest::segments are its segments, each decoded once
// ("a%2Fb" is one segment "a/b").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "roster/net/event_loop.hpp"
#include "roster/net/http_deferred.hpp"
#include "roster/net/http_message.hpp"
#include "roster/net/http_request_parser.hpp"

namespace roster::net {

// max_header_bytes and max_body_bytes come from HttpParserLimits: each connection's parser
// enforces them.
struct HttpLimits : HttpParserLimits {
  // A request's header block must be complete within this time of its first byte (the first
  // request's: of the connection being accepted). Partial bytes do not extend it, so a client
  // that trickles a header (slowloris) holds a connection this long at most; it gets a 408 then,
  // or is closed without one when it never sent a byte.
  std::chrono::milliseconds header_timeout{10'000};
  // Each request must arrive in full within this time after the connection went idle (accepted,
  // or its last response sent): the keep-alive time between requests, and the bound on a slow
  // body. A response the client does not read in this time closes the connection too.
  std::chrono::milliseconds idle_timeout{60'000};
  size_t max_connections = 10'000;
  // Open connections one client address (peer_ip) may hold; beyond it that client gets 503 and
  // others are unaffected. Unix-socket clients are not counted. 0: no limit (behind a proxy,
  // whose connections all come from one address).
  size_t max_connections_per_address = 64;
  // A streamed response (http_deferred.hpp) whose client leaves more than this unsent is cut: a
  // slow reader must not make the server buffer without limit.
  size_t max_stream_backlog = 1 << 20;
  // Answers one connection may have parked at once (pipelined blocking queries); beyond, the
  // request gets 503 too_many_parked at once, so one client cannot hold every parked slot.
  size_t max_parked_per_connection = 8;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Asked after each handler call: 0 sends the response in its turn; any other ticket holds it
// (and every later response of its connection) until HttpServer::release passes the ticket.
using ResponseTicket = std::function<uint64_t()>;
// The response for an error the server answers itself (code: a stable snake_case identifier).
using HttpErrorRenderer = std::function<HttpResponse(unsigned status, std::string_view code, std::string_view message)>;
HttpResponse plain_text_error(unsigned status, std::string_view code, std::string_view message);

struct HttpServerStats {
  uint64_t accepted = 0;       // connections accepted, all listeners
  uint64_t active = 0;         // connections open now
  uint64_t requests = 0;       // requests handed to the handler
  uint64_t errors = 0;         // error responses the server made itself (4xx, 500, 503)
  uint64_t timeouts = 0;       // connections closed by idle_timeout or header_timeout
};

class HttpServer {
 public:
  HttpServer(EventLoop& loop, HttpHandler handler, HttpLimits limits = {},
             HttpErrorRenderer render_error = plain_text_error);
  ~HttpServer();  // close()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves a listening socket (listen_tcp / listen_unix); the server owns and closes it. May be
  // called several times (TCP and a Unix socket, say).
  void listen(int listen_fd);
  // Stops accepting and closes every connection at once (responses in flight are dropped).
  void close();

  HttpServerStats stats() const;

  // Responses that must wait for something outside the server (roster-server: until what they
  // report, or were computed from, is durable). Tickets must grow over time.
  void hold_responses(ResponseTicket ticket);
  // Sends every held response whose ticket is <= `through`, each in its connection's order.
  void release(uint64_t through);
  // What the held responses said will not come true: each one waiting for a ticket is replaced
  // by this error (rendered by the server's error renderer) and sent.
  void refuse_held(unsigned status, std::string_view code, std::string_view message);

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with pending callbacks, which outlive close()
};

}  // namespace roster::net
