#include "roster/upstream/registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "roster/base/log.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/governance/pact.hpp"
#include "roster/model/service_resolution.hpp"
#include "roster/semver.hpp"
#include "roster/upstream/schema_rules.hpp"
#include "roster/upstream/version_rules.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/identifiers.hpp"
#include "roster/wire/names.hpp"
#include "roster/wire/record_revision.hpp"
#include "roster/wire/snapshot.hpp"
#include "roster/wire/verify.hpp"

#include <xxhash.h>

namespace roster::upstream {

namespace {

std::vector<uint8_t> copy(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

// An instance record as the server stores it. A lease's expiry is the server's to keep, in its
// lease table (renewals are not writes), so an expiry the client sent is cleared rather than
// passed on to readers as if it were the lease: the API answers with the live expiry, and an
// instance is in an agent's arena exactly while its lease lives (docs/registry-format.md).
std::vector<uint8_t> stored_instance(std::span<const uint8_t> record) {
  auto out = copy(record);
  // In place: an absent field already reads 0 (the call then changes nothing and succeeds).
  flatbuffers::GetMutableRoot<wire::Instance>(out.data())->mutate_lease_expires_at_ms(0);
  return out;
}

template <typename T>
const T* root(const std::vector<uint8_t>& bytes) {
  return flatbuffers::GetRoot<T>(bytes.data());
}

// A followed instance's lease is its owner's to keep: this server grants it none, so never expires it.
bool followed_instance(const std::vector<uint8_t>& instance) { return root<wire::Instance>(instance)->followed_from(); }

// What renewal reports call an instance: the hash of its store key (a collision, 2^-64 per pair,
// would renew the wrong one of two instances).
uint64_t instance_hash(const InstanceKey& key) {
  const std::string k = store_key(key);
  return XXH3_64bits(k.data(), k.size());
}

// How many times a write is checked again after losing a commit race before it gives up (409).
constexpr int kMaxWriteRetries = 32;

Unexpected<Refusal> not_found(std::string what) { return refuse(ErrorKind::NotFound, "not_found", std::move(what)); }

// A malformed pact as a refusal naming every problem.
Refusal pact_refusal(const std::vector<governance::SchemaProblem>& problems, const std::string& where,
                     const std::string& path) {
  Refusal r{Error{ErrorKind::Rejected, "invalid_pact",
                  where + ": not a valid Pact v2 document (" + std::to_string(problems.size()) +
                      " problem(s); first at " + problems.front().pointer + ": " + problems.front().message + ")",
                  path},
            {},
            {}};
  for (auto& p : problems)
    r.findings.push_back({governance::Severity::Breaking, "invalid-pact", "", "", p.pointer, p.message});
  return r;
}

Frame frame_of(wire::FrameType type, const flatbuffers::FlatBufferBuilder& fbb) {
  return wire::make_frame(type, {fbb.GetBufferPointer(), fbb.GetSize()});
}

// The records of `map` whose keys start with `prefix` (a key with empty trailing fields).
template <typename Map, typename Matches>
auto range_of(const Map& map, const typename Map::key_type& prefix, Matches&& matches) {
  std::vector<typename Map::const_iterator> out;
  for (auto it = map.lower_bound(prefix); it != map.end() && matches(it->first); ++it) out.push_back(it);
  return out;
}

}  // namespace

Registry::Registry(Store& store, RegistryOptions options, Clock clock, Cluster* cluster)
    : store_(store),
      cluster_(cluster),
      options_(options),
      clock_(std::move(clock)),
      leases_(options.leases, clock_()),
      feed_(options.memory_change_log) {}

Result<std::unique_ptr<Registry>> Registry::open(Store& store, RegistryOptions options, Clock clock,
                                                Cluster* cluster) {
  std::unique_ptr<Registry> registry(new Registry(store, options, std::move(clock), cluster));
  if (auto loaded = registry->load(); !loaded) return fail(loaded.error());
  return registry;
}

Result<void> Registry::load() {
  std::vector<Mutation> stored;
  std::vector<uint64_t> revisions;
  auto scanned = store_.scan([&](const StoredRecord& r) {
    stored.push_back({r.kind, r.key, r.record});
    revisions.push_back(r.revision);
  });
  if (!scanned) return fail(scanned.error());
  auto changes = decode_changes(stored);
  if (!changes) return fail(changes.error());
  revision_ = *scanned;
  // Leases are not persisted (renewals would otherwise be writes): after a restart every
  // instance gets a full lease to renew in, as Eureka does.
  const int64_t now = clock_();
  for (size_t i = 0; i < changes->size(); ++i) {
    Change& c = (*changes)[i];
    stamp_revision(c, revisions[i], Origin::FromOutside);
    std::visit(
        [&](const auto& key) {
          using K = std::decay_t<decltype(key)>;
          if constexpr (std::is_same_v<K, VersionKey>) {
            versions_[key] = std::move(*c.record);
          } else if constexpr (std::is_same_v<K, InstanceKey>) {
            if (!followed_instance(*c.record)) leases_.grant(key, now, lease_ttl(*c.record));
            instance_by_hash_[instance_hash(key)] = key;
            instances_[key] = std::move(*c.record);
          } else if constexpr (std::is_same_v<K, ContractKey>) {
            contracts_[key] = std::move(*c.record);
          } else if constexpr (std::is_same_v<K, FollowStateKey>) {
            follow_states_[key.registry] = std::move(*c.record);
          } else {
            policies_[key] = std::move(*c.record);
          }
        },
        c.key);
  }
  for (auto& [key, record] : versions_) by_precedence_.put(key, &record);
  for (auto& [key, record] : versions_)
    (void)graph_.upsert(version_info(*root<wire::ServiceVersion>(record)));  // checked by decode_changes
  (void)graph_.take_changed_services();  // a snapshot carries every service's resolution
  return {};
}

bool Registry::reload() {
  // Into a fresh registry first: if the store cannot be read, this one keeps serving what it has
  // (and the next sync tries again), rather than agents being sent an empty registry.
  auto fresh = Registry::open(store_, options_, clock_, cluster_);
  if (!fresh) {
    log::error("re-reading the registry failed: {}", fresh.error().message);
    return false;
  }
  Registry& f = **fresh;
  revision_ = f.revision_;
  versions_ = std::move(f.versions_);
  by_precedence_ = std::move(f.by_precedence_);  // points into versions_'s nodes, which moved along
  instances_ = std::move(f.instances_);
  contracts_ = std::move(f.contracts_);
  policies_ = std::move(f.policies_);
  follow_states_ = std::move(f.follow_states_);
  instance_by_hash_ = std::move(f.instance_by_hash_);
  graph_ = std::move(f.graph_);
  leases_ = std::move(f.leases_);
  feed_.reset();  // every agent resumes, with a snapshot where it must
  snapshot_cache_.reset();
  return true;
}

void Registry::sync() { (void)catch_up(0, std::chrono::milliseconds(0)); }

bool Registry::catch_up(uint64_t at_least, std::chrono::milliseconds timeout) {
  auto taken = store_.take_changes(at_least, timeout);
  if (!taken) {
    if (taken.error().code == "store_resync") {
      log::warn("re-reading the whole registry from the store (it lost track of the changes since revision {})",
                revision_);
      reload();
    }
    return revision_ >= at_least;
  }
  const int64_t now = clock_();
  for (auto& change : *taken) {
    if (change.revision <= revision_) continue;  // ours, or read by the last scan
    auto decoded = decode_changes(change.mutations);
    if (!decoded) {
      // Committed by someone else and unreadable here: nothing to refuse, so it is left out
      // (and logged) rather than stopping every later change.
      log::error("revision {} from the store left out: {}", change.revision, decoded.error().message);
      decoded = std::vector<Change>{};
    }
    const uint64_t from = revision_;
    revision_ = change.revision;
    for (auto& c : *decoded) {
      stamp_revision(c, revision_, Origin::FromOutside);
      apply_in_memory(c);
      if (auto* key = std::get_if<InstanceKey>(&c.key); key && c.record && !followed_instance(*c.record))
        leases_.grant(*key, now, lease_ttl(*c.record));
    }
    feed_.publish(from, revision_, encode_delta(from, revision_, *decoded, take_resolutions()));
  }
  return revision_ >= at_least;
}

template <typename Attempt>
WriteResult Registry::retrying(Attempt&& attempt) {
  for (int tries = 0;; ++tries) {
    WriteResult out = attempt();
    if (out || out.error().error.code != "revision_moved") return out;
    ++write_conflicts_;
    if (tries == kMaxWriteRetries)
      return refuse(ErrorKind::Conflict, "write_conflict",
                    "other servers kept committing while this write was checked; nothing was written, try again");
    if (!catch_up(store_.revision(), std::chrono::milliseconds(2000)))
      return refuse(ErrorKind::Unavailable, "store_unavailable",
                    "another server committed revision " + std::to_string(store_.revision()) +
                        " and this server has not received it yet (its watch is reconnecting); nothing was written, "
                        "try again");
  }
}

std::optional<std::chrono::milliseconds> Registry::lease_ttl(const std::vector<uint8_t>& instance) {
  const uint32_t ms = root<wire::Instance>(instance)->lease_ttl_ms();
  return ms ? std::optional(std::chrono::milliseconds(ms)) : std::nullopt;
}

Registry::Metrics Registry::metrics() const {
  return {lease_expiries_, leases_.renewals(), write_conflicts_, leases_.self_preserving(), leads(), instances_.size(),
          versions_.size(), follow_conflicts_};
}

// --- committing -------------------------------------------------------------------------------

void Registry::apply_in_memory(const Change& c) {
  auto put = [&](auto& map, const auto& key) {
    if (c.record)
      map[key] = *c.record;
    else
      map.erase(key);
  };
  std::visit(
      [&](const auto& key) {
        using K = std::decay_t<decltype(key)>;
        if constexpr (std::is_same_v<K, VersionKey>) {
          put(versions_, key);
          if (c.record) {
            by_precedence_.put(key, &versions_.at(key));
            (void)graph_.upsert(version_info(*root<wire::ServiceVersion>(*c.record)));  // checked before the commit
          } else {
            by_precedence_.remove(key);
            graph_.remove(key.name, key.version);
          }
        } else if constexpr (std::is_same_v<K, InstanceKey>) {
          put(instances_, key);
          if (c.record) {
            instance_by_hash_[instance_hash(key)] = key;
          } else {
            leases_.release(key);
            instance_by_hash_.erase(instance_hash(key));
          }
        } else if constexpr (std::is_same_v<K, ContractKey>) {
          put(contracts_, key);
        } else if constexpr (std::is_same_v<K, FollowStateKey>) {
          put(follow_states_, key.registry);
        } else {
          put(policies_, key);
        }
      },
      c.key);
}

void Registry::stamp_revision(Change& c, uint64_t revision, Origin origin) {
  if (!c.record) return;
  std::visit(
      [&](const auto& key) {
        using K = std::decay_t<decltype(key)>;
        auto stamp = [&]<typename T>() {
          if (origin == Origin::Ours)
            wire::set_revision<T>(*c.record, revision);
          else
            wire::reencode_with_revision<T>(*c.record, revision);
        };
        if constexpr (std::is_same_v<K, VersionKey>)
          stamp.template operator()<wire::ServiceVersion>();
        else if constexpr (std::is_same_v<K, InstanceKey>)
          stamp.template operator()<wire::Instance>();
        else if constexpr (std::is_same_v<K, ContractKey>)
          stamp.template operator()<wire::Contract>();
      },
      c.key);
}

WriteResult Registry::commit(std::vector<Change> changes) {
  if (changes.empty()) return Written{revision_, {}, {}};
  std::vector<Mutation> mutations;
  mutations.reserve(changes.size());
  for (auto& c : changes) {
    std::visit(
        [&](const auto& key) {
          using K = std::decay_t<decltype(key)>;
          if constexpr (std::is_same_v<K, VersionKey>)
            mutations.push_back({RecordKind::ServiceVersion, store_key(key), c.record});
          else if constexpr (std::is_same_v<K, InstanceKey>)
            mutations.push_back({RecordKind::Instance, store_key(key), c.record});
          else if constexpr (std::is_same_v<K, ContractKey>)
            mutations.push_back({RecordKind::Contract, store_key(key), c.record});
          else if constexpr (std::is_same_v<K, FollowStateKey>)
            mutations.push_back({RecordKind::FollowState, key.registry, c.record});
          else
            mutations.push_back({RecordKind::ServicePolicy, key, c.record});
        },
        c.key);
  }
  // Durable before anything leaves the server. In the background (only this server writes, so
  // the next revision is known): published once its group is (group_committed). Else now, and
  // only if nobody committed since the revision the rules were checked against.
  const uint64_t from = revision_;
  if (committer_) {
    revision_ = from + 1;
  } else {
    auto committed = store_.commit_at(revision_, mutations);
    if (!committed) return refuse(committed.error());
    revision_ = *committed;
  }
  for (auto& c : changes) {
    stamp_revision(c, revision_, Origin::Ours);
    apply_in_memory(c);
  }
  Frame delta = encode_delta(from, revision_, changes, take_resolutions());
  if (committer_) {
    pending_.push_back({from, revision_, std::move(delta), std::chrono::steady_clock::now()});
    committer_->submit(epoch_, revision_, std::move(mutations));
  } else {
    feed_.publish(from, revision_, std::move(delta));
  }
  return Written{revision_, {}, {}};
}

namespace {

Error mismatch(const Mutation& m) {
  std::string key = m.key;
  std::replace(key.begin(), key.end(), '\0', '/');
  return Error{ErrorKind::Corrupt, "invalid_record", "the stored record under \"" + key + "\" is another record's", ""};
}

// A stored T record (or a delete) under `key`: verified, and naming that key.
template <typename T, typename Key>
Result<void> check_stored(const Mutation& m, const Key& key) {
  if (!m.record) return {};
  if (auto valid = wire::verify<T>(*m.record); !valid) return fail(valid.error());
  if (Key::of(*root<T>(*m.record)) != key) return fail(mismatch(m));
  return {};
}

}  // namespace

Result<std::vector<Registry::Change>> Registry::decode_changes(const std::vector<Mutation>& mutations) const {
  std::vector<Change> out;
  for (auto& m : mutations) {
    switch (m.kind) {
      case RecordKind::ServiceVersion: {
        auto key = version_key(m.key);
        if (!key) return fail(key.error());
        if (auto ok = check_stored<wire::ServiceVersion>(m, *key); !ok) return fail(ok.error());
        // One the dependency graph cannot hold would be served without a resolution, which every
        // agent refuses (and asks for a snapshot again): refused here, as a damaged record is.
        if (m.record)
          if (auto ok = model::DependencyGraph::check(version_info(*root<wire::ServiceVersion>(*m.record))); !ok)
            return fail(ErrorKind::Corrupt, "invalid_record",
                        "the stored version " + key->to_string() + " breaks the registry's rules: " + ok.error().message);
        out.push_back({*key, m.record});
        break;
      }
      case RecordKind::Instance: {
        auto key = instance_key(m.key);
        if (!key) return fail(key.error());
        if (auto ok = check_stored<wire::Instance>(m, *key); !ok) return fail(ok.error());
        out.push_back({*key, m.record});
        break;
      }
      case RecordKind::Contract: {
        auto key = contract_key(m.key);
        if (!key) return fail(key.error());
        if (auto ok = check_stored<wire::Contract>(m, *key); !ok) return fail(ok.error());
        out.push_back({*key, m.record});
        break;
      }
      case RecordKind::ServicePolicy:
        if (m.record) {
          flatbuffers::Verifier verifier(m.record->data(), m.record->size());
          if (!verifier.VerifyBuffer<wire::ServicePolicy>(nullptr))
            return fail(ErrorKind::Corrupt, "invalid_buffer", "the stored policy of \"" + m.key + "\" is not a ServicePolicy");
          auto* name = root<wire::ServicePolicy>(*m.record)->name();
          if (!name || name->string_view() != m.key) return fail(mismatch(m));
        }
        out.push_back({m.key, m.record});
        break;
      case RecordKind::FollowState:
        if (m.record) {
          flatbuffers::Verifier verifier(m.record->data(), m.record->size());
          if (!verifier.VerifyBuffer<wire::FollowState>(nullptr))
            return fail(ErrorKind::Corrupt, "invalid_buffer",
                        "the stored follow state of \"" + m.key + "\" is not a FollowState");
          if (root<wire::FollowState>(*m.record)->registry()->string_view() != m.key) return fail(mismatch(m));
        }
        out.push_back({FollowStateKey{m.key}, m.record});
        break;
      default:
        return fail(ErrorKind::Corrupt, "invalid_record", "a stored record of unknown kind " +
                                                              std::to_string(static_cast<int>(m.kind)));
    }
  }
  return out;
}

std::vector<Registry::Bytes> Registry::take_resolutions() {
  std::vector<Bytes> out;
  for (const std::string& name : graph_.take_changed_services()) out.push_back(model::resolution_record(graph_, name));
  return out;
}

Frame Registry::encode_delta(uint64_t from, uint64_t revision, const std::vector<Change>& changes,
                             const std::vector<Bytes>& resolutions) const {
  flatbuffers::FlatBufferBuilder fbb(1024);
  std::vector<flatbuffers::Offset<wire::ServiceRecord>> up_services;
  std::vector<flatbuffers::Offset<wire::InstanceRecord>> up_instances;
  std::vector<flatbuffers::Offset<wire::ContractRecord>> up_contracts;
  std::vector<flatbuffers::Offset<wire::ServiceKey>> rm_services;
  std::vector<flatbuffers::Offset<wire::InstanceKey>> rm_instances;
  std::vector<flatbuffers::Offset<wire::ContractKey>> rm_contracts;
  std::vector<flatbuffers::Offset<flatbuffers::String>> settings;
  for (auto& c : changes) {
    std::visit(
        [&](const auto& key) {
          using K = std::decay_t<decltype(key)>;
          if constexpr (std::is_same_v<K, VersionKey>) {
            if (c.record)
              up_services.push_back(wire::CreateServiceRecord(fbb, wire::nested_record(fbb, *c.record)));
            else
              rm_services.push_back(wire::CreateServiceKeyDirect(fbb, key.name.c_str(), key.version.c_str()));
          } else if constexpr (std::is_same_v<K, InstanceKey>) {
            if (c.record)
              up_instances.push_back(wire::CreateInstanceRecord(fbb, wire::nested_record(fbb, *c.record)));
            else
              rm_instances.push_back(
                  wire::CreateInstanceKeyDirect(fbb, key.service.c_str(), key.version.c_str(), key.id.c_str()));
          } else if constexpr (std::is_same_v<K, ContractKey>) {
            if (c.record)
              up_contracts.push_back(wire::CreateContractRecord(fbb, wire::nested_record(fbb, *c.record)));
            else
              rm_contracts.push_back(wire::CreateContractKeyDirect(fbb, key.consumer.c_str(),
                                                                   key.consumer_version.c_str(), key.provider.c_str()));
          } else if constexpr (std::is_same_v<K, std::string>) {
            // A policy: the server's own settings, named for watchers (agents do not need them).
            settings.push_back(fbb.CreateString(key));
          }  // a follow state is the server's own bookkeeping
        },
        c.key);
  }
  std::vector<flatbuffers::Offset<wire::ResolutionRecord>> resolved;
  for (auto& r : resolutions) resolved.push_back(wire::CreateResolutionRecord(fbb, wire::nested_record(fbb, r)));
  fbb.Finish(wire::CreateDelta(fbb, from, revision, fbb.CreateVector(up_services), fbb.CreateVector(rm_services),
                               fbb.CreateVector(up_instances), fbb.CreateVector(rm_instances),
                               fbb.CreateVector(up_contracts), fbb.CreateVector(rm_contracts),
                               settings.empty() ? 0 : fbb.CreateVector(settings),
                               resolved.empty() ? 0 : fbb.CreateVector(resolved)));
  return frame_of(wire::FrameType::Delta, fbb);
}

// --- writes -----------------------------------------------------------------------------------

WriteResult Registry::check_versions(const std::vector<std::span<const uint8_t>>& candidates, bool import,
                                     std::vector<Change>& changes, const SettingsByService& incoming) {
  Written out{revision_, {}, {}};
  const int64_t now = clock_();
  // 1. Lifecycle: the stage checked, the dates the server's.
  std::vector<std::vector<uint8_t>> records;
  for (auto bytes : candidates) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data());
    if (auto followed = followed_error(v->name()->string_view())) return refuse(std::move(*followed));
    auto settled = settle_lifecycle(*v, version(v->name()->string_view(), v->version()->string_view()), import, now,
                                    settings(v->name()->string_view(), incoming).lifecycle);
    if (!settled) return refuse(settled.error());
    records.push_back(std::move(*settled));
  }
  std::map<VersionKey, const wire::ServiceVersion*> pending;  // as they will stand
  std::map<std::string_view, std::vector<const wire::ServiceVersion*>> pending_by_service;
  for (auto& r : records) {
    auto* v = root<wire::ServiceVersion>(r);
    pending[VersionKey::of(*v)] = v;
  }
  for (auto& [key, v] : pending) pending_by_service[v->name()->string_view()].push_back(v);

