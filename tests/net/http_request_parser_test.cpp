// HttpRequestParser on its own: bytes in, requests or a refusal out (RFC 9112 framing).
#include "roster/net/http_request_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace roster::net {
namespace {

// Everything next() gives for `bytes` fed in pieces of `piece` bytes (0: all at once), up to
// the first refusal.
struct Outcome {
  std::vector<HttpRequest> requests;
  std::optional<HttpRefusal> refusal;
  int continues = 0;
};

Outcome parse(std::string_view bytes, size_t piece = 0, HttpParserLimits limits = {}) {
  HttpRequestParser parser(limits);
  Outcome out;
  if (piece == 0) piece = bytes.size() ? bytes.size() : 1;
  for (size_t at = 0; at < bytes.size() && !out.refusal; at += piece) {
    parser.feed(bytes.substr(at, piece));
    for (;;) {
      HttpParsed parsed = parser.next();
      if (std::holds_alternative<HttpNeedMore>(parsed)) break;
      if (std::holds_alternative<HttpContinueWanted>(parsed)) {
        ++out.continues;
      } else if (auto* refusal = std::get_if<HttpRefusal>(&parsed)) {
        out.refusal = *refusal;
        break;
      } else {
        out.requests.push_back(std::move(std::get<HttpRequest>(parsed)));
      }
    }
  }
  return out;
}

void expect_refused(const Outcome& out, unsigned status, std::string_view code, std::string_view in_message = {}) {
  ASSERT_TRUE(out.refusal.has_value()) << "no refusal; requests: " << out.requests.size();
  EXPECT_EQ(out.refusal->status, status) << out.refusal->message;
  EXPECT_EQ(out.refusal->code, code) << out.refusal->message;
  EXPECT_NE(out.refusal->message.find(in_message), std::string::npos) << out.refusal->message;
  EXPECT_TRUE(out.requests.empty()) << "a request was handed out: " << out.requests.front().target;
}

TEST(HttpRequestParser, ParsesPipelinedRequestsFedInAnyPieces) {
  const std::string bytes =
      "GET /first HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n"
      "PUT /second HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
      "POST /third HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n"
      "GET /last HTTP/1.0\r\n\r\n";
  for (size_t piece : {size_t{0}, size_t{1}, size_t{7}, size_t{64}}) {
    SCOPED_TRACE("piece " + std::to_string(piece));
    Outcome out = parse(bytes, piece);
    ASSERT_FALSE(out.refusal) << out.refusal->message;
    ASSERT_EQ(out.requests.size(), 4u);
    EXPECT_EQ(out.requests[0].method, "GET");
    EXPECT_EQ(out.requests[0].target, "/first");
    EXPECT_EQ(out.requests[0].header("x-a"), "1");
    EXPECT_EQ(out.requests[1].body, "body");
    EXPECT_EQ(out.requests[2].body, "abcde");
    EXPECT_EQ(out.requests[3].version, 10u);
    EXPECT_FALSE(out.requests[3].keep_alive);
    EXPECT_TRUE(out.requests[0].path.empty());  // targets are the server's to check
  }
}

TEST(HttpRequestParser, SaysWhereARequestStands) {
  HttpRequestParser parser;
  EXPECT_TRUE(parser.idle());
  parser.feed("PUT /a HTTP/1.1\r\nHost:");
  EXPECT_TRUE(std::holds_alternative<HttpNeedMore>(parser.next()));
  EXPECT_FALSE(parser.idle());
  EXPECT_TRUE(parser.in_header());
  parser.feed(" x\r\nContent-Length: 3\r\n\r\nab");
  EXPECT_TRUE(std::holds_alternative<HttpNeedMore>(parser.next()));
  EXPECT_FALSE(parser.in_header());  // the body is arriving
  EXPECT_FALSE(parser.idle());
  parser.feed("c");
  EXPECT_EQ(std::get<HttpRequest>(parser.next()).body, "abc");
  EXPECT_TRUE(std::holds_alternative<HttpNeedMore>(parser.next()));
  EXPECT_TRUE(parser.idle());
  EXPECT_EQ(parser.buffered(), 0u);
}

// RFC 9112 section 6.3: a Transfer-Encoding whose final coding is not chunked leaves the length
// unknown. Beast framed "chunked, identity" as no body, so the body was parsed as the next
// request: a request smuggled past whatever read the framing the other way.
TEST(HttpRequestParser, FinalCodingOtherThanChunkedIsRefusedNotSmuggled) {
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  Outcome out = parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + smuggled);
  expect_refused(out, 400, "ambiguous_framing", "does not end with chunked");
  expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled), 400,
                 "ambiguous_framing");
  expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"),
                 400, "ambiguous_framing");
  expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,\r\n\r\n"), 400, "ambiguous_framing");
  expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"), 400,
                 "ambiguous_framing", "more than once");
}

