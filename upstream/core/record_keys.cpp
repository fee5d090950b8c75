#include "roster/upstream/record_keys.hpp"

#include <vector>

namespace roster::upstream {

namespace {

std::string joined(std::initializer_list<std::string_view> fields) {
  std::string key;
  bool first = true;
  for (auto field : fields) {
    if (!first) key.push_back('\0');
    key.append(field);
    first = false;
  }
  return key;
}

Result<std::vector<std::string_view>> fields(std::string_view key, size_t count, std::string_view kind) {
  auto parts = key_parts(key);
  if (parts.size() != count)
    return fail(ErrorKind::Corrupt, "corrupt_key",
                "a stored " + std::string(kind) + " key has " + std::to_string(parts.size()) + " fields, not " +
                    std::to_string(count));
  return parts;
}

}  // namespace

std::string store_key(const VersionKey& k) { return joined({k.name, k.version}); }
std::string store_key(const InstanceKey& k) { return joined({k.service, k.version, k.id}); }
std::string store_key(const ContractKey& k) { return joined({k.consumer, k.consumer_version, k.provider}); }

Result<VersionKey> version_key(std::string_view key) {
  auto f = fields(key, 2, "service version");
  if (!f) return fail(f.error());
  return VersionKey{std::string((*f)[0]), std::string((*f)[1])};
}

Result<InstanceKey> instance_key(std::string_view key) {
  auto f = fields(key, 3, "instance");
  if (!f) return fail(f.error());
  return InstanceKey{std::string((*f)[0]), std::string((*f)[1]), std::string((*f)[2])};
}

Result<ContractKey> contract_key(std::string_view key) {
  auto f = fields(key, 3, "contract");
  if (!f) return fail(f.error());
  return ContractKey{std::string((*f)[0]), std::string((*f)[1]), std::string((*f)[2])};
}

}  // namespace roster::upstream
