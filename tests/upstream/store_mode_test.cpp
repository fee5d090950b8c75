// The SQLite store's files are the server's alone: the data dir 0700, its files 0600, and a data
// dir anyone may write into is refused.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "roster/upstream/sqlite_store.hpp"

namespace roster::upstream {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st.st_mode & 07777;
}

class StoreModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/roster_store_mode_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << std::strerror(errno);
    root_ = tmpl;
    old_umask_ = ::umask(022);  // the usual one, which would leave files 0644 and dirs 0755
  }
  void TearDown() override {
    ::umask(old_umask_);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string root_;
  mode_t old_umask_ = 0;
};

TEST_F(StoreModeTest, ANewDataDirIs0700AndItsFiles0600) {
  const std::string dir = root_ + "/var/roster/";  // a parent to create too, and a trailing slash
  auto store = SqliteStore::open(dir).value();
  std::vector<Mutation> put{{RecordKind::ServicePolicy, "a", std::vector<uint8_t>{1, 2, 3}}};
  ASSERT_TRUE(store->commit(put));
  EXPECT_EQ(mode_of(root_ + "/var/roster"), 0700u);
  for (const char* name : {"roster.db", "roster.db-wal", "roster.db-shm", "roster.lock"})
    EXPECT_EQ(mode_of(root_ + "/var/roster/" + name), 0600u) << name;
}

TEST_F(StoreModeTest, AnExistingDataDirKeepsItsMode) {
  const std::string dir = root_ + "/data";
  ASSERT_EQ(::mkdir(dir.c_str(), 0750), 0);
  ASSERT_TRUE(SqliteStore::open(dir));
  EXPECT_EQ(mode_of(dir), 0750u);
  EXPECT_EQ(mode_of(dir + "/roster.db"), 0600u);
}

TEST_F(StoreModeTest, ADataDirAnyoneMayWriteIsRefused) {
  const std::string dir = root_ + "/data";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 01777), 0);  // sticky or not: anyone may add files
  auto store = SqliteStore::open(dir);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().kind, ErrorKind::Io);
  EXPECT_NE(store.error().message.find(dir + " is writable by anyone (mode 1777)"), std::string::npos)
      << store.error().message;
  EXPECT_FALSE(fs::exists(dir + "/roster.db"));  // refused before anything was made in it
}

}  // namespace
}  // namespace roster::upstream