  // 2. Schemas, against the service's other versions as they will stand: those the rules read.
  std::optional<Refusal> refusal;
  for (auto& [key, v] : pending) {
    const auto mode = settings(key.name, incoming).compatibility;
    std::vector<const wire::ServiceVersion*> others;
    if (v->api_schema() && mode != governance::CompatibilityMode::None)
      others = schema_neighbours(*v, mode, pending_by_service[key.name]);
    auto verdict = check_schema(*v, others, version(key.name, key.version), mode);
    if (!verdict && !refusal) refusal = std::move(verdict.error());
  }
  if (refusal) return fail(std::move(*refusal));

  // 3. Dependencies, resolved in the graph with these versions in it (then put back as it was:
  // the commit applies them for real).
  std::vector<std::pair<VersionKey, std::optional<model::VersionInfo>>> previous;
  for (auto& [key, v] : pending) {
    auto* registered = version(key.name, key.version);
    previous.emplace_back(key, registered ? std::optional(version_info(*registered)) : std::nullopt);
    if (auto added = graph_.upsert(version_info(*v)); !added && !refusal) refusal = Refusal{added.error(), {}, {}};
  }
  for (auto& [key, v] : pending)
    if (auto checked = check_dependencies(graph_, *v, out.warnings); !checked && !refusal)
      refusal = Refusal{checked.error(), {}, {}};
  for (auto& [key, info] : previous) {
    if (info)
      (void)graph_.upsert(*info);  // it was in the graph before
    else
      graph_.remove(key.name, key.version);
  }
  if (refusal) {
    refusal->warnings = std::move(out.warnings);
    return fail(std::move(*refusal));
  }
  for (auto& r : records) {
    auto key = VersionKey::of(*root<wire::ServiceVersion>(r));
    changes.push_back({std::move(key), std::move(r)});
  }
  return out;
}

