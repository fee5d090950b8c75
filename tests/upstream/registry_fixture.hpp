// A Registry over a real SQLite store in a fresh temporary directory, with an injected clock
// (`now_`, never sleeps); reopen() restarts both as a server restart would.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "roster/upstream/registry.hpp"
#include "roster/upstream/sqlite_store.hpp"

namespace roster::upstream {

class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           ("roster-" + std::string(test->test_suite_name()) + "-" + std::to_string(getpid()) + "-" + test->name());
    std::filesystem::remove_all(dir_);
    reopen();
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    registry_.reset();
    store_.reset();
    store_ = SqliteStore::open(dir_.string());
    registry_ = std::make_unique<Registry>(*store_, options_, [this] { return now_; });
  }

  std::filesystem::path dir_;
  RegistryOptions options_;
  int64_t now_ = 1'700'000'000'000;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Registry> registry_;
};

}  // namespace roster::upstream
