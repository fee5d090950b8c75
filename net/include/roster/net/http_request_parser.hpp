// An incremental HTTP/1.1 request parser: Boost.Beast's request parser plus the message framing
// rules of RFC 9112 section 6 that Beast leaves to its user. Feed it the bytes a client sends, in
// pieces of any size, and take out complete requests in order, or the refusal that ends the
// connection. It knows no sockets or clocks: HttpServer runs one per connection, and tests and
// fuzzers can drive it directly.
//
// Refusals (status, code), each final: the parser cannot know where the next request would begin,
// so the connection must be closed after answering it:
//   400 malformed_request    not HTTP/1.x: request line, header field or chunk syntax; a
//                            Content-Length that is not one decimal number
//   400 ambiguous_framing    the body's length could be read two ways (request smuggling):
//                            Transfer-Encoding together with Content-Length; a Transfer-Encoding
//                            whose final coding is not chunked, or with chunked twice; several
//                            Content-Length values that differ; Transfer-Encoding in HTTP/1.0
//   413 body_too_large       Content-Length (refused with the header, before any body byte is
//                            taken) or the chunks so far above max_body_bytes
//   431 headers_too_large    request line + header fields above max_header_bytes
//   501 not_implemented      a transfer coding other than chunked (gzip, identity, ...): its body
//                            could not be decoded
// The request target is not checked here (HttpServer answers a bad one with 400 and keeps the
// connection): requests come out with method, target, version, keep_alive, headers and body set,
// and path, segments and query empty (parse_target fills them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "roster/net/http_message.hpp"

namespace roster::net {

struct HttpParserLimits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 8 * 1024 * 1024;
  // How an operator raises max_body_bytes (e.g. "roster-server --max-body-bytes"): named in the
  // 413, so that whoever meets the limit knows where it is set. Empty: not named.
  std::string_view max_body_setting;
};

// Why a request was refused: the status to answer, a stable snake_case code and a message for
// the client.
struct HttpRefusal {
  unsigned status = 400;
  std::string code;
  std::string message;
};

// next() has parsed everything fed so far; the current request (if any) is incomplete.
struct HttpNeedMore {};
// The current request's header is complete, says "Expect: 100-continue" and its body is still to
// come: the client waits for "100 Continue" before sending it. Given once per request.
struct HttpContinueWanted {};
using HttpParsed = std::variant<HttpNeedMore, HttpContinueWanted, HttpRequest, HttpRefusal>;

class HttpRequestParser {
 public:
  explicit HttpRequestParser(HttpParserLimits limits = {});
  ~HttpRequestParser();
  HttpRequestParser(HttpRequestParser&&) noexcept;
  HttpRequestParser& operator=(HttpRequestParser&&) noexcept;

  // Appends bytes received from the client (copied). Bytes fed after a refusal are ignored.
  void feed(std::span<const uint8_t> bytes);
  void feed(std::string_view bytes);

  // Parses what was fed: the next complete request, a continue-wanted signal, a refusal (returned
  // again by every later call), or HttpNeedMore. Call it until HttpNeedMore or a refusal; a
  // caller that stops early (its output is backed up) keeps the rest buffered for later calls.
  HttpParsed next();

  // No byte of a next request has been received: between requests.
  bool idle() const;
  // Bytes of a request's header have been received, and not the whole header yet.
  bool in_header() const;
  // Bytes fed and not yet parsed (the incomplete header of the current request, or input behind
  // a request that next() has not been asked for).
  size_t buffered() const;
  bool refused() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace roster::net