std::vector<const wire::ServiceVersion*> Registry::schema_neighbours(
    const wire::ServiceVersion& candidate, governance::CompatibilityMode mode,
    const std::vector<const wire::ServiceVersion*>& pending_here) const {
  std::vector<const wire::ServiceVersion*> out;
  auto version = semver::Version::parse(candidate.version()->string_view());
  if (!version) return out;
  const auto format = candidate.api_schema()->format();
  for (auto* other : pending_here)
    if (other != &candidate) out.push_back(other);
  auto replaced = [&](const wire::ServiceVersion& registered) {
    return std::any_of(pending_here.begin(), pending_here.end(), [&](auto* p) {
      return p->version()->string_view() == registered.version()->string_view();
    });
  };
  bool found_any = false, found_release = false;
  by_precedence_.below(candidate.name()->string_view(), *version, [&](const semver::Version& v,
                                                                      const wire::ServiceVersion& registered) {
    if (v.major != version->major) return false;
    if (replaced(registered)) return true;  // the write brings its own
    out.push_back(&registered);
    if (registered.api_schema() && registered.api_schema()->format() == format) {
      found_any = true;
      found_release |= !v.is_prerelease();
    }
    return governance::is_transitive(mode) || !(found_any && found_release);
  });
  return out;
}

// Commits `changes` after `checked` passed, keeping its warnings; a dry run commits nothing.
WriteResult Registry::finish(WriteResult checked, std::vector<Change> changes, WriteOptions options) {
  if (!checked || options.dry_run) return checked;
  auto out = commit(std::move(changes));
  if (!out) {
    out.error().warnings = std::move(checked->warnings);
    return out;
  }
  out->warnings = std::move(checked->warnings);
  return out;
}

