// Answers given after the handler returned (http_deferred.hpp): parked requests and streamed
// bodies, over real loopback connections.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "net_test_support.hpp"
#include "roster/net/http_client.hpp"
#include "roster/net/http_server.hpp"
#include "roster/net/socket.hpp"

namespace roster::net {
namespace {

using namespace testing;

// "/park" parks, "/stream" streams; anything else is answered at once with "METHOD /path".
// Handles are kept (on the loop thread) in the order their requests arrived.
class HttpDeferredTest : public ::testing::Test {
 protected:
  void start(HttpLimits limits = {}) {
    int listen_fd = listen_tcp("127.0.0.1", 0).value();
    port_ = local_port(listen_fd);
    lt_.call([&] {
      server_ = std::make_unique<HttpServer>(lt_.loop, [this](const HttpRequest& r) { return handle(r); }, limits);
      server_->listen(listen_fd);
    });
  }

  void TearDown() override {
    lt_.call([&] {
      server_.reset();
      handles_.clear();
    });
    EXPECT_TRUE(eventually([&] { return lt_.call([&] { return lt_.loop.pending_operations(); }) == 0; }));
  }

  HttpResponse handle(const HttpRequest& r) {
    ++handled_;
    HttpResponse response;
    response.content_type = "text/plain";
    if (r.path == "/park" || r.path == "/stream") {
      response.stream = r.path == "/stream";
      response.headers.add("X-Kind", r.path.substr(1));
      response.deferred = [this](std::shared_ptr<HttpDeferred> handle) {
        handle->on_gone([this] { ++gone_; });
        handles_.push_back(std::move(handle));
      };
      return response;
    }
    response.body = r.method + " " + r.path;
    return response;
  }

  // Runs fn with the i-th handle on the loop thread.
  template <class F>
  auto with_handle(size_t i, F fn) {
    return lt_.call([&] { return fn(*handles_.at(i)); });
  }
  size_t handles() { return lt_.call([&] { return handles_.size(); }); }
  HttpServerStats stats() { return lt_.call([&] { return server_->stats(); }); }
  int connect_raw() { return connect_blocking(parse_address("127.0.0.1:" + std::to_string(port_)).value()).value(); }
  static bool readable(int fd, std::chrono::milliseconds wait) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
  }
  static HttpResponse text(std::string body) {
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = std::move(body);
    return r;
  }

