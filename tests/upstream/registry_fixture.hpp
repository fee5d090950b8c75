// A Registry over a real store, with an injected clock (`now_`, never sleeps); reopen() restarts
// both as a server restart would. The store is SQLite in a fresh temporary directory, or, when
// ROSTER_TEST_STORE=etcd (ctest runs these suites both ways), a real one-member etcd started for
// the test process with that directory's path as the key prefix. The write helpers
// cross the JSON boundary as the HTTP face does: decode the document, then hand the records over.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <cstdlib>
#include <memory>
#include <thread>

#include "etcd_process.hpp"
#include "roster/upstream/etcd_store.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/upstream/sqlite_store.hpp"
#include "roster/wire/json_decoder.hpp"

namespace roster::upstream {

class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name =
        "roster-" + std::string(test->test_suite_name()) + "-" + std::to_string(getpid()) + "-" + test->name();
    std::replace(name.begin(), name.end(), '/', '_');  // parameterised tests: Suite/Test/0, one directory
    dir_ = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(dir_);
    reopen();
    start_revision_ = registry_->revision();
  }
  void TearDown() override {
    registry_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    registry_.reset();
    store_.reset();
    Cluster* cluster = nullptr;
    if (on_etcd()) {
      static std::unique_ptr<EtcdProcess> etcd = EtcdProcess::start();  // one per test process
      auto store = EtcdStore::open({.endpoints = {etcd->endpoint()}, .prefix = dir_.string() + "/"}).value();
      // Alone on its prefix, it wins the election within a session step; a registry whose clock
      // the test drives should not depend on that timing.
      for (int i = 0; i < 200 && !store->leads(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      cluster = store.get();
      store_ = std::move(store);
    } else {
      store_ = SqliteStore::open(dir_.string()).value();
    }
    registry_ = Registry::open(*store_, options_, [this] { return now_; }, cluster).value();
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

  // How many revisions were committed since the test began (a shared store's revision numbers
  // have gaps, so tests count commits rather than compare numbers).
  size_t commits() const {
    auto frames = registry_->frames_since(start_revision_);
    return frames ? frames->size() : SIZE_MAX;
  }

  std::filesystem::path dir_;
  uint64_t start_revision_ = 0;
  RegistryOptions options_;
  int64_t now_ = 1'700'000'000'000;
  wire::JsonDecoder decoder_;
  static bool on_etcd() {
    const char* store = std::getenv("ROSTER_TEST_STORE");
    return store && std::string_view(store) == "etcd";
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<Registry> registry_;
};

}  // namespace roster::upstream
