#include "roster/net/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <vector>

#include "roster/net/http_client.hpp"
#include "roster/net/socket.hpp"
#include "net_test_support.hpp"

namespace roster::net {
namespace {

using namespace testing;

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpLimits limits = {}, HttpErrorRenderer render_error = plain_text_error) {
    serve(listen_tcp("127.0.0.1", 0).value(), limits, std::move(render_error));
  }

  void serve(int listen_fd, HttpLimits limits, HttpErrorRenderer render_error = plain_text_error) {
    if (!path_.empty()) {
      address_ = "unix:" + path_;
    } else {
      port_ = local_port(listen_fd);
      address_ = "127.0.0.1:" + std::to_string(port_);
    }
    lt_.call([&] {
      server_ = std::make_unique<HttpServer>(
          lt_.loop, [this](const HttpRequest& r) { return handle(r); }, limits, render_error);
      server_->listen(listen_fd);
    });
  }

  void TearDown() override {
    lt_.call([&] { server_.reset(); });
    // Every recv, send and accept of the server completed (with -ECANCELED where pending).
    EXPECT_TRUE(eventually([&] { return lt_.call([&] { return lt_.loop.pending_operations(); }) == 0; }));
  }

  HttpResponse handle(const HttpRequest& r) {
    ++handled_;
    if (r.path == "/boom") throw std::runtime_error("kaboom");
    HttpResponse response;
    response.content_type = "text/plain";
    if (r.path == "/query") {
      for (const auto& [k, v] : r.query) response.body += k + "=" + v + ";";
      return response;
    }
    if (r.path.starts_with("/segments/")) {
      for (const auto& s : r.segments) response.body += "[" + s + "]";
      return response;
    }
    response.body = r.method + " " + r.path + " " + r.body;
    if (auto h = r.header("x-test")) response.headers.add("X-Echo", std::string(*h));
    return response;
  }

  int connect_raw() { return connect_blocking(parse_address(address_).value()).value(); }
  HttpClient open_client() { return HttpClient::open(address_).value(); }
  HttpServerStats stats() { return lt_.call([&] { return server_->stats(); }); }

  LoopThread lt_;
  std::unique_ptr<HttpServer> server_;
  std::string address_;
  uint16_t port_ = 0;
  std::string path_;
  std::atomic<int> handled_{0};
};

TEST_F(HttpServerTest, AnswersGetAndPutWithBody) {
  start();
  auto client = open_client();
  auto get = client.get("/v1/services/user-service").value();
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.content_type, "text/plain");
  EXPECT_EQ(get.body, "GET /v1/services/user-service ");

  HttpHeaders headers;
  headers.add("X-Test", "yes");
  auto put = client.request("PUT", "/v1/services/a/versions/1.0.0", R"({"name":"a"})", headers).value();
  EXPECT_EQ(put.status, 200);
  EXPECT_EQ(put.body, R"(PUT /v1/services/a/versions/1.0.0 {"name":"a"})");
  EXPECT_EQ(put.header("x-echo"), "yes");  // case-insensitive lookup
}

TEST_F(HttpServerTest, ReusesOneConnectionForManyRequests) {
  start();
  auto client = open_client();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.get("/n/" + std::to_string(i))->body, "GET /n/" + std::to_string(i) + " ");
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(stats().accepted, 1u);
  EXPECT_EQ(stats().requests, 5u);
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  start();
  Fd fd(connect_raw());
  write_all(fd,
            "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
            "PUT /second HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
            "GET /third HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string leftover;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "GET /first ");
  EXPECT_EQ(read_raw_response(fd, leftover).body, "PUT /second body");
  EXPECT_EQ(read_raw_response(fd, leftover).body, "GET /third ");
  EXPECT_TRUE(leftover.empty());
}