WriteResult Registry::put_version(std::span<const uint8_t> version_record, const wire::RecordList& instances,
                                  WriteOptions options) {
  return retrying([&]() -> WriteResult {
    std::vector<Change> changes;
    auto checked = check_versions({version_record}, false, changes);
    for (size_t i = 0; i < instances.size(); ++i)
      changes.push_back(
          {InstanceKey::of(*flatbuffers::GetRoot<wire::Instance>(instances[i].data())), stored_instance(instances[i])});
    auto out = finish(std::move(checked), std::move(changes), options);
    if (out && !options.dry_run)
      for (size_t i = 0; i < instances.size(); ++i)
        leases_.grant(InstanceKey::of(*flatbuffers::GetRoot<wire::Instance>(instances[i].data())), clock_());
    return out;
  });
}

WriteResult Registry::import(const wire::DecodedDocument& doc, WriteOptions options) {
  return retrying([&]() -> WriteResult {
    std::vector<Change> changes;
    // The document's settings first: its versions are checked under them.
    SettingsByService incoming;
    for (const auto& s : doc.settings) {
      if (auto followed = followed_error(s.service)) return refuse(std::move(*followed));
      ServiceSettings next = settings(s.service);
      if (s.compatibility) next.compatibility = static_cast<governance::CompatibilityMode>(*s.compatibility);
      if (s.sunset_after_days) next.lifecycle.sunset_after_days = *s.sunset_after_days;
      if (s.retire_after_days) next.lifecycle.retire_after_days = *s.retire_after_days;
      Bytes record = policy_record(s.service, next);
      if (auto it = policies_.find(s.service); it == policies_.end() || it->second != record)
        changes.push_back({s.service, std::move(record)});
      incoming.emplace(s.service, next);
    }
    std::vector<std::span<const uint8_t>> candidates;
    for (size_t i = 0; i < doc.services.size(); ++i) candidates.push_back(doc.services[i]);
    auto checked = check_versions(candidates, true, changes, incoming);
    std::vector<InstanceKey> leased;
    for (size_t i = 0; i < doc.instances.size(); ++i) {
      leased.push_back(InstanceKey::of(*flatbuffers::GetRoot<wire::Instance>(doc.instances[i].data())));
      changes.push_back({leased.back(), stored_instance(doc.instances[i])});
    }
    for (size_t i = 0; i < doc.contracts.size(); ++i) {
      auto* c = flatbuffers::GetRoot<wire::Contract>(doc.contracts[i].data());
      if (auto followed = followed_error(c->consumer()->string_view())) return refuse(std::move(*followed));
      auto pact = governance::parse_json(c->pact()->string_view());
      const std::string where = "contracts[" + std::to_string(i) + "]";
      if (checked && pact)
        if (auto parsed = governance::parse_pact(*pact); !parsed)
          checked = fail(pact_refusal(parsed.error(), where, where + ".pact"));
      changes.push_back({ContractKey::of(*c), copy(doc.contracts[i])});
    }
    auto out = finish(std::move(checked), std::move(changes), options);
    if (out && !options.dry_run)
      for (auto& key : leased) leases_.grant(key, clock_());
    return out;
  });
}

