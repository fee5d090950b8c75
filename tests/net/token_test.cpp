// load_token: where roster's daemons take their shared secret from, and in which order.
#include "roster/net/token.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "net_test_support.hpp"

namespace roster::net {
namespace {

using namespace testing;

// Sets ROSTER_TOKEN for one test and restores what was there.
class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = ::getenv(kTokenEnvironmentVariable)) saved_ = v;
    ::unsetenv(kTokenEnvironmentVariable);
  }
  void TearDown() override {
    if (saved_) ::setenv(kTokenEnvironmentVariable, saved_->c_str(), 1);
    else ::unsetenv(kTokenEnvironmentVariable);
  }
  std::string write_file(const std::string& text, mode_t mode = 0600) {
    std::string path = dir_.file("token");
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  TempDir dir_;
  std::optional<std::string> saved_;
};

TEST_F(TokenTest, NoneGivenIsNone) { EXPECT_EQ(load_token("", "").value(), std::nullopt); }

TEST_F(TokenTest, TheFileGivesItsFirstLineWithoutTrailingWhitespace) {
  ::setenv(kTokenEnvironmentVariable, "from-env", 1);  // a flag wins over the environment
  EXPECT_EQ(load_token("", write_file("s3cret \r\nsecond line\n")).value(), "s3cret");
}

TEST_F(TokenTest, TheEnvironmentIsUsedWhenNoFlagIs) {
  ::setenv(kTokenEnvironmentVariable, "from-env", 1);
  EXPECT_EQ(load_token("", "").value(), "from-env");
  EXPECT_EQ(load_token("from-flag", "").value(), "from-flag");
}

TEST_F(TokenTest, BothFlagsOrAnEmptyFileAreErrors) {
  auto both = load_token("a", write_file("b"));
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, "invalid_token_options");
  auto empty = load_token("", write_file("\n"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, "io_error");
  EXPECT_NE(empty.error().message.find(dir_.file("token")), std::string::npos) << empty.error().message;
  EXPECT_FALSE(load_token("", dir_.file("missing")));
}

}  // namespace
}  // namespace roster::net