TEST_F(HttpServerTest, HonoursConnectionClose) {
  start();
  Fd fd(connect_raw());
  write_all(fd, "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string all = read_until_close(fd);
  EXPECT_NE(all.find("HTTP/1.1 200 OK\r\n"), std::string::npos);
  EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(all.ends_with("GET /bye ")) << all;
  ::close(fd.fd);  // the server lingers until the client closes too (or kLingerTime)
  fd.fd = -1;
  EXPECT_TRUE(eventually([&] { return stats().active == 0; }, 1s));
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveCloses) {
  start();
  Fd fd(connect_raw());
  write_all(fd, "GET /old HTTP/1.0\r\n\r\n");
  std::string all = read_until_close(fd);
  EXPECT_NE(all.find("HTTP/1.1 200 OK\r\n"), std::string::npos);
  EXPECT_TRUE(all.ends_with("GET /old ")) << all;
}

TEST_F(HttpServerTest, DecodesPathAndQueryParameters) {
  start();
  auto client = open_client();
  auto r = client.get("/query?team=platform%20team&tag=a&tag=b%2Bc&q=x+y&flag&empty=").value();
  EXPECT_EQ(r.body, "team=platform team;tag=a;tag=b+c;q=x y;flag=;empty=;");
  // The path stays as sent; its segments are split first, then decoded once each, so an escaped
  // '/' (or '%', '?') stays inside its segment.
  EXPECT_EQ(client.get("/v1/services/a%2Fb")->body, "GET /v1/services/a%2Fb ");
  EXPECT_EQ(client.get("/segments/a%2Fb/c%3Fd/%2525/")->body, "[segments][a/b][c?d][%25][]");
  EXPECT_EQ(client.get("/segments/x%00y")->status, 400);  // an escaped NUL is refused
}

TEST_F(HttpServerTest, BadPercentEscapeGets400AndTheConnectionSurvives) {
  start();
  auto client = open_client();
  auto bad = client.get("/v1/services/%zz").value();
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("malformed_request: "), std::string::npos) << bad.body;
  EXPECT_EQ(client.get("/ok")->status, 200);
  EXPECT_EQ(client.connections_opened(), 1u);
  EXPECT_EQ(handled_.load(), 1);
}

