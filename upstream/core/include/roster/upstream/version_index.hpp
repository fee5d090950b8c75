// Each service's versions in precedence order (ties, which differ only in build metadata, by
// their text), pointing at the registry's stored records: listing a service's versions, finding
// its latest and the versions just below a candidate cost what they return, not a parse and sort
// of every version of the service on each write.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "roster/semver.hpp"
#include "roster/upstream/record_keys.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::upstream {

class VersionIndex {
 public:
  // `record`: the stored bytes of the version, at an address that stays valid until remove().
  // A version that is not SemVer is left out (the rules never let one in).
  void put(const VersionKey& key, const std::vector<uint8_t>* record);
  void remove(const VersionKey& key);

  // Ascending precedence.
  std::vector<const wire::ServiceVersion*> all(std::string_view service) const;
  // The version "latest" means (roster/model/version_choice.hpp), or null: by the lifecycle rule
  // among releases, or with `every_stage` the highest version not retired.
  const wire::ServiceVersion* latest(std::string_view service, bool every_stage) const;
  // The service's versions below `version`, highest first, until `visit` returns false.
  void below(std::string_view service, const semver::Version& version,
             const std::function<bool(const semver::Version&, const wire::ServiceVersion&)>& visit) const;

 private:
  using Versions = std::map<std::pair<semver::Version, std::string>, const std::vector<uint8_t>*>;
  const Versions* find(std::string_view service) const;
  std::map<std::string, Versions, std::less<>> by_service_;
};

}  // namespace roster::upstream
