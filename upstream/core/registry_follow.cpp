// The Registry's side of following another registry (roster-server --follow, docs/federation.md):
// a followed registry's snapshots and deltas applied as records marked with its name, and the
// refusal of every write to them.
#include "roster/upstream/registry.hpp"

#include <set>

#include "roster/base/log.hpp"
#include "roster/model/service_resolution.hpp"

namespace roster::upstream {

// The records a snapshot or delta brings (nested record bytes, verified with their frame).
struct Registry::FollowedRecords {
  std::vector<std::span<const uint8_t>> versions, instances, contracts;
  std::set<VersionKey> removed_versions;
  std::set<InstanceKey> removed_instances;
  std::set<ContractKey> removed_contracts;
};

namespace {

template <typename T>
const T* root(const std::vector<uint8_t>& bytes) {
  return flatbuffers::GetRoot<T>(bytes.data());
}

std::span<const uint8_t> nested(const flatbuffers::Vector<uint8_t>* bytes) { return {bytes->data(), bytes->size()}; }

// `record` as this server keeps it: marked with its owner, with `revision` present in the buffer
// so that the commit stamps it in place. Re-encoded, as every record from outside is (a verified
// buffer's fields may overlap). An instance's lease is its owner's: no expiry is kept with it.
template <typename T>
std::vector<uint8_t> marked(std::span<const uint8_t> record, std::string_view registry, uint64_t revision) {
  typename T::NativeTableType native;
  flatbuffers::GetRoot<T>(record.data())->UnPackTo(&native);
  native.followed_from = std::string(registry);
  native.revision = revision;
  if constexpr (std::is_same_v<T, wire::Instance>) native.lease_expires_at_ms = 0;
  flatbuffers::FlatBufferBuilder fbb(1024);
  fbb.ForceDefaults(true);
  fbb.Finish(T::Pack(fbb, &native));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

template <typename T>
std::string_view owner_of(const std::vector<uint8_t>& record) {
  auto* from = root<T>(record)->followed_from();
  return from ? from->string_view() : std::string_view();
}

// Who holds a service's name: nobody (nullopt), this server (""), or the registry it is followed
// from. Every version of a name has one owner: the name is whoever's had it first.
std::optional<std::string_view> holder(const std::map<VersionKey, std::vector<uint8_t>>& versions,
                                       std::string_view service) {
  auto it = versions.lower_bound(VersionKey{std::string(service), ""});
  if (it == versions.end() || it->first.name != service) return std::nullopt;
  return owner_of<wire::ServiceVersion>(it->second);
}

}  // namespace

std::string_view Registry::followed_from(std::string_view service) const {
  return holder(versions_, service).value_or("");
}

FollowPoint Registry::follow_point(std::string_view registry) const {
  auto it = follow_states_.find(registry);
  if (it == follow_states_.end()) return {};
  auto* state = root<wire::FollowState>(it->second);
  return {state->revision(), state->store_id() ? state->store_id()->str() : ""};
}

namespace {

Error followed_refusal(std::string what, std::string_view registry, const std::vector<FollowedRegistry>& followed) {
  std::string where = "not followed any more: it stays read-only until followed again";
  for (auto& f : followed)
    if (f.name == registry) {
      where.clear();
      for (auto& address : f.addresses) where += (where.empty() ? "" : ", ") + address;
    }
  return Error{ErrorKind::Conflict, "followed_record",
               what + " is followed from registry " + std::string(registry) + " (" + where + "); write it there", ""};
}

}  // namespace

std::optional<Error> Registry::followed_error(std::string_view service) const {
  const std::string_view owner = followed_from(service);
  if (owner.empty()) return std::nullopt;
  return followed_refusal("service " + std::string(service), owner, followed_);
}

std::optional<Error> Registry::followed_contract_error(const ContractKey& key) const {
  if (auto it = contracts_.find(key); it != contracts_.end())
    if (auto owner = owner_of<wire::Contract>(it->second); !owner.empty())
      return followed_refusal("the " + key.to_string(), owner, followed_);
  return followed_error(key.consumer);
}

std::vector<Registry::Change> Registry::followed_changes(std::string_view registry, const FollowedRecords& incoming,
                                                         bool whole) {
  std::vector<Change> changes;
  size_t conflicts = 0;
  // `conflict`: its name is held here (counted); else a record this server cannot hold at all.
  auto skip = [&](const std::string& what, std::string_view why, bool conflict = true) {
    conflicts += conflict;
    if (conflicts_logged_.emplace(registry, what).second)
      log::warn("following {}: {} skipped ({})", registry, what, why);
  };
  auto held_by_other = [&](std::string_view service) {
    auto h = holder(versions_, service);
    return h && *h != registry;
  };
  // An upsert, unless the record is already held as it comes (compared at the revision it has here).
  auto upsert = [&]<typename T>(auto key, std::span<const uint8_t> record, const std::map<decltype(key), Bytes>& map) {
    auto it = map.find(key);
    auto bytes = marked<T>(record, registry, it == map.end() ? 0 : root<T>(it->second)->revision());
    if (it == map.end() || it->second != bytes) changes.push_back({std::move(key), std::move(bytes)});
  };

  std::set<VersionKey> kept_versions;  // the registry's versions as they will stand
  for (auto record : incoming.versions) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(record.data());
    auto key = VersionKey::of(*v);
    if (held_by_other(key.name)) {
      skip("service " + key.name, followed_from(key.name).empty() ? "a service of this server's own"
                                                                 : "followed from another registry first");
      continue;
    }
    // What the store and the graph could not hold, the follower cannot take (its owner should not send it).
    if (auto ok = model::DependencyGraph::check(model::version_info(*v));
        !ok || !check_mutation({RecordKind::ServiceVersion, store_key(key), std::nullopt})) {
      skip("version " + key.to_string(), ok ? "an invalid key" : ok.error().message, false);
      continue;
    }
    kept_versions.insert(key);
    upsert.template operator()<wire::ServiceVersion>(std::move(key), record, versions_);
  }
  for (auto& [key, bytes] : versions_) {
    if (owner_of<wire::ServiceVersion>(bytes) != registry || kept_versions.count(key)) continue;
    if (whole || incoming.removed_versions.count(key))
      changes.push_back({key, std::nullopt});
    else
      kept_versions.insert(key);
  }