// What follows the head of a whole response read until close.
std::string body_of(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

// The default renderer's plain-text "code: message".
void expect_error(const std::string& body, std::string_view code) {
  EXPECT_TRUE(body.starts_with(std::string(code) + ": ")) << body;
}

TEST_F(HttpServerTest, GarbageGets400ThenClose) {
  start();
  Fd fd(connect_raw());
  write_all(fd, std::string_view("\x00\x01GARBAGE\r\n\r\n", 13));
  std::string all = read_until_close(fd);
  ASSERT_TRUE(all.starts_with("HTTP/1.1 400 Bad Request\r\n")) << all;
  EXPECT_NE(all.find("Content-Type: text/plain; charset=utf-8\r\n"), std::string::npos) << all;
  EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos);
  expect_error(body_of(all), "malformed_request");
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerTest, HugeHeaderGets431) {
  start();
  Fd fd(connect_raw());
  write_all(fd, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') + "\r\n\r\n");
  std::string all = read_until_close(fd);
  ASSERT_TRUE(all.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")) << all.substr(0, 200);
  expect_error(body_of(all), "headers_too_large");
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerTest, OversizedContentLengthGets413BeforeTheBody) {
  start();
  Fd fd(connect_raw());
  // Only the header is sent: the answer must come without waiting for 9 MiB of body.
  write_all(fd, "PUT /v1/big HTTP/1.1\r\nHost: x\r\nContent-Length: 9437184\r\n\r\n");
  std::string leftover;
  auto r = read_raw_response(fd, leftover, 2s);
  EXPECT_EQ(r.status, 413);
  expect_error(r.body, "body_too_large");
  EXPECT_NE(r.body.find("Content-Length: 9437184"), std::string::npos) << r.body;
  // The client may still push body bytes; the server drains them and closes cleanly.
  write_all(fd, std::string(64 * 1024, 'z'));
  read_until_close(fd);
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerTest, BodyUnderTheLimitIsAccepted) {
  HttpLimits limits;
  limits.max_body_bytes = 1024 * 1024;
  start(limits);
  auto client = open_client();
  std::string body(1024 * 1024, 'b');
  EXPECT_EQ(client.request("PUT", "/big", body)->body, "PUT /big " + body);
  auto too_big = client.request("PUT", "/big", body + "!").value();
  EXPECT_EQ(too_big.status, 413);
}

TEST_F(HttpServerTest, SlowlorisIsClosedByTheIdleTimeout) {
  HttpLimits limits;
  limits.idle_timeout = 300ms;
  start(limits);
  Fd fd(connect_raw());
  auto t0 = std::chrono::steady_clock::now();
  write_all(fd, "GET / HTTP/1.1\r\n");
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {  // one header line every 50 ms, never finishing
    std::this_thread::sleep_for(50ms);
    try {
      write_all(fd, "X-Slow-" + std::to_string(i) + ": 1\r\n");
    } catch (const std::system_error&) {
      closed = true;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) closed = true;  // EOF (or reset) is readable
  }
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(closed);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_TRUE(eventually([&] { return stats().timeouts == 1 && stats().active == 0; }));
}

TEST_F(HttpServerTest, ClientReconnectsAfterTheServerClosedAnIdleConnection) {
  HttpLimits limits;
  limits.idle_timeout = 100ms;
  start(limits);
  auto client = open_client();
  EXPECT_EQ(client.get("/one")->status, 200);
  ASSERT_TRUE(eventually([&] { return stats().timeouts == 1; }));
  EXPECT_EQ(client.get("/two")->body, "GET /two ");
  EXPECT_EQ(client.connections_opened(), 2u);
}

TEST_F(HttpServerTest, HandlerExceptionGives500AndTheConnectionSurvives) {
  start();
  auto client = open_client();
  auto boom = client.get("/boom").value();
  EXPECT_EQ(boom.status, 500);
  expect_error(boom.body, "internal_error");
  EXPECT_NE(boom.body.find("kaboom"), std::string::npos);
  EXPECT_EQ(client.get("/after")->body, "GET /after ");
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST_F(HttpServerTest, ErrorsTheServerAnswersItselfUseTheGivenRenderer) {
  start({}, [](unsigned status, std::string_view code, std::string_view message) {
    HttpResponse r;
    r.status = status;
    r.body = "{" + std::string(code) + "|" + std::string(message) + "}";
    return r;
  });
  auto client = open_client();
  auto bad = client.get("/a/%zz").value();
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(bad.body.starts_with("{malformed_request|")) << bad.body;
  auto boom = client.get("/boom").value();
  EXPECT_EQ(boom.status, 500);
  EXPECT_TRUE(boom.body.starts_with("{internal_error|handler failed: kaboom")) << boom.body;
}

TEST_F(HttpServerTest, AnswersExpectContinue) {
  start();
  Fd fd(connect_raw());
  write_all(fd, "PUT /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  std::string interim = read_exact(fd, std::string_view("HTTP/1.1 100 Continue\r\n\r\n").size());
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  write_all(fd, "hello");
  std::string leftover;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "PUT /c hello");
}

TEST_F(HttpServerTest, RefusesConnectionsBeyondTheLimitWith503) {
  HttpLimits limits;
  limits.max_connections = 2;
  start(limits);
  auto a = open_client(), b = open_client();
  EXPECT_EQ(a.get("/a")->status, 200);
  EXPECT_EQ(b.get("/b")->status, 200);
  auto c = open_client();
  auto refused = c.get("/c").value();
  EXPECT_EQ(refused.status, 503);
  expect_error(refused.body, "too_many_connections");
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(a.get("/a2")->status, 200);
}

// Sends `bytes` on a fresh connection and reads until the server closes it.
std::string send_then_read_all(int fd, std::string_view bytes) {
  write_all(fd, bytes);
  return read_until_close(fd);
}

// RFC 9112 section 6: framing a front end could read differently is refused with 400 and a
// close, never guessed at. Each of these reached the handler before (the body of the first
// parsed as a second request).
TEST_F(HttpServerTest, AmbiguousFramingGets400ThenCloseAndNothingIsHandled) {
  start();
  for (std::string_view request : {
           "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
           "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
           "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\nhello",
           "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello",
           "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
           "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
           "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
       }) {
    SCOPED_TRACE(request);
    Fd fd(connect_raw());
    std::string all = send_then_read_all(fd, request);
    EXPECT_TRUE(all.starts_with("HTTP/1.1 400 Bad Request\r\n")) << all;
    EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos) << all;
    EXPECT_EQ(all.find("HTTP/1.1", 1), std::string::npos) << "a second response: " << all;
  }
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerTest, UnknownTransferCodingGets501ThenClose) {
  start();
  Fd fd(connect_raw());
  std::string all = send_then_read_all(fd, "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  EXPECT_TRUE(all.starts_with("HTTP/1.1 501 Not Implemented\r\n")) << all;
  expect_error(body_of(all), "not_implemented");
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerTest, ChunkedBodyIsServed) {
  start();
  Fd fd(connect_raw());
  write_all(fd, "PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n");
  std::string leftover;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "PUT /c body");
}

// Ten thousand slow connections from one client took every slot, and every other client got
// 503. Scaled down: the hog's slow connections stop at its address's limit (the rest are told
// 503 and do not count against max_connections), and another address is served.
TEST_F(HttpServerTest, AClientHoggingConnectionsDoesNotStarveAnotherAddress) {
  HttpLimits limits;
  limits.max_connections = 8;
  limits.max_connections_per_address = 4;
  start(limits);
  std::vector<std::unique_ptr<Fd>> hog;
  for (int i = 0; i < 4; ++i) {
    hog.push_back(std::make_unique<Fd>(connect_from("127.0.0.1", port_)));
    write_all(*hog.back(), "G");  // one header byte, then nothing
  }
  ASSERT_TRUE(eventually([&] { return stats().active == 4; }));
  std::vector<std::unique_ptr<Fd>> refused;  // kept open: the server lingers on them
  for (int i = 0; i < 8; ++i) {
    refused.push_back(std::make_unique<Fd>(connect_from("127.0.0.1", port_)));
    std::string all = read_until_close(*refused.back());
    ASSERT_TRUE(all.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << all;
    expect_error(body_of(all), "too_many_connections_from_address");
  }
  Fd other(connect_from("127.0.0.2", port_));
  write_all(other, "GET /other HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string leftover;
  auto served = read_raw_response(other, leftover);
  EXPECT_EQ(served.status, 200);
  EXPECT_EQ(served.body, "GET /other ");
  // A hog connection that closes frees its slot for the same address.
  hog.pop_back();
  EXPECT_TRUE(eventually([&] {  // once the server has seen the close
    Fd again(connect_from("127.0.0.1", port_));
    write_all(again, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string rest;
    return read_raw_response(again, rest).status == 200;
  }));
}

TEST_F(HttpServerTest, TheHeaderTimeoutAnswersATricklingClientWith408) {
  HttpLimits limits;
  limits.header_timeout = 300ms;  // the idle timeout stays at its 60 s
  start(limits);
  Fd fd(connect_raw());
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a');
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < request.size(); ++i) {  // one header byte every 20 ms, never finishing
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) break;  // the answer (or EOF) is readable
    write_all(fd, request.substr(i, 1));
    std::this_thread::sleep_for(20ms);
  }
  std::string all = read_until_close(fd);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(all.starts_with("HTTP/1.1 408 Request Timeout\r\n")) << all;
  expect_error(body_of(all), "header_timeout");
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 2000ms);
  EXPECT_EQ(stats().timeouts, 1u);
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerTest, AConnectionThatSendsNothingIsClosedQuietlyAtTheHeaderTimeout) {
  HttpLimits limits;
  limits.header_timeout = 200ms;
  start(limits);
  Fd fd(connect_raw());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(read_until_close(fd), "");
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 2000ms);
}

// The header timeout bounds headers only: the wait between keep-alive requests is the idle
// timeout's, and a body may take longer.
TEST_F(HttpServerTest, TheHeaderTimeoutLeavesKeepAliveAndBodiesToTheIdleTimeout) {
  HttpLimits limits;
  limits.header_timeout = 200ms;
  limits.idle_timeout = 5s;
  start(limits);
  auto client = open_client();
  EXPECT_EQ(client.get("/one")->status, 200);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(client.get("/two")->body, "GET /two ");
  EXPECT_EQ(client.connections_opened(), 1u);

  Fd fd(connect_raw());
  write_all(fd, "PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n");
  for (char c : std::string("hello")) {
    std::this_thread::sleep_for(100ms);
    write_all(fd, std::string(1, c));
  }
  std::string leftover;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "PUT /slow hello");
  EXPECT_EQ(stats().timeouts, 0u);
}

