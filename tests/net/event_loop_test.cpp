#include "roster/net/event_loop.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "roster/net/socket.hpp"
#include "net_test_support.hpp"

namespace roster::net {
namespace {

using namespace testing;

// Echoes every connection back to itself until EOF. Lives on the loop thread.
struct EchoServer {
  explicit EchoServer(EventLoop& l) : loop(l) {}

  struct Conn {
    int fd;
    std::array<uint8_t, 4096> buffer;
  };

  void start(int listen_fd) {
    loop.accept(listen_fd, [this](int fd) {
      if (fd < 0) {
        accept_result = fd;
        return;
      }
      ++accepted;
      auto conn = std::make_shared<Conn>();
      conn->fd = fd;
      read(conn);
    });
  }

  void read(std::shared_ptr<Conn> conn) {
    loop.recv(conn->fd, conn->buffer, [this, conn](ssize_t n) {
      if (n <= 0) {
        loop.close(conn->fd);
        ++closed;
        return;
      }
      auto bytes = std::make_shared<std::vector<uint8_t>>(conn->buffer.begin(), conn->buffer.begin() + n);
      loop.send_all(conn->fd, bytes, 0, [this, conn](ssize_t sent) {
        if (sent < 0) {
          loop.close(conn->fd);
          ++closed;
          return;
        }
        read(conn);
      });
    });
  }