namespace {

// Removing or retiring `key` (`doing`) would leave `stranded` without a live version: refused
// unless forced.
Unexpected<Refusal> stranding_refusal(const VersionKey& key, const std::vector<model::Dependent>& stranded,
                                      std::string_view doing) {
  constexpr size_t kNamed = 10;
  std::string who;
  for (size_t i = 0; i < stranded.size() && i < kNamed; ++i)
    who += (i ? ", " : "") + stranded[i].from.to_string() + " (" + key.name + " " + stranded[i].range + ")";
  if (stranded.size() > kNamed) who += " and " + std::to_string(stranded.size() - kNamed) + " more";
  return refuse(ErrorKind::Conflict, "has_dependents",
                std::string(doing) + " " + key.to_string() + " would leave " + std::to_string(stranded.size()) +
                    (stranded.size() == 1 ? " dependency" : " dependencies") +
                    " with no live version to resolve to: " + who + "; pass force=true to do it anyway",
                "force");
}

void warn_stranded(Written& out, const VersionKey& key, const std::vector<model::Dependent>& stranded) {
  for (auto& d : stranded)
    out.warnings.push_back(d.from.to_string() + " depends on " + key.name + " " + d.range +
                           ", which no longer resolves to a live version");
}

}  // namespace

WriteResult Registry::delete_version(const VersionKey& key, bool force) {
  return retrying([&]() -> WriteResult {
    if (auto followed = followed_error(key.name)) return refuse(std::move(*followed));
    if (!versions_.count(key)) return not_found("no version \"" + key.version + "\" of \"" + key.name + "\"");
    const auto stranded = graph_.stranded_without(key.name, key.version);
    if (!stranded.empty() && !force) return stranding_refusal(key, stranded, "deleting");
    std::vector<Change> changes{{key, std::nullopt}};
    // Its instances go with it.
    for (auto it : range_of(instances_, InstanceKey{key.name, key.version, ""},
                            [&](const InstanceKey& k) { return k.version_key() == key; }))
      changes.push_back({it->first, std::nullopt});
    auto out = commit(std::move(changes));
    if (out) warn_stranded(*out, key, stranded);
    return out;
  });
}

WriteResult Registry::transition(const VersionKey& key, wire::LifecycleStage to, std::string_view reason, bool force) {
  return retrying([&]() -> WriteResult {
    if (auto followed = followed_error(key.name)) return refuse(std::move(*followed));
    auto* v = version(key.name, key.version);
    if (!v) return not_found("no version \"" + key.version + "\" of \"" + key.name + "\"");
    if (auto allowed = model::check_transition(stage_of(*v), to); !allowed)
      return refuse(ErrorKind::Conflict, "invalid_transition", key.to_string() + ": " + allowed.error().message, "stage");
    // Retiring takes the version out of resolution, as deleting it does.
    const auto stranded = to == wire::LifecycleStage::Retired && stage_of(*v) != wire::LifecycleStage::Retired
                              ? graph_.stranded_without(key.name, key.version)
                              : std::vector<model::Dependent>{};
    if (!stranded.empty() && !force) return stranding_refusal(key, stranded, "retiring");
    auto out = commit({{key, moved(*v, to, reason, clock_(), settings(key.name).lifecycle)}});
    if (out) warn_stranded(*out, key, stranded);
    return out;
  });
}