  LoopThread lt_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::vector<std::shared_ptr<HttpDeferred>> handles_;  // loop thread only
  std::atomic<int> handled_{0}, gone_{0};
};

TEST_F(HttpDeferredTest, AParkedAnswerKeepsItsPlaceAmongPipelinedRequests) {
  start();
  Fd fd(connect_raw());
  write_all(fd,
            "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /park HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /third HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handled_ == 3; }));
  std::string leftover;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "GET /first");
  EXPECT_FALSE(readable(fd, 100ms));  // the third waits behind the parked second
  with_handle(0, [](HttpDeferred& h) {
    EXPECT_TRUE(h.open());
    h.complete(text("later"));
    EXPECT_FALSE(h.open());
    h.complete(text("twice"));  // ignored
  });
  EXPECT_EQ(read_raw_response(fd, leftover).body, "later");
  EXPECT_EQ(read_raw_response(fd, leftover).body, "GET /third");
  // The connection goes on serving.
  write_all(fd, "GET /fourth HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(read_raw_response(fd, leftover).body, "GET /fourth");
  EXPECT_EQ(gone_, 0);
}

TEST_F(HttpDeferredTest, OneConnectionParksAtMostItsLimitTheRestAre503) {
  HttpLimits limits;
  limits.max_parked_per_connection = 2;
  start(limits);
  Fd fd(connect_raw());
  std::string requests;
  for (int i = 0; i < 3; ++i) requests += "GET /park HTTP/1.1\r\nHost: x\r\n\r\n";
  write_all(fd, requests + "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handled_ == 4; }));
  EXPECT_EQ(handles(), 2u);  // the third was refused, not handed out
  // Another connection parks as usual.
  Fd other(connect_raw());
  write_all(other, "GET /park HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handles() == 3; }));
  for (size_t i = 0; i < 2; ++i) with_handle(i, [](HttpDeferred& h) { h.complete(text("done")); });
  std::string leftover;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "done");
  EXPECT_EQ(read_raw_response(fd, leftover).body, "done");
  auto refused = read_raw_response(fd, leftover);
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("too_many_parked"), std::string::npos) << refused.body;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "GET /after");  // the connection goes on
  with_handle(2, [](HttpDeferred& h) { h.complete(text("other")); });
  std::string other_leftover;
  EXPECT_EQ(read_raw_response(other, other_leftover).body, "other");
}

TEST_F(HttpDeferredTest, AParkedRequestOutlivesTheIdleTimeout) {
  HttpLimits limits;
  limits.idle_timeout = 100ms;
  start(limits);
  Fd fd(connect_raw());
  write_all(fd, "GET /park HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handles() == 1; }));
  std::this_thread::sleep_for(400ms);  // four idle timeouts: the wait is the server's
  EXPECT_EQ(stats().active, 1u);
  with_handle(0, [](HttpDeferred& h) { h.complete(text("done")); });
  std::string leftover;
  EXPECT_EQ(read_raw_response(fd, leftover).body, "done");
  // Once answered, the idle timeout applies again.
  EXPECT_TRUE(eventually([&] { return stats().active == 0; }, 2s));
}

TEST_F(HttpDeferredTest, AClientThatClosesWhileParkedIsForgottenAtOnce) {
  start();
  // Keep-alive, and a last request (Connection: close) after which nothing more is read.
  for (std::string_view connection : {"keep-alive", "close"}) {
    const int before = gone_;
    {
      Fd fd(connect_raw());
      write_all(fd, "GET /park HTTP/1.1\r\nHost: x\r\nConnection: " + std::string(connection) + "\r\n\r\n");
      ASSERT_TRUE(eventually([&] { return handles() == static_cast<size_t>(before + 1); }));
    }
    EXPECT_TRUE(eventually([&] { return gone_ == before + 1 && stats().active == 0; })) << connection;
    with_handle(before, [](HttpDeferred& h) {
      EXPECT_FALSE(h.open());
      h.complete(text("nobody"));  // harmless
    });
  }
  EXPECT_EQ(gone_, 2);
}

TEST_F(HttpDeferredTest, ClosingTheServerTellsParkedAndStreamingHandlers) {
  start();
  Fd a(connect_raw()), b(connect_raw());
  write_all(a, "GET /park HTTP/1.1\r\nHost: x\r\n\r\n");
  write_all(b, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handles() == 2; }));
  lt_.call([&] { server_->close(); });
  EXPECT_EQ(gone_, 2);
}

// Decodes a chunked body; the whole of it must be there, up to the last chunk.
std::string unchunk(std::string_view body) {
  std::string out;
  for (;;) {
    size_t eol = body.find("\r\n");
    if (eol == std::string_view::npos) throw std::runtime_error("chunked body cut short");
    size_t size = std::stoul(std::string(body.substr(0, eol)), nullptr, 16);
    body.remove_prefix(eol + 2);
    if (size == 0) return out;
    out += body.substr(0, size);
    body.remove_prefix(size + 2);
  }
}

