// An answer a handler gives after it returned (HttpResponse::deferred): a request parked until
// something changes (a blocking query), or a response whose body streams (server-sent events).
//
// Whole answer later (HttpResponse::stream false): the request keeps its place in its
// connection's response order, later pipelined responses wait behind it, and the connection's
// idle timeout does not run while it waits (the wait is the server's, not the client's).
// complete() sends it in its turn, held like any other response made while writes are pending
// (HttpServer::hold_responses).
//
// Streamed answer (HttpResponse::stream true): the handler's status and headers go out in their
// turn, with Transfer-Encoding: chunked (HTTP/1.0: the body runs until the close); write() sends
// each chunk, finish() ends it. The connection serves no request after this one and closes once
// the stream ends; no idle timeout applies while it is open. A client whose unsent output would
// pass HttpLimits::max_stream_backlog is disconnected (write() returns false). A HEAD request
// gets the head only: the handler's `deferred` is not called.
//
// Either way, the client may go away first (it closed, the connection failed, the server
// closed): the on_gone callback runs once then, never from inside this handle's own calls. Use
// on the server's loop thread only.
#pragma once

#include <functional>
#include <string_view>

#include "roster/net/http_message.hpp"

namespace roster::net {

class HttpDeferred {
 public:
  virtual ~HttpDeferred() = default;
  // False once answered in full, or the client is gone.
  virtual bool open() const = 0;
  // The whole answer (not for a stream). Ignored when no longer open.
  virtual void complete(HttpResponse response) = 0;
  // One chunk of a stream's body (empty chunks are skipped). False when the client is gone or too
  // far behind (it is then disconnected; on_gone does not run).
  virtual bool write(std::string_view chunk) = 0;
  // Ends a stream; the connection closes once it is sent.
  virtual void finish() = 0;
  virtual void on_gone(std::function<void()> callback) = 0;
};

}  // namespace roster::net
