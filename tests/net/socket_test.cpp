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
  auto v4 = parse_address("127.0.0.1:7000");
  EXPECT_EQ(v4.family(), AF_INET);
  EXPECT_EQ(v4.to_string(), "127.0.0.1:7000");
  EXPECT_EQ(v4.length, sizeof(sockaddr_in));

  auto v6 = parse_address("[::1]:80");
  EXPECT_EQ(v6.family(), AF_INET6);
  EXPECT_EQ(v6.to_string(), "[::1]:80");

  auto un = parse_address("unix:/run/roster/agent.sock");
  EXPECT_TRUE(un.is_unix());
  EXPECT_EQ(un.to_string(), "unix:/run/roster/agent.sock");

  EXPECT_EQ(parse_address("localhost:0").to_string(), "127.0.0.1:0");  // IPv4 preferred
}

TEST(Socket, RejectsMalformedAddressesSayingWhy) {
  auto message = [](std::string_view text) {
    try {
      parse_address(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
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
  Fd listener(listen_tcp("127.0.0.1", 0));
  uint16_t port = local_port(listener);
  EXPECT_NE(port, 0);
  Fd client(connect_tcp_blocking("127.0.0.1", port));
  EXPECT_GE(client.fd, 0);
}

TEST(Socket, ListenUnixReplacesOnlyAStaleSocketFile) {
  TempDir dir;
  std::string path = dir.file("roster.sock");
  ::close(listen_unix(path));  // the file stays behind: stale
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  Fd live(listen_unix(path));  // replaces it
  Fd client(connect_unix_blocking(path));

  try {
    listen_unix(path);
    FAIL() << "a live socket was replaced";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find("another server is listening"), std::string::npos);
  }

  std::string regular = dir.file("not-a-socket");
  std::ofstream(regular) << "keep me";
  try {
    listen_unix(regular);
    FAIL() << "a regular file was replaced";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("not a socket"), std::string::npos);
  }
  std::ifstream in(regular);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "keep me");
}

TEST(Socket, ConnectRefusedNamesTheAddress) {
  int probe = listen_tcp("127.0.0.1", 0);
  uint16_t port = local_port(probe);
  ::close(probe);
  try {
    ::close(connect_tcp_blocking("127.0.0.1", port));
    FAIL() << "connect succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ECONNREFUSED);
    EXPECT_NE(std::string(e.what()).find("connect to 127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
  }
  TempDir dir;
  try {
    ::close(connect_unix_blocking(dir.file("nobody.sock")));
    FAIL() << "connect succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOENT);
    EXPECT_NE(std::string(e.what()).find("nobody.sock"), std::string::npos) << e.what();
  }
}

TEST(Socket, BindConflictNamesTheAddress) {
  Fd first(listen_tcp("127.0.0.1", 0));
  uint16_t port = local_port(first);
  try {
    ::close(listen_tcp("127.0.0.1", port));
    FAIL() << "bound twice";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find("bind 127.0.0.1:" + std::to_string(port)), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace roster::net