TEST_F(HttpDeferredTest, AStreamSendsItsHeadThenEachChunkAndClosesAtTheEnd) {
  HttpLimits limits;
  limits.idle_timeout = 100ms;
  start(limits);
  Fd fd(connect_raw());
  // A request pipelined behind a stream is never served.
  write_all(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handles() == 1; }));
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos) got += read_some(fd);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_NE(got.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << got;
  EXPECT_NE(got.find("X-Kind: stream\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("Content-Length"), std::string::npos) << got;
  with_handle(0, [](HttpDeferred& h) { EXPECT_TRUE(h.write("first ")); });
  std::this_thread::sleep_for(300ms);  // no idle timeout while the stream is open
  with_handle(0, [](HttpDeferred& h) {
    EXPECT_TRUE(h.write(""));
    EXPECT_TRUE(h.write(std::string(70'000, 'x')));
    h.finish();
    EXPECT_FALSE(h.write("late"));
  });
  got += read_until_close(fd);
  std::string body = got.substr(got.find("\r\n\r\n") + 4);
  EXPECT_EQ(unchunk(body), "first " + std::string(70'000, 'x'));
  EXPECT_TRUE(body.ends_with("0\r\n\r\n"));
  EXPECT_EQ(handled_, 1);
  EXPECT_EQ(gone_, 0);
}

TEST_F(HttpDeferredTest, AnHttp10StreamRunsUntilTheClose) {
  start();
  Fd fd(connect_raw());
  write_all(fd, "GET /stream HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handles() == 1; }));
  with_handle(0, [](HttpDeferred& h) {
    h.write("raw ");
    h.write("bytes");
    h.finish();
  });
  std::string got = read_until_close(fd);
  EXPECT_EQ(got.find("Transfer-Encoding"), std::string::npos) << got;
  EXPECT_NE(got.find("Connection: close\r\n"), std::string::npos) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\nraw bytes")) << got;
}

TEST_F(HttpDeferredTest, AHeadRequestForAStreamGetsTheHeadOnly) {
  start();
  Fd fd(connect_raw());
  write_all(fd, "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got = read_until_close(fd);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
  EXPECT_TRUE(got.ends_with("\r\n\r\n")) << got;
  EXPECT_EQ(handles(), 0u);
}

TEST_F(HttpDeferredTest, AStreamReaderTooFarBehindIsCutAtTheBound) {
  HttpLimits limits;
  limits.max_stream_backlog = 256 * 1024;
  start(limits);
  Fd fd(connect_raw());
  write_all(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handles() == 1; }));
  // The client reads nothing: once the kernel's buffers are full, the server's unsent output
  // grows until it passes the bound. Each write is its own loop turn, so sends make progress.
  const std::string chunk(16 * 1024, 'y');
  size_t written = 0;
  bool cut = false;
  while (!cut && written < (256u << 20)) {
    cut = !with_handle(0, [&](HttpDeferred& h) { return h.write(chunk); });
    written += chunk.size();
  }
  EXPECT_TRUE(cut) << written << " bytes written without the reader being cut";
  EXPECT_TRUE(eventually([&] { return stats().active == 0; }));
  EXPECT_EQ(gone_, 0);  // the writer learnt it from write()
  with_handle(0, [](HttpDeferred& h) { EXPECT_FALSE(h.open()); });
}

TEST_F(HttpDeferredTest, HttpClientHandsAStreamsPiecesToItsSinkAsTheyArrive) {
  start();
  auto client = HttpClient::open("127.0.0.1:" + std::to_string(port_)).value();
  std::string got;
  std::thread writer([&] {
    ASSERT_TRUE(eventually([&] { return handles() == 1; }));
    with_handle(0, [](HttpDeferred& h) { h.write("one;"); });
    ASSERT_TRUE(eventually([&] { return got == "one;"; }));  // delivered before the next is written
    with_handle(0, [](HttpDeferred& h) {
      h.write("two;");
      h.finish();
    });
  });
  auto ended = client.get_stream("/stream", {}, 5s, [&](std::string_view piece) {
    got += piece;
    return true;
  });
  writer.join();
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_EQ(ended->status, 200);
  EXPECT_EQ(ended->header("X-Kind"), "stream");
  EXPECT_EQ(got, "one;two;");
  // The sink may stop it.
  std::thread second([&] {
    ASSERT_TRUE(eventually([&] { return handles() == 2; }));
    with_handle(1, [](HttpDeferred& h) { h.write("x"); });
  });
  int pieces = 0;
  auto stopped = client.get_stream("/stream", {}, 5s, [&](std::string_view) {
    ++pieces;
    return false;
  });
  second.join();
  ASSERT_TRUE(stopped) << stopped.error().message;
  EXPECT_EQ(pieces, 1);
  // Nothing arriving within the idle timeout is an error.
  auto idle = client.get_stream("/stream", {}, 200ms, [](std::string_view) { return true; });
  ASSERT_FALSE(idle);
  EXPECT_EQ(idle.error().code, "timed_out");
}

}  // namespace
}  // namespace roster::net