TEST_F(HttpServerTest, ServesOverAUnixSocket) {
  TempDir dir;
  path_ = dir.file("http.sock");
  serve(listen_unix(path_).value(), {});
  auto client = open_client();
  EXPECT_EQ(client.request("PUT", "/uds", "{}")->body, "PUT /uds {}");
  EXPECT_EQ(client.get("/again")->body, "GET /again ");
  EXPECT_EQ(client.connections_opened(), 1u);
}

TEST_F(HttpServerTest, CloseDropsEveryConnection) {
  start();
  Fd fd(connect_raw());
  write_all(fd, "GET /partial HTTP/1.1\r\n");  // a request in progress
  ASSERT_TRUE(eventually([&] { return stats().active == 1; }));
  lt_.call([&] { server_->close(); });
  EXPECT_EQ(read_until_close(fd), "");
  EXPECT_EQ(stats().active, 0u);
}

}  // namespace
}  // namespace roster::net

namespace roster::net {
namespace {

// Held responses (hold_responses): roster-server holds what it answers while writes are pending
// until they are durable, then sends it, or the error that says they failed.
class HeldResponsesTest : public HttpServerTest {
 protected:
  void start_holding() {
    start();
    lt_.call([&] {
      server_->hold_responses([this](){ return ticket_.load(); });
    });
  }
  // Whether the connection has bytes to read within `wait`.
  static bool readable(int fd, std::chrono::milliseconds wait) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
  }
  std::atomic<uint64_t> ticket_{0};
};

TEST_F(HeldResponsesTest, AHeldResponseAndThoseBehindItLeaveInOrderOnceReleased) {
  start_holding();
  Fd fd(connect_raw());
  ticket_ = 7;  // the first request's answer waits for ticket 7
  write_all(fd, "PUT /first HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na");
  ASSERT_TRUE(eventually([&] { return handled_ == 1; }));
  ticket_ = 0;  // the second's needs nothing, but comes after the first
  write_all(fd, "GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handled_ == 2; }));
  EXPECT_FALSE(readable(fd, 100ms));
  lt_.call([&] { server_->release(6); });
  EXPECT_FALSE(readable(fd, 100ms));
  lt_.call([&] { server_->release(7); });
  std::string leftover;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "PUT /first a");
  EXPECT_EQ(read_raw_response(fd, leftover).body, "GET /second ");
  // Released tickets stay released: a later answer for ticket 7 leaves at once.
  ticket_ = 7;
  write_all(fd, "GET /third HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_raw_response(fd, leftover).body, "GET /third ");
}

TEST_F(HeldResponsesTest, RefusingHeldResponsesSendsTheErrorInTheirPlaceOnEveryConnection) {
  start_holding();
  Fd a(connect_raw()), b(connect_raw());
  ticket_ = 3;
  write_all(a, "PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na");
  write_all(b, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handled_ == 2; }));
  EXPECT_FALSE(readable(a, 50ms));
  lt_.call([&] { server_->refuse_held(503, "store_unavailable", "the write could not be made durable"); });
  for (int fd : {static_cast<int>(a), static_cast<int>(b)}) {
    std::string leftover;
    auto response = read_raw_response(fd, leftover);
    EXPECT_EQ(response.status, 503);
    EXPECT_EQ(response.body, "store_unavailable: the write could not be made durable\n");
  }
  // Nothing stays held: the connections answer again.
  ticket_ = 0;
  write_all(a, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string leftover;
  EXPECT_EQ(read_raw_response(a, leftover).body, "GET /again ");
}

TEST_F(HeldResponsesTest, AClientThatLeavesWhileItsAnswerIsHeldIsClosedOnceTheAnswerIsReleased) {
  start_holding();
  {
    Fd fd(connect_raw());
    ticket_ = 5;
    write_all(fd, "GET /gone HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(eventually([&] { return handled_ == 1; }));
  }
  // A client that shut down only its sending side still reads its answer: the connection stays
  // until the answer is sent (or fails to be).
  EXPECT_EQ(stats().active, 1u);
  lt_.call([&] { server_->release(5); });
  ASSERT_TRUE(eventually([&] { return stats().active == 0; }));
  ticket_ = 0;
  EXPECT_EQ(open_client().get("/next")->body, "GET /next ");
}

}  // namespace
}  // namespace roster::net