WriteResult Registry::advance_lifecycle() {
  return retrying([&]() -> WriteResult {
    const int64_t now = clock_();
    Written out{revision_, {}, {}};
    if (!leads()) return out;
    // A version overdue for both sunset and retirement makes both moves, so passes repeat until
    // nothing is due (at most twice: deprecated → sunset → retired).
    for (bool moved_any = true; moved_any;) {
      moved_any = false;
      std::vector<std::pair<VersionKey, wire::LifecycleStage>> due;
      for (auto& [key, bytes] : versions_) {
        auto* v = root<wire::ServiceVersion>(bytes);
        if (v->followed_from()) continue;  // its owner moves it
        auto move = model::scheduled_move(stage_of(*v), dates_of(*v), settings(key.name).lifecycle);
        if (move && move->due_ms <= now) due.emplace_back(key, move->to);
      }
      // One revision per move, so each appears in the change feed on its own.
      for (auto& [key, to] : due) {
        auto* v = root<wire::ServiceVersion>(versions_.at(key));
        auto result = commit({{key, moved(*v, to, {}, now, settings(key.name).lifecycle)}});
        if (!result) return result;
        log::info("lifecycle: {} is now {} (scheduled)", key.to_string(), wire::to_string(to));
        out.revision = result->revision;
        out.warnings.push_back(key.to_string() + " moved to " + std::string(wire::to_string(to)));
        moved_any = true;
      }
    }
    return out;
  });
}

ServiceSettings Registry::settings(std::string_view name) const {
  ServiceSettings out{options_.compatibility, options_.lifecycle};
  auto it = policies_.find(name);
  if (it == policies_.end()) return out;
  auto* p = root<wire::ServicePolicy>(it->second);
  out.compatibility = static_cast<governance::CompatibilityMode>(p->compatibility());
  if (p->sunset_after_days() > 0) out.lifecycle.sunset_after_days = p->sunset_after_days();
  if (p->retire_after_days() > 0) out.lifecycle.retire_after_days = p->retire_after_days();
  return out;
}

ServiceSettings Registry::settings(std::string_view name, const SettingsByService& incoming) const {
  auto it = incoming.find(name);
  return it != incoming.end() ? it->second : settings(name);
}

Registry::Bytes Registry::policy_record(std::string_view name, const ServiceSettings& settings) {
  flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Finish(wire::CreateServicePolicy(fbb, fbb.CreateString(name.data(), name.size()),
                                       static_cast<wire::CompatibilityMode>(settings.compatibility),
                                       settings.lifecycle.sunset_after_days, settings.lifecycle.retire_after_days));
  return Bytes(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
}

wire::RegistryRecords Registry::records(bool with_instances) const {
  wire::RegistryRecords out;
  for (const auto& name : service_names())
    for (auto* v : versions(name))  // by name, then precedence
      if (!v->followed_from()) out.versions.push_back(v);
  if (with_instances)
    for (const auto& [key, bytes] : instances_)
      if (!followed_instance(bytes)) out.instances.push_back(root<wire::Instance>(bytes));
  for (const auto& [key, bytes] : contracts_)
    if (!root<wire::Contract>(bytes)->followed_from()) out.contracts.push_back(root<wire::Contract>(bytes));
  for (const auto& [name, bytes] : policies_) out.policies.push_back(root<wire::ServicePolicy>(bytes));
  return out;
}

WriteResult Registry::set_settings(std::string_view name, std::optional<governance::CompatibilityMode> compatibility,
                                   std::optional<model::LifecyclePolicy> lifecycle) {
  return retrying([&]() -> WriteResult {
    if (auto valid = wire::check_identifier(name); !valid) return refuse(valid.error());
    if (auto followed = followed_error(name)) return refuse(std::move(*followed));
    for (int days : lifecycle ? std::vector<int>{lifecycle->sunset_after_days, lifecycle->retire_after_days}
                              : std::vector<int>{})
      if (days < 1 || days > 3650)
        return refuse(ErrorKind::Invalid, "invalid_policy", "lifecycle days must be whole numbers from 1 to 3650");
    ServiceSettings next = settings(name);
    if (compatibility) next.compatibility = *compatibility;
    if (lifecycle) next.lifecycle = *lifecycle;
    Bytes record = policy_record(name, next);
    if (auto it = policies_.find(name); it != policies_.end() && it->second == record) return Written{revision_, {}, {}};
    return commit({{std::string(name), std::move(record)}});
  });
}

WriteResult Registry::put_contract(const ContractKey& key, std::string_view provider_range, const rapidjson::Value& pact) {
  return retrying([&]() -> WriteResult {
    if (auto followed = followed_contract_error(key)) return refuse(std::move(*followed));
    auto bad = [](std::string message, std::string where) {
      return refuse(ErrorKind::Invalid, "invalid_contract", std::move(message), std::move(where));
    };
    for (auto [name, field] : {std::pair{std::string_view(key.consumer), "consumer"},
                               std::pair{std::string_view(key.provider), "provider"}})
      if (auto valid = wire::check_identifier(name); !valid) return bad(valid.error().message, field);
    if (auto parsed = semver::Version::parse(key.consumer_version); !parsed)
      return bad("invalid consumer version: " + parsed.error().message, "consumer_version");
    if (auto parsed = semver::Range::parse(provider_range); !parsed)
      return bad("invalid provider_range: " + parsed.error().message, "provider_range");
    if (!pact.IsObject()) return bad("expected an object \"pact\" (a Pact v2 document)", "pact");
    const auto parsed = governance::parse_pact(pact);
    if (!parsed) return fail(pact_refusal(parsed.error(), "the pact", "pact"));
    if (parsed->consumer != key.consumer || parsed->provider != key.provider)
      return bad("the pact is between \"" + parsed->consumer + "\" and \"" + parsed->provider +
                     "\", the contract names \"" + key.consumer + "\" and \"" + key.provider + "\"",
                 "pact.consumer.name");
    flatbuffers::FlatBufferBuilder fbb(1024);
    fbb.Finish(wire::CreateContractDirect(fbb, key.consumer.c_str(), key.consumer_version.c_str(), key.provider.c_str(),
                                          std::string(provider_range).c_str(),
                                          governance::to_json_text(pact).c_str()));
    return commit({{key, std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize())}});
  });
}

WriteResult Registry::delete_contract(const ContractKey& key) {
  return retrying([&]() -> WriteResult {
    if (auto followed = followed_contract_error(key)) return refuse(std::move(*followed));
    if (!contracts_.count(key)) return not_found("no " + key.to_string());
    return commit({{key, std::nullopt}});
  });
}