  EventLoop& loop;
  std::atomic<int> accepted{0};
  std::atomic<int> closed{0};
  std::atomic<int> accept_result{1};
};

void expect_echo(int fd, const std::string& message) {
  write_all(fd, message);
  EXPECT_EQ(read_exact(fd, message.size()), message);
}

void stop_listening(LoopThread& lt, EchoServer& echo, int listen_fd) {
  lt.call([&] { lt.loop.close(listen_fd); });
  EXPECT_TRUE(eventually([&] { return echo.accept_result.load() == -ECANCELED; }));
  EXPECT_TRUE(eventually([&] { return lt.call([&] { return lt.loop.pending_operations(); }) == 0; }));
}

TEST(EventLoop, EchoesOverTcp) {
  LoopThread lt;
  EchoServer echo(lt.loop);
  int listen_fd = listen_tcp("127.0.0.1", 0).value();
  uint16_t port = local_port(listen_fd);
  ASSERT_NE(port, 0);
  lt.call([&] { echo.start(listen_fd); });
  {
    Fd client(connect_tcp_blocking("127.0.0.1", port).value());
    expect_echo(client, "hello");
    expect_echo(client, std::string(100'000, 'x'));  // more than one recv buffer
  }
  EXPECT_TRUE(eventually([&] { return echo.closed.load() == 1; }));
  stop_listening(lt, echo, listen_fd);
}

TEST(EventLoop, EchoesOverUnixSocket) {
  TempDir dir;
  std::string path = dir.file("echo.sock");
  LoopThread lt;
  EchoServer echo(lt.loop);
  int listen_fd = listen_unix(path).value();
  lt.call([&] { echo.start(listen_fd); });
  {
    Fd client(connect_unix_blocking(path).value());
    expect_echo(client, "over a unix socket");
  }
  EXPECT_TRUE(eventually([&] { return echo.closed.load() == 1; }));
  stop_listening(lt, echo, listen_fd);
}

TEST(EventLoop, ServesManyConcurrentConnections) {
  constexpr int kClients = 200;
  LoopThread lt;
  EchoServer echo(lt.loop);
  int listen_fd = listen_tcp("127.0.0.1", 0).value();
  uint16_t port = local_port(listen_fd);
  lt.call([&] { echo.start(listen_fd); });
  std::vector<std::unique_ptr<Fd>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(std::make_unique<Fd>(connect_tcp_blocking("127.0.0.1", port).value()));
  // Everyone writes before anyone reads: the loop holds all the connections at once.
  for (int i = 0; i < kClients; ++i) write_all(*clients[i], "client-" + std::to_string(i) + ";");
  for (int i = 0; i < kClients; ++i) {
    std::string expected = "client-" + std::to_string(i) + ";";
    EXPECT_EQ(read_exact(*clients[i], expected.size()), expected);
  }
  EXPECT_EQ(echo.accepted.load(), kClients);
  clients.clear();
  EXPECT_TRUE(eventually([&] { return echo.closed.load() == kClients; }));
  stop_listening(lt, echo, listen_fd);
}

TEST(EventLoop, TimersFireInDeadlineOrderAndCancelWorks) {
  LoopThread lt;
  std::vector<std::string> fired;  // loop thread only
  auto start = std::chrono::steady_clock::now();
  std::map<std::string, std::chrono::milliseconds> at;
  bool cancelled = false, cancelled_twice = true;
  lt.call([&] {
    auto record = [&](std::string name) {
      return [&, name] {
        fired.push_back(name);
        at[name] = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      };
    };
    lt.loop.after(60ms, record("a"));
    lt.loop.after(20ms, record("b"));
    lt.loop.after(40ms, record("c"));
    lt.loop.after(20ms, record("d"));  // same deadline as b: set later, fires later
    auto x = lt.loop.after(30ms, record("x"));
    cancelled = lt.loop.cancel_timer(x);
    cancelled_twice = lt.loop.cancel_timer(x);
  });
  EXPECT_TRUE(cancelled);
  EXPECT_FALSE(cancelled_twice);
  ASSERT_TRUE(eventually([&] { return lt.call([&] { return fired.size(); }) == 4; }));
  std::this_thread::sleep_for(20ms);  // x would have fired by now
  lt.call([&] {
    EXPECT_EQ(fired, (std::vector<std::string>{"b", "d", "c", "a"}));
    EXPECT_GE(at["b"], 20ms);
    EXPECT_GE(at["c"], 40ms);
    EXPECT_GE(at["a"], 60ms);
  });
  // A timer that already ran cannot be cancelled.
  EventLoop::TimerId done = lt.call([&] { return lt.loop.after(0ms, [] {}); });
  ASSERT_TRUE(eventually([&] { return lt.call([&] { return !lt.loop.cancel_timer(done); }); }));
}

TEST(EventLoop, TimerThatRearmsItselfDoesNotStarveTheLoop) {
  LoopThread lt;
  std::atomic<int> ticks{0};
  std::function<void()> tick = [&] {
    if (++ticks < 1000) lt.loop.after(0ms, tick);
  };
  lt.call([&] { lt.loop.after(0ms, tick); });
  // Posted work still runs while the timer keeps re-arming itself.
  EXPECT_TRUE(lt.call([&] { return true; }));
  EXPECT_TRUE(eventually([&] { return ticks.load() == 1000; }));
}

TEST(EventLoop, PostRunsTasksOnTheLoopThreadInOrderPerPoster) {
  constexpr int kThreads = 4;
  constexpr int kTasks = 2000;
  LoopThread lt;
  int total = 0;  // loop thread only: no lock needed if every task runs there
  std::array<int, kThreads> last{};
  last.fill(-1);
  std::atomic<int> off_thread{0};
  std::atomic<int> out_of_order{0};
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kTasks; ++i) {
        lt.loop.post([&, t, i] {
          if (!lt.loop.in_loop_thread()) ++off_thread;
          if (last[t] != i - 1) ++out_of_order;
          last[t] = i;
          ++total;
        });
      }
    });
  }
  for (auto& p : posters) p.join();
  EXPECT_TRUE(eventually([&] { return lt.call([&] { return total; }) == kThreads * kTasks; }));
  EXPECT_EQ(off_thread.load(), 0);
  EXPECT_EQ(out_of_order.load(), 0);
}

TEST(EventLoop, StopEndsRunFromAnotherThreadAndRunCanResume) {
  EventLoop loop;
  loop.stop();  // before run: run returns at once
  loop.run();

  std::atomic<bool> ran{false};
  std::thread runner([&] { loop.run(); });
  loop.post([&] { ran = true; });
  EXPECT_TRUE(eventually([&] { return ran.load(); }));
  auto t0 = std::chrono::steady_clock::now();
  loop.stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);

  // The loop works again after a stop.
  std::atomic<bool> again{false};
  std::thread second([&] { loop.run(); });
  loop.post([&] {
    again = true;
    loop.stop();
  });
  second.join();
  EXPECT_TRUE(again.load());
}

