// A Registry over a real SQLite store in a fresh temporary directory, with an injected clock
// (`now_`, never sleeps); reopen() restarts both as a server restart would. The write helpers
// cross the JSON boundary as the HTTP face does: decode the document, then hand the records over.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "roster/upstream/registry.hpp"
#include "roster/upstream/sqlite_store.hpp"
#include "roster/wire/json_decoder.hpp"

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
    store_ = SqliteStore::open(dir_.string()).value();
    registry_ = Registry::open(*store_, options_, [this] { return now_; }).value();
  }

  // A refused document, as the face would refuse it.
  static WriteResult undecodable(const wire::DecodedDocument& doc) {
    return refuse(ErrorKind::Invalid, "invalid_document", doc.errors.front().message, doc.errors.front().where);
  }
  WriteResult put_version(std::string_view json, WriteOptions options = {}) {
    auto doc = decoder_.decode(json);
    if (!doc.ok()) return undecodable(doc);
    return registry_->put_version(doc.services[0], doc.instances, options);
  }
  WriteResult import(std::string_view json, WriteOptions options = {}) {
    auto doc = decoder_.decode(json);
    if (!doc.ok()) return undecodable(doc);
    return registry_->import(doc, options);
  }
  WriteResult put_instance(std::string_view service, std::string_view version, std::string_view json,
                           std::optional<std::chrono::milliseconds> ttl = std::nullopt) {
    auto doc = decoder_.decode_instance(json, service, version);
    if (!doc.ok()) return undecodable(doc);
    return registry_->put_instance(doc.instances[0], ttl);
  }

  std::filesystem::path dir_;
  RegistryOptions options_;
  int64_t now_ = 1'700'000'000'000;
  wire::JsonDecoder decoder_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Registry> registry_;
};

}  // namespace roster::upstream