  std::set<InstanceKey> kept_instances;
  for (auto record : incoming.instances) {
    auto key = InstanceKey::of(*flatbuffers::GetRoot<wire::Instance>(record.data()));
    if (!kept_versions.count(key.version_key())) {
      const bool held = held_by_other(key.service);
      skip(key.to_string(), held ? "its service is held by another owner" : "its version is not followed here", held);
      continue;
    }
    if (!check_mutation({RecordKind::Instance, store_key(key), std::nullopt})) {
      skip(key.to_string(), "an invalid key", false);
      continue;
    }
    kept_instances.insert(key);
    upsert.template operator()<wire::Instance>(std::move(key), record, instances_);
  }
  for (auto& [key, bytes] : instances_)
    if (owner_of<wire::Instance>(bytes) == registry && !kept_instances.count(key) &&
        (whole || incoming.removed_instances.count(key) || !kept_versions.count(key.version_key())))
      changes.push_back({key, std::nullopt});

  std::set<ContractKey> kept_contracts;
  for (auto record : incoming.contracts) {
    auto key = ContractKey::of(*flatbuffers::GetRoot<wire::Contract>(record.data()));
    auto it = contracts_.find(key);
    if ((it != contracts_.end() && owner_of<wire::Contract>(it->second) != registry) || held_by_other(key.consumer)) {
      skip("the " + key.to_string(), "it or its consumer is held by another owner");
      continue;
    }
    if (!check_mutation({RecordKind::Contract, store_key(key), std::nullopt})) {
      skip("the " + key.to_string(), "an invalid key", false);
      continue;
    }
    kept_contracts.insert(key);
    upsert.template operator()<wire::Contract>(std::move(key), record, contracts_);
  }
  for (auto& [key, bytes] : contracts_)
    if (owner_of<wire::Contract>(bytes) == registry && !kept_contracts.count(key) &&
        (whole || incoming.removed_contracts.count(key)))
      changes.push_back({key, std::nullopt});

  if (conflicts) follow_conflicts_[std::string(registry)] += conflicts;
  return changes;
}

WriteResult Registry::commit_followed(std::string_view registry, std::vector<Change> changes,
                                      const FollowPoint& point) {
  flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Finish(wire::CreateFollowStateDirect(fbb, std::string(registry).c_str(), point.revision, point.store_id.c_str()));
  changes.push_back(
      {FollowStateKey{std::string(registry)}, Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize())});
  return commit(std::move(changes));
}

WriteResult Registry::apply_followed_snapshot(std::string_view registry,
                                              std::span<const wire::Snapshot* const> chunks) {
  if (chunks.empty()) return refuse(ErrorKind::Invalid, "invalid_snapshot", "a snapshot without chunks");
  FollowedRecords incoming;
  for (auto* chunk : chunks) {
    if (chunk->services())
      for (auto* r : *chunk->services()) incoming.versions.push_back(nested(r->bytes()));
    if (chunk->instances())
      for (auto* r : *chunk->instances()) incoming.instances.push_back(nested(r->bytes()));
    if (chunk->contracts())
      for (auto* r : *chunk->contracts()) incoming.contracts.push_back(nested(r->bytes()));
  }
  const FollowPoint point{chunks.front()->revision(),
                          chunks.front()->store_id() ? chunks.front()->store_id()->str() : std::string()};
  return commit_followed(registry, followed_changes(registry, incoming, true), point);
}

WriteResult Registry::apply_followed_delta(std::string_view registry, const wire::Delta& delta) {
  FollowPoint point = follow_point(registry);
  if (delta.from_revision() != point.revision)
    return refuse(ErrorKind::Conflict, "follow_gap",
                  "a delta of registry " + std::string(registry) + " from revision " +
                      std::to_string(delta.from_revision()) + ", and this server stands at its revision " +
                      std::to_string(point.revision));
  FollowedRecords incoming;
  if (delta.upsert_services())
    for (auto* r : *delta.upsert_services()) incoming.versions.push_back(nested(r->bytes()));
  if (delta.upsert_instances())
    for (auto* r : *delta.upsert_instances()) incoming.instances.push_back(nested(r->bytes()));
  if (delta.upsert_contracts())
    for (auto* r : *delta.upsert_contracts()) incoming.contracts.push_back(nested(r->bytes()));
  if (delta.remove_services())
    for (auto* k : *delta.remove_services()) incoming.removed_versions.insert({k->name()->str(), k->version()->str()});
  if (delta.remove_instances())
    for (auto* k : *delta.remove_instances())
      incoming.removed_instances.insert({k->service()->str(), k->version()->str(), k->id()->str()});
  if (delta.remove_contracts())
    for (auto* k : *delta.remove_contracts())
      incoming.removed_contracts.insert({k->consumer()->str(), k->consumer_version()->str(), k->provider()->str()});
  point.revision = delta.revision();
  return commit_followed(registry, followed_changes(registry, incoming, false), point);
}

}  // namespace roster::upstream