WriteResult Registry::put_instance(std::span<const uint8_t> record, std::optional<std::chrono::milliseconds> ttl) {
  return retrying([&]() -> WriteResult {
    const auto key = InstanceKey::of(*flatbuffers::GetRoot<wire::Instance>(record.data()));
    if (auto followed = followed_error(key.service)) return refuse(std::move(*followed));
    if (!versions_.count(key.version_key()))
      return not_found("no version \"" + key.version + "\" of \"" + key.service + "\": register it first");
    auto stored = stored_instance(record);
    if (ttl) {  // kept with the record, so every server (and a restarted one) grants the same lease
      wire::InstanceT native;
      flatbuffers::GetRoot<wire::Instance>(stored.data())->UnPackTo(&native);
      native.lease_ttl_ms = static_cast<uint32_t>(ttl->count());
      flatbuffers::FlatBufferBuilder fbb;
      fbb.ForceDefaults(true);  // keeps `revision` in the buffer, stamped in place at commit
      fbb.Finish(wire::Instance::Pack(fbb, &native));
      stored.assign(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
    }
    auto out = commit({{key, std::move(stored)}});
    if (out) leases_.grant(key, clock_(), ttl);
    return out;
  });
}

Result<Lease> Registry::renew(const InstanceKey& key) {
  if (auto followed = followed_error(key.service)) return fail(std::move(*followed));
  auto lease = leases_.renew(key, clock_());
  // As in Eureka: an unknown instance is told so, and re-registers.
  if (!lease) return fail(ErrorKind::NotFound, "not_found", "no " + key.to_string() + ": register it again");
  if (cluster_) renewed_here_.push_back(instance_hash(key));  // for the other servers' lease tables
  return *lease;
}

WriteResult Registry::delete_instance(const InstanceKey& key) {
  return retrying([&]() -> WriteResult {
    if (auto followed = followed_error(key.service)) return refuse(std::move(*followed));
    if (!instances_.count(key)) return not_found("no " + key.to_string());
    return commit({{key, std::nullopt}});
  });
}

WriteResult Registry::expire_leases() {
  // Every server keeps the whole cluster's renewals, so whichever leads next knows them all.
  if (cluster_) {
    const int64_t now = clock_();
    cluster_->report_renewals(std::exchange(renewed_here_, {}));
    for (auto& report : cluster_->take_renewal_reports())
      for (uint64_t hash : report)
        if (auto it = instance_by_hash_.find(hash); it != instance_by_hash_.end()) leases_.renew(it->second, now);
  }
  return retrying([&]() -> WriteResult {
    auto due = leases_.expired(clock_());  // on every server: it keeps the self-preservation window
    if (!leads()) return Written{revision_, {}, {}};
    std::vector<Change> changes;
    std::string names;  // the first few, so that an operator can tell which instances went
    constexpr size_t kNamed = 5;
    for (auto& key : due) {
      if (changes.size() < kNamed) names += (names.empty() ? "" : ", ") + key.to_string();
      changes.push_back({key, std::nullopt});
    }
    const size_t expired = changes.size();
    auto out = commit(std::move(changes));
    if (out && expired) {
      lease_expiries_ += expired;
      if (expired > kNamed) names += " and " + std::to_string(expired - kNamed) + " more";
      log::info("{} instance lease(s) ran out ({}); revision {}", expired, names, out->revision);
    }
    return out;
  });
}

// --- reads ------------------------------------------------------------------------------------

const wire::ServiceVersion* Registry::version(std::string_view name, std::string_view version) const {
  auto it = versions_.find(VersionKey{std::string(name), std::string(version)});
  return it == versions_.end() ? nullptr : root<wire::ServiceVersion>(it->second);
}

std::vector<const wire::ServiceVersion*> Registry::versions(std::string_view name) const {
  return by_precedence_.all(name);
}

const wire::ServiceVersion* Registry::latest(std::string_view name, bool every_stage) const {
  return by_precedence_.latest(name, every_stage);
}

std::vector<std::string> Registry::service_names() const {
  std::vector<std::string> out;
  for (auto it = versions_.begin(); it != versions_.end();) {
    out.push_back(it->first.name);
    it = versions_.lower_bound(VersionKey{out.back() + '\0', ""});  // the next name: none has a NUL
  }
  return out;
}

std::vector<const wire::ServiceVersion*> Registry::search(std::optional<std::string_view> team,
                                                          std::optional<wire::LifecycleStage> stage,
                                                          std::optional<std::string_view> tag) const {
  std::vector<const wire::ServiceVersion*> out;
  // By name, then each service's versions by precedence (1.2.0 before 1.10.0), as versions() has them.
  for (const std::string& name : service_names()) {
    for (const auto* v : versions(name)) {
      if (team && v->owner_team()->string_view() != *team) continue;
      if (stage && v->stage() != *stage) continue;
      if (tag) {
        bool has = false;
        if (v->tags())
          for (auto* t : *v->tags()) has |= t->string_view() == *tag;
        if (!has) continue;
      }
      out.push_back(v);
    }
  }
  return out;
}

std::vector<const wire::Instance*> Registry::instances(std::string_view service,
                                                       std::optional<std::string_view> version) const {
  std::vector<const wire::Instance*> out;
  const InstanceKey from{std::string(service), version ? std::string(*version) : "", ""};
  for (auto it : range_of(instances_, from, [&](const InstanceKey& k) {
         return k.service == service && (!version || k.version == *version);
       }))
    out.push_back(root<wire::Instance>(it->second));
  return out;
}

std::vector<const wire::Contract*> Registry::contracts(std::optional<std::string_view> consumer,
                                                       std::optional<std::string_view> provider) const {
  std::vector<const wire::Contract*> out;
  for (auto& [key, bytes] : contracts_) {
    if (consumer && key.consumer != *consumer) continue;
    if (provider && key.provider != *provider) continue;
    out.push_back(root<wire::Contract>(bytes));
  }
  return out;
}

const wire::Contract* Registry::contract(const ContractKey& key) const {
  auto it = contracts_.find(key);
  return it == contracts_.end() ? nullptr : root<wire::Contract>(it->second);
}

// --- the feed -----------------------------------------------------------------------------------

void Registry::commit_in_background(GroupCommitter* committer) {
  if (store_.sole_writer()) committer_ = committer;
}

bool Registry::group_committed(const GroupOutcome& outcome) {
  if (outcome.epoch != epoch_) return false;  // about writes a failure already refused
  if (outcome.error) {
    // Nothing from the failed group on is durable (or known to be): drop every pending write and
    // re-read the store, whose state is the truth; the server refuses what it held for them.
    log::error("committing revisions {} to {} failed ({}): refusing them and re-reading the registry from the store",
               durable_revision() + 1, revision_, outcome.error->message);
    ++epoch_;
    pending_.clear();
    if (!reload()) {
      // What this registry holds was never committed, and the truth cannot be read: serving it
      // would be worse than stopping. A restart reads the store afresh.
      log::error("the store cannot be read after a failed commit: stopping");
      std::abort();
    }
    return true;
  }
  while (!pending_.empty() && pending_.front().revision <= outcome.revision) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    feed_.publish(p.from, p.revision, std::move(p.delta), p.written);
  }
  return true;
}

