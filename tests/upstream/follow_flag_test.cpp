// roster-server --follow NAME=ADDR[,ADDR...]: what parse_follow takes and what it refuses, naming why.
#include <gtest/gtest.h>

#include "roster/upstream/follower.hpp"

namespace roster::upstream {
namespace {

TEST(FollowFlag, TakesANameAndItsStreamAddresses) {
  auto one = parse_follow("global=10.0.0.1:7071");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->name, "global");
  EXPECT_EQ(one->addresses, std::vector<std::string>{"10.0.0.1:7071"});
  auto several = parse_follow("eu-west.1_a=10.0.0.1:7071,[::1]:7071,unix:/run/roster/stream.sock");
  ASSERT_TRUE(several) << several.error().message;
  EXPECT_EQ(several->name, "eu-west.1_a");
  EXPECT_EQ(several->addresses,
            (std::vector<std::string>{"10.0.0.1:7071", "[::1]:7071", "unix:/run/roster/stream.sock"}));
  EXPECT_TRUE(parse_follow(std::string(31, 'a') + "=127.0.0.1:1"));
}

TEST(FollowFlag, RefusesWhatIsNotNameEqualsAddressesNamingWhy) {
  const std::pair<std::string, std::string> refused[] = {
      {"global", "no '='"},
      {"=10.0.0.1:7071", "the registry's name must be 1 to 31"},
      {std::string(32, 'a') + "=127.0.0.1:1", "the registry's name must be 1 to 31"},
      {"Global=127.0.0.1:1", "the registry's name must be 1 to 31"},
      {"glo bal=127.0.0.1:1", "the registry's name must be 1 to 31"},
      {"a/b=127.0.0.1:1", "the registry's name must be 1 to 31"},
      {"global=", "invalid address"},
      {"global=10.0.0.1", "invalid address"},
      {"global=127.0.0.1:1,", "invalid address"},
      {"global=127.0.0.1:1,,127.0.0.1:2", "invalid address"},
  };
  for (auto& [text, why] : refused) {
    auto out = parse_follow(text);
    ASSERT_FALSE(out) << text;
    EXPECT_EQ(out.error().kind, ErrorKind::Invalid) << text;
    EXPECT_EQ(out.error().code, "invalid_follow") << text;
    EXPECT_NE(out.error().message.find("--follow \"" + text + "\""), std::string::npos) << out.error().message;
    EXPECT_NE(out.error().message.find(why), std::string::npos) << text << ": " << out.error().message;
  }
}

TEST(FollowFlag, EachRegistryIsFollowedOnce) {
  auto two = parse_follows({"global=127.0.0.1:1", "eu=127.0.0.1:2"});
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(two->size(), 2u);
  auto twice = parse_follows({"global=127.0.0.1:1", "global=127.0.0.1:2"});
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().message.find("registry global is followed twice"), std::string::npos)
      << twice.error().message;
  EXPECT_FALSE(parse_follows({"global=127.0.0.1:1", "bad"}));
}

}  // namespace
}  // namespace roster::upstream
