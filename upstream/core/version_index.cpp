#include "roster/upstream/version_index.hpp"

#include "roster/model/version_choice.hpp"

namespace roster::upstream {

namespace {
const wire::ServiceVersion* record_of(const std::vector<uint8_t>* bytes) {
  return flatbuffers::GetRoot<wire::ServiceVersion>(bytes->data());
}
}  // namespace

void VersionIndex::put(const VersionKey& key, const std::vector<uint8_t>* record) {
  auto parsed = semver::Version::parse(key.version);
  if (!parsed) return;
  by_service_[key.name][{std::move(*parsed), key.version}] = record;
}

void VersionIndex::remove(const VersionKey& key) {
  auto service = by_service_.find(key.name);
  auto parsed = semver::Version::parse(key.version);
  if (service == by_service_.end() || !parsed) return;
  service->second.erase({std::move(*parsed), key.version});
  if (service->second.empty()) by_service_.erase(service);
}

const VersionIndex::Versions* VersionIndex::find(std::string_view service) const {
  auto it = by_service_.find(service);
  return it == by_service_.end() ? nullptr : &it->second;
}

std::vector<const wire::ServiceVersion*> VersionIndex::all(std::string_view service) const {
  std::vector<const wire::ServiceVersion*> out;
  if (auto* versions = find(service))
    for (auto& [key, bytes] : *versions) out.push_back(record_of(bytes));
  return out;
}

const wire::ServiceVersion* VersionIndex::latest(std::string_view service, bool every_stage) const {
  auto* versions = find(service);
  if (!versions) return nullptr;
  const auto choice = model::choose_latest(
      versions->begin(), versions->end(), [](const auto& entry) { return record_of(entry.second)->stage(); },
      [](const auto& entry) -> const semver::Version& { return entry.first.first; }, every_stage);
  return choice.chosen == versions->end() ? nullptr : record_of(choice.chosen->second);
}

void VersionIndex::below(std::string_view service, const semver::Version& version,
                         const std::function<bool(const semver::Version&, const wire::ServiceVersion&)>& visit) const {
  auto* versions = find(service);
  if (!versions) return;
  // The first entry at or above `version` (whatever its text), then down from the one before it.
  auto it = versions->lower_bound({version, std::string()});
  while (it != versions->begin()) {
    --it;
    if (!visit(it->first.first, *record_of(it->second))) return;
  }
}

}  // namespace roster::upstream