std::optional<std::vector<Frame>> Registry::frames_since(uint64_t revision) const {
  const uint64_t durable = durable_revision();
  if (revision == durable) return std::vector<Frame>{};
  if (revision > durable) return std::nullopt;  // the agent is ahead of us (another store): resync
  if (auto frames = feed_.since(revision)) return frames;
  auto changes = store_.changes_since(revision, options_.max_store_catch_up);
  if (!changes || !*changes) return std::nullopt;
  // A shared store may already hold commits this view has not applied: those come by the feed.
  auto& replay = **changes;
  while (!replay.empty() && replay.back().revision > durable) replay.pop_back();
  if (replay.empty() || replay.back().revision != durable) return std::nullopt;
  std::vector<std::vector<Change>> gap;
  bool versions_changed = false;
  for (auto& change : replay) {
    auto decoded = decode_changes(change.mutations);
    if (!decoded) return std::nullopt;  // the store's log cannot be trusted: a snapshot can
    for (auto& c : *decoded) {
      stamp_revision(c, change.revision, Origin::FromOutside);
      versions_changed |= std::holds_alternative<VersionKey>(c.key);
    }
    gap.push_back(std::move(*decoded));
  }
  std::vector<Frame> out;
  if (!versions_changed) {  // instance and contract changes replay as they were
    uint64_t from = revision;
    for (size_t i = 0; i < gap.size(); ++i) {
      out.push_back(encode_delta(from, replay[i].revision, gap[i], {}));
      from = replay[i].revision;
    }
    return out;
  }
  // A change of versions needs resolutions, and the graph has them only for the state it holds
  // now: the whole gap goes as one delta to it (each key's last change), resolving every service
  // whose versions changed and every one that declares a dependency on such a service. With
  // writes pending the graph is ahead of the gap's end: a snapshot.
  if (!pending_.empty()) return std::nullopt;
  std::map<decltype(Change::key), Change> last;
  std::set<std::string> resolve;
  for (auto& changes : gap)
    for (auto& c : changes) {
      if (auto* key = std::get_if<VersionKey>(&c.key)) {
        resolve.insert(key->name);
        for (auto& dependent : graph_.declaring_services(key->name)) resolve.insert(dependent);
      }
      auto key = c.key;
      last.insert_or_assign(std::move(key), std::move(c));
    }
  std::vector<Change> merged;
  for (auto& [key, c] : last) merged.push_back(std::move(c));
  std::vector<Bytes> resolutions;
  for (auto& name : resolve) resolutions.push_back(model::resolution_record(graph_, name));
  out.push_back(encode_delta(revision, durable, merged, resolutions));
  return out;
}

std::vector<Frame> Registry::snapshot_frames(size_t max_frame_bytes) const {
  if (snapshot_cache_ && snapshot_cache_->first == revision_) return snapshot_cache_->second;
  std::vector<Frame> out;
  const size_t budget = max_frame_bytes - 4096;  // room for the message's own tables
  uint32_t chunk = 0;
  // Every service's resolution, by name (versions_ is ordered by name).
  std::vector<Bytes> resolutions;
  for (auto it = versions_.begin(); it != versions_.end(); it = versions_.lower_bound(VersionKey{it->first.name + '\0', ""}))
    resolutions.push_back(model::resolution_record(graph_, it->first.name));
  auto version_it = versions_.begin();
  auto resolution_it = resolutions.begin();
  auto instance_it = instances_.begin();
  auto contract_it = contracts_.begin();
  for (;;) {
    flatbuffers::FlatBufferBuilder fbb(64 * 1024);
    size_t used = 0;
    std::vector<flatbuffers::Offset<wire::ServiceRecord>> s;
    std::vector<flatbuffers::Offset<wire::ResolutionRecord>> r;
    std::vector<flatbuffers::Offset<wire::InstanceRecord>> i;
    std::vector<flatbuffers::Offset<wire::ContractRecord>> c;
    auto fits = [&](const std::vector<uint8_t>& r) { return used == 0 || used + r.size() + 64 <= budget; };
    for (; version_it != versions_.end() && fits(version_it->second); ++version_it) {
      used += version_it->second.size() + 64;
      s.push_back(wire::CreateServiceRecord(fbb, wire::nested_record(fbb, version_it->second)));
    }
    for (; version_it == versions_.end() && resolution_it != resolutions.end() && fits(*resolution_it); ++resolution_it) {
      used += resolution_it->size() + 64;
      r.push_back(wire::CreateResolutionRecord(fbb, wire::nested_record(fbb, *resolution_it)));
    }
    const bool resolved = resolution_it == resolutions.end();
    for (; resolved && version_it == versions_.end() && instance_it != instances_.end() && fits(instance_it->second); ++instance_it) {
      used += instance_it->second.size() + 64;
      i.push_back(wire::CreateInstanceRecord(fbb, wire::nested_record(fbb, instance_it->second)));
    }
    for (; resolved && instance_it == instances_.end() && contract_it != contracts_.end() && fits(contract_it->second); ++contract_it) {
      used += contract_it->second.size() + 64;
      c.push_back(wire::CreateContractRecord(fbb, wire::nested_record(fbb, contract_it->second)));
    }
    const bool last = version_it == versions_.end() && resolved && instance_it == instances_.end() &&
                      contract_it == contracts_.end();
    fbb.Finish(wire::CreateSnapshot(fbb, revision_, chunk++, last, fbb.CreateVector(s), fbb.CreateVector(i),
                                    fbb.CreateVector(c), fbb.CreateString(store_.identity()), fbb.CreateVector(r)));
    out.push_back(frame_of(wire::FrameType::Snapshot, fbb));
    if (last) break;
  }
  snapshot_cache_.emplace(revision_, out);
  return out;
}

}  // namespace roster::upstream
