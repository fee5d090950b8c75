// Typed identities of the registry's records, and the one place that encodes them as the
// store's keys (store.hpp) and decodes them back.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "roster/base/result.hpp"
#include "roster/upstream/store.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::upstream {

struct VersionKey {
  std::string name, version;
  auto operator<=>(const VersionKey&) const = default;
  std::string to_string() const { return name + "@" + version; }  // for messages: "svc@1.2.0"
  static VersionKey of(const wire::ServiceVersion& v) { return {v.name()->str(), v.version()->str()}; }
};

struct InstanceKey {
  std::string service, version, id;
  auto operator<=>(const InstanceKey&) const = default;
  VersionKey version_key() const { return {service, version}; }
  std::string to_string() const { return "instance \"" + id + "\" of " + service + "@" + version; }
  static InstanceKey of(const wire::Instance& i) { return {i.service()->str(), i.version()->str(), i.id()->str()}; }
};

struct ContractKey {
  std::string consumer, consumer_version, provider;
  auto operator<=>(const ContractKey&) const = default;
  std::string to_string() const { return "contract of " + consumer + "@" + consumer_version + " with " + provider; }
  static ContractKey of(const wire::Contract& c) {
    return {c.consumer()->str(), c.consumer_version()->str(), c.provider()->str()};
  }
};

// Encoded store keys.
std::string store_key(const VersionKey& key);
std::string store_key(const InstanceKey& key);
std::string store_key(const ContractKey& key);

// Decoded store keys; Corrupt when the key does not have the kind's shape.
Result<VersionKey> version_key(std::string_view store_key);
Result<InstanceKey> instance_key(std::string_view store_key);
Result<ContractKey> contract_key(std::string_view store_key);

}  // namespace roster::upstream