// Accepts one connection on the loop and hands its fd back to the test.
int accept_one(LoopThread& lt, int listen_fd) {
  std::promise<int> accepted;
  bool first = true;
  lt.call([&] {
    lt.loop.accept(listen_fd, [&](int fd) {
      if (fd >= 0 && first) {
        first = false;
        accepted.set_value(fd);
      }
    });
  });
  int fd = accepted.get_future().get();
  lt.call([&] { lt.loop.close(listen_fd); });
  return fd;
}

std::shared_ptr<std::vector<uint8_t>> pattern(size_t size) {
  auto bytes = std::make_shared<std::vector<uint8_t>>(size);
  for (size_t i = 0; i < size; ++i) (*bytes)[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
  return bytes;
}

TEST(EventLoop, SendAllDeliversTenMegabytesToSlowReaders) {
  constexpr size_t kSize = 10 * 1024 * 1024;
  constexpr int kReaders = 3;
  constexpr size_t kOffset = 1000;  // the last reader starts part way in
  LoopThread lt;
  auto bytes = pattern(kSize);
  std::weak_ptr<std::vector<uint8_t>> watch = bytes;
  std::vector<std::unique_ptr<Fd>> clients;
  std::vector<int> server_fds;
  for (int i = 0; i < kReaders; ++i) {
    int listen_fd = listen_tcp("127.0.0.1", 0).value();
    uint16_t port = local_port(listen_fd);
    // A small receive buffer on the client makes the sender block and resume many times.
    int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 16 * 1024;
    ::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    auto address = parse_address("127.0.0.1:" + std::to_string(port)).value();
    ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&address.storage), address.length), 0);
    clients.push_back(std::make_unique<Fd>(client));
    server_fds.push_back(accept_one(lt, listen_fd));
  }
  std::vector<std::atomic<ssize_t>> results(kReaders);
  for (auto& r : results) r = 1;
  lt.call([&] {
    for (int i = 0; i < kReaders; ++i) {
      lt.loop.send_all(server_fds[i], bytes, i == kReaders - 1 ? kOffset : 0,
                       [&, i](ssize_t n) { results[i] = n; });
    }
  });
  bytes.reset();  // the loop's copies of the shared_ptr keep the buffer alive
  std::vector<std::thread> readers;
  std::vector<std::string> received(kReaders);
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&, i] {
      size_t want = kSize - (i == kReaders - 1 ? kOffset : 0);
      while (received[i].size() < want) {
        std::string chunk = read_some(*clients[i]);
        if (chunk.empty()) break;
        received[i] += chunk;
        if (received[i].size() % (512 * 1024) < chunk.size()) std::this_thread::sleep_for(2ms);  // slow
      }
    });
  }
  for (auto& r : readers) r.join();
  auto expected = pattern(kSize);
  for (int i = 0; i < kReaders; ++i) {
    size_t offset = i == kReaders - 1 ? kOffset : 0;
    EXPECT_TRUE(eventually([&] { return results[i].load() == static_cast<ssize_t>(kSize - offset); }))
        << "reader " << i << " result " << results[i].load();
    ASSERT_EQ(received[i].size(), kSize - offset);
    EXPECT_EQ(std::memcmp(received[i].data(), expected->data() + offset, received[i].size()), 0) << "reader " << i;
  }
  EXPECT_TRUE(watch.expired());  // the loop let go of the shared buffer
  lt.call([&] {
    for (int fd : server_fds) lt.loop.close(fd);
  });
}

