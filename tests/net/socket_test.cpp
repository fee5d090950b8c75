#include "roster/net/socket.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <fstream>

#include "net_test_support.hpp"

namespace roster::net {
namespace {

using namespace testing;

TEST(Socket, ParsesTcpAndUnixAddresses) {
  auto v4 = parse_address("127.0.0.1:7000").value();
  EXPECT_EQ(v4.family(), AF_INET);
  EXPECT_EQ(v4.to_string(), "127.0.0.1:7000");
  EXPECT_EQ(v4.length, sizeof(sockaddr_in));

  auto v6 = parse_address("[::1]:80").value();
  EXPECT_EQ(v6.family(), AF_INET6);
  EXPECT_EQ(v6.to_string(), "[::1]:80");

  auto un = parse_address("unix:/run/roster/agent.sock").value();
  EXPECT_TRUE(un.is_unix());
  EXPECT_EQ(un.to_string(), "unix:/run/roster/agent.sock");

  EXPECT_EQ(parse_address("localhost:0")->to_string(), "127.0.0.1:0");  // IPv4 preferred
}

TEST(Socket, RejectsMalformedAddressesSayingWhy) {
  auto message = [](std::string_view text) {
    auto parsed = parse_address(text);
    if (parsed) return std::string("no error");
    EXPECT_EQ(parsed.error().kind, ErrorKind::Invalid);
    EXPECT_EQ(parsed.error().code, "invalid_address");
    return parsed.error().message;
  };
  EXPECT_NE(message("127.0.0.1").find("expected HOST:PORT or unix:PATH"), std::string::npos);
  EXPECT_NE(message("127.0.0.1:70000").find("port \"70000\""), std::string::npos);
  EXPECT_NE(message("127.0.0.1:http").find("port \"http\""), std::string::npos);
  EXPECT_NE(message(":7000").find("missing host"), std::string::npos);
  EXPECT_NE(message("::1:7000").find("brackets"), std::string::npos);
  EXPECT_NE(message("[::1]7000").find("expected :PORT"), std::string::npos);
  EXPECT_NE(message("unix:").find("empty unix socket path"), std::string::npos);
  EXPECT_NE(message("unix:/" + std::string(200, 'a')).find("limit is 107"), std::string::npos);
  EXPECT_NE(message("no-such-host.invalid:80").find("cannot resolve host"), std::string::npos);
}

TEST(Socket, ListensOnAnEphemeralTcpPort) {
  Fd listener(listen_tcp("127.0.0.1", 0).value());
  uint16_t port = local_port(listener);
  EXPECT_NE(port, 0);
  Fd client(connect_tcp_blocking("127.0.0.1", port).value());
  EXPECT_GE(client.fd, 0);
}

TEST(Socket, ListenUnixReplacesOnlyAStaleSocketFile) {
  TempDir dir;
  std::string path = dir.file("roster.sock");
  ::close(listen_unix(path).value());  // the file stays behind: stale
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  Fd live(listen_unix(path).value());  // replaces it
  Fd client(connect_unix_blocking(path).value());

  auto replaced = listen_unix(path);
  ASSERT_FALSE(replaced) << "a live socket was replaced";
  EXPECT_EQ(replaced.error().code, "listen_failed");
  EXPECT_EQ(replaced.error().message,
            "listen on unix:" + path + ": another server is listening there: Address already in use");

  std::string regular = dir.file("not-a-socket");
  std::ofstream(regular) << "keep me";
  auto clobbered = listen_unix(regular);
  ASSERT_FALSE(clobbered) << "a regular file was replaced";
  EXPECT_NE(clobbered.error().message.find("not a socket"), std::string::npos);
  std::ifstream in(regular);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "keep me");
}

TEST(Socket, ConnectRefusedNamesTheAddress) {
  int probe = listen_tcp("127.0.0.1", 0).value();
  uint16_t port = local_port(probe);
  ::close(probe);
  auto refused = connect_tcp_blocking("127.0.0.1", port);
  ASSERT_FALSE(refused) << "connect succeeded";
  EXPECT_EQ(refused.error().kind, ErrorKind::Unavailable);
  EXPECT_EQ(refused.error().code, "connect_failed");
  EXPECT_EQ(refused.error().message, "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
  TempDir dir;
  auto missing = connect_unix_blocking(dir.file("nobody.sock"));
  ASSERT_FALSE(missing) << "connect succeeded";
  EXPECT_EQ(missing.error().message, "connect to unix:" + dir.file("nobody.sock") + ": No such file or directory");
}

TEST(Socket, BindConflictNamesTheAddress) {
  Fd first(listen_tcp("127.0.0.1", 0).value());
  uint16_t port = local_port(first);
  auto second = listen_tcp("127.0.0.1", port);
  ASSERT_FALSE(second) << "bound twice";
  EXPECT_EQ(second.error().kind, ErrorKind::Io);
  EXPECT_EQ(second.error().code, "listen_failed");
  EXPECT_EQ(second.error().message, "bind 127.0.0.1:" + std::to_string(port) + ": Address already in use");
}

TEST(Socket, OnlyLoopbackAndUnixSocketsAreLocal) {
  for (std::string_view local : {"127.0.0.1:1", "127.1.2.3:1", "[::1]:1", "[::ffff:127.0.0.1]:1", "localhost:1",
                                 "unix:/run/roster.sock"})
    EXPECT_TRUE(parse_address(local).value().is_local()) << local;
  for (std::string_view network : {"0.0.0.0:1", "[::]:1", "10.0.0.1:1", "[::ffff:10.0.0.1]:1", "[2001:db8::1]:1"})
    EXPECT_FALSE(parse_address(network).value().is_local()) << network;
}

TEST(Socket, PeerIpNamesTheClientAddress) {
  Fd listener(listen_tcp("127.0.0.1", 0).value());
  set_nonblocking(listener, false);
  Fd client(connect_from("127.0.0.2", local_port(listener)));
  Fd accepted(::accept(listener, nullptr, nullptr));
  EXPECT_EQ(peer_ip(accepted), "127.0.0.2");

  TempDir dir;
  const std::string path = dir.file("s.sock");
  Fd unix_listener(listen_unix(path).value());
  Fd unix_client(connect_unix_blocking(path).value());
  EXPECT_TRUE(eventually([&] {
    int fd = ::accept(unix_listener, nullptr, nullptr);
    if (fd < 0) return false;
    EXPECT_EQ(peer_ip(fd), "");  // no address: per-address limits do not apply
    ::close(fd);
    return true;
  }));
}

}  // namespace
}  // namespace roster::net