// Beast framed these by the Content-Length; a front end honouring the Transfer-Encoding reads
// other bytes as the body.
TEST(HttpRequestParser, TransferEncodingWithContentLengthIsRefused) {
  for (std::string_view head : {
           "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n",
           "Transfer-Encoding: identity\r\nContent-Length: 5\r\n",
           "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
           "Content-Length: 5\r\nTransfer-Encoding: xchunked\r\n",
       }) {
    SCOPED_TRACE(head);
    expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\n" + std::string(head) + "\r\n0\r\n\r\n"), 400,
                   "ambiguous_framing", "Content-Length");
  }
}

TEST(HttpRequestParser, ContentLengthsThatDifferAreRefused) {
  expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef"), 400,
                 "ambiguous_framing", "differ");
  // One field listing different values: refused as well (Beast keeps no such field to tell).
  Outcome listed = parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nabcdef");
  ASSERT_TRUE(listed.refusal);
  EXPECT_EQ(listed.refusal->status, 400u);
  expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), 400, "malformed_request");
  // Equal values say one length (RFC 9112 section 6.3 lets a recipient take it).
  Outcome same = parse("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_FALSE(same.refusal) << same.refusal->message;
  ASSERT_EQ(same.requests.size(), 1u);
  EXPECT_EQ(same.requests[0].body, "abc");
}

TEST(HttpRequestParser, UnknownTransferCodingIs501) {
  expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), 501,
                 "not_implemented", "\"gzip\"");
  // A list spread over two fields is one list.
  expect_refused(parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: br\r\nTransfer-Encoding: chunked\r\n\r\n"), 501,
                 "not_implemented", "\"br\"");
  // Codings compare case-insensitively, parameters aside.
  Outcome ok = parse("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: CHUNKED\r\n\r\n1\r\nz\r\n0\r\n\r\n");
  ASSERT_FALSE(ok.refusal) << ok.refusal->message;
  EXPECT_EQ(ok.requests.at(0).body, "z");
}

TEST(HttpRequestParser, TransferEncodingInHttp10IsRefused) {
  expect_refused(parse("POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400, "ambiguous_framing",
                 "HTTP/1.0");
}

TEST(HttpRequestParser, ARefusalIsFinal) {
  HttpRequestParser parser;
  parser.feed("POST /a HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<HttpRefusal>(parser.next()));
  parser.feed("GET /b HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(std::holds_alternative<HttpRefusal>(parser.next()));
  EXPECT_TRUE(parser.refused());
  EXPECT_EQ(parser.buffered(), 0u);
}

TEST(HttpRequestParser, LimitsAreRefusedWithTheirStatus) {
  HttpParserLimits limits{.max_header_bytes = 256, .max_body_bytes = 10};
  expect_refused(parse("GET / HTTP/1.1\r\nX-Big: " + std::string(300, 'a') + "\r\n\r\n", 0, limits), 431,
                 "headers_too_large");
  // Refused on the header alone, before any body byte.
  expect_refused(parse("PUT / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 0, limits), 413, "body_too_large",
                 "Content-Length: 11");
  expect_refused(parse("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n", 5,
                       limits),
                 413, "body_too_large");
  expect_refused(parse(std::string("\x00\x01GARBAGE\r\n\r\n", 13)), 400, "malformed_request");
  // Where the body limit is set, when the server says: the 413 names it.
  limits.max_body_setting = "roster-server --max-body-bytes";
  expect_refused(parse("PUT / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", 0, limits), 413, "body_too_large",
                 "roster-server --max-body-bytes sets the limit");
}

TEST(HttpRequestParser, ExpectContinueIsSignalledOnceBeforeTheBody) {
  HttpRequestParser parser;
  parser.feed("PUT /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_TRUE(std::holds_alternative<HttpContinueWanted>(parser.next()));
  EXPECT_TRUE(std::holds_alternative<HttpNeedMore>(parser.next()));
  parser.feed("hello");
  EXPECT_EQ(std::get<HttpRequest>(parser.next()).body, "hello");
  // A client that sent its body without waiting needs no go-ahead.
  Outcome eager = parse("PUT /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(eager.continues, 0);
  EXPECT_EQ(eager.requests.at(0).body, "hi");
}

}  // namespace
}  // namespace roster::net