TEST(EventLoop, CloseCancelsPendingOperationsWithEcanceled) {
  LoopThread lt;
  int listen_fd = listen_tcp("127.0.0.1", 0).value();
  uint16_t port = local_port(listen_fd);
  Fd client(connect_tcp_blocking("127.0.0.1", port).value());
  int server_fd = accept_one(lt, listen_fd);

  std::promise<ssize_t> recv_result, send_result;
  std::array<uint8_t, 64> buffer{};
  lt.call([&] {
    lt.loop.recv(server_fd, buffer, [&](ssize_t n) { recv_result.set_value(n); });
    // The client never reads: this send stalls once the socket buffers fill.
    lt.loop.send_all(server_fd, pattern(8 * 1024 * 1024), 0, [&](ssize_t n) { send_result.set_value(n); });
  });
  std::this_thread::sleep_for(20ms);
  lt.call([&] { lt.loop.close(server_fd); });
  EXPECT_EQ(recv_result.get_future().get(), -ECANCELED);
  EXPECT_EQ(send_result.get_future().get(), -ECANCELED);

  // A pending accept is cancelled the same way.
  int listen2 = listen_tcp("127.0.0.1", 0).value();
  std::promise<int> accept_result;
  lt.call([&] { lt.loop.accept(listen2, [&](int fd) { accept_result.set_value(fd); }); });
  lt.call([&] { lt.loop.close(listen2); });
  EXPECT_EQ(accept_result.get_future().get(), -ECANCELED);
  EXPECT_EQ(lt.call([&] { return lt.loop.pending_operations(); }), 0u);
}

TEST(EventLoop, CloseFromInsideACallbackCancelsTheOtherOps) {
  LoopThread lt;
  int listen_fd = listen_tcp("127.0.0.1", 0).value();
  Fd client(connect_tcp_blocking("127.0.0.1", local_port(listen_fd)).value());
  int server_fd = accept_one(lt, listen_fd);
  std::promise<ssize_t> recv_result;
  std::promise<void> timer_done;
  std::array<uint8_t, 64> buffer{};
  lt.call([&] {
    lt.loop.recv(server_fd, buffer, [&](ssize_t n) { recv_result.set_value(n); });
    lt.loop.after(5ms, [&] {
      lt.loop.close(server_fd);
      timer_done.set_value();
    });
  });
  timer_done.get_future().get();
  EXPECT_EQ(recv_result.get_future().get(), -ECANCELED);
}

TEST(EventLoop, ConnectReportsSuccessAndRefusal) {
  LoopThread lt;
  int listen_fd = listen_tcp("127.0.0.1", 0).value();
  auto good = parse_address("127.0.0.1:" + std::to_string(local_port(listen_fd))).value();
  int closed_listener = listen_tcp("127.0.0.1", 0).value();
  auto refused = parse_address("127.0.0.1:" + std::to_string(local_port(closed_listener))).value();
  ::close(closed_listener);

  std::promise<int> ok, no;
  int fd1 = open_stream_socket(good).value();
  int fd2 = open_stream_socket(refused).value();
  lt.call([&] {
    lt.loop.connect(fd1, good.storage, good.length, [&](int r) { ok.set_value(r); });
    lt.loop.connect(fd2, refused.storage, refused.length, [&](int r) { no.set_value(r); });
  });
  EXPECT_EQ(ok.get_future().get(), 0);
  EXPECT_EQ(no.get_future().get(), -ECONNREFUSED);
  lt.call([&] {
    lt.loop.close(fd1);
    lt.loop.close(fd2);
  });
  ::close(listen_fd);
}

TEST(EventLoop, DestructorCancelsPendingOperationsWithoutCallingBack) {
  int listen_fd = listen_tcp("127.0.0.1", 0).value();
  Fd client(connect_tcp_blocking("127.0.0.1", local_port(listen_fd)).value());
  bool called = false;
  auto buffer = std::make_unique<std::array<uint8_t, 64>>();
  {
    LoopThread lt;
    int server_fd = accept_one(lt, listen_fd);
    lt.call([&] { lt.loop.recv(server_fd, *buffer, [&](ssize_t) { called = true; }); });
    lt.stop();
    ::close(server_fd);
  }  // ~EventLoop cancels the recv and waits for the kernel to drop it
  buffer.reset();
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace roster::net
