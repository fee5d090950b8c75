#include "upstream/registry.hpp"

#include <algorithm>
#include <iostream>

#include "model/semver.hpp"
#include "wire/frame.hpp"
#include "wire/snapshot.hpp"
#include "wire/names.hpp"

namespace roster::upstream {

namespace {


std::vector<uint8_t> copy(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

ApiError not_found(std::string what) { return {404, "not_found", std::move(what), ""}; }

template <typename T>
const T* root(const std::vector<uint8_t>& bytes) {
  return flatbuffers::GetRoot<T>(bytes.data());
}

Frame frame_of(wire::FrameType type, const flatbuffers::FlatBufferBuilder& fbb) {
  return wire::make_frame(type, {fbb.GetBufferPointer(), fbb.GetSize()});
}

}  // namespace

Registry::Registry(Store& store, RegistryOptions options, Clock clock)
    : store_(store), options_(options), clock_(std::move(clock)) {
  revision_ = store_.scan([&](const StoredRecord& r) { records(r.kind)[r.key] = r.record; });
  // Leases are not persisted (renewals would otherwise be writes): after a restart every
  // instance gets a full lease to renew in, as Eureka does.
  const int64_t now = clock_();
  for (auto& [key, record] : instances_) leases_[key] = now + options_.lease_duration.count();
  window_start_ms_ = now;
  leases_at_window_start_ = leases_.size();
  metrics_.instances = instances_.size();
  metrics_.versions = versions_.size();
}

Registry::Records& Registry::records(RecordKind kind) {
  return kind == RecordKind::ServiceVersion ? versions_ : kind == RecordKind::Instance ? instances_ : contracts_;
}
const Registry::Records& Registry::records(RecordKind kind) const {
  return const_cast<Registry*>(this)->records(kind);
}

WriteOutcome Registry::decode_error(const wire::DecodedDocument& doc) const {
  WriteOutcome out;
  const auto& first = doc.errors.front();
  std::string message = first.message;
  if (doc.errors.size() > 1) message += " (and " + std::to_string(doc.errors.size() - 1) + " more: " + [&] {
    std::string rest;
    for (size_t i = 1; i < doc.errors.size() && i < 20; ++i) rest += (i > 1 ? "; " : "") + doc.errors[i].to_string();
    return rest;
  }() + ")";
  out.error = ApiError{400, "invalid_document", message, first.path};
  return out;
}

void Registry::apply_in_memory(const Mutation& m) {
  auto& map = records(m.kind);
  if (m.record)
    map[m.key] = *m.record;
  else
    map.erase(m.key);
  if (m.kind == RecordKind::Instance && !m.record) leases_.erase(m.key);
}

WriteOutcome Registry::commit(std::vector<Mutation> mutations) {
  WriteOutcome out;
  if (mutations.empty()) {
    out.revision = revision_;
    return out;
  }
  try {
    out.revision = store_.commit(mutations);  // durable before anything is acknowledged
  } catch (const StoreError& e) {
    out.error = ApiError{503, "store_unavailable", e.what(), ""};
    return out;
  }
  revision_ = out.revision;
  for (auto& m : mutations) apply_in_memory(m);
  metrics_.instances = instances_.size();
  metrics_.versions = versions_.size();
  Frame frame = encode_delta(revision_, mutations);
  recent_.emplace_back(revision_, frame);
  if (recent_.size() > options_.memory_change_log) recent_.erase(recent_.begin());
  if (listener_) listener_(frame, revision_);
  return out;
}

Frame Registry::encode_delta(uint64_t revision, const std::vector<Mutation>& mutations) const {
  flatbuffers::FlatBufferBuilder fbb(1024);
  std::vector<flatbuffers::Offset<wire::ServiceRecord>> up_services;
  std::vector<flatbuffers::Offset<wire::InstanceRecord>> up_instances;
  std::vector<flatbuffers::Offset<wire::ContractRecord>> up_contracts;
  std::vector<flatbuffers::Offset<wire::ServiceKey>> rm_services;
  std::vector<flatbuffers::Offset<wire::InstanceKey>> rm_instances;
  std::vector<flatbuffers::Offset<wire::ContractKey>> rm_contracts;
  for (auto& m : mutations) {
    auto parts = key_parts(m.key);
    auto s = [&](size_t i) { return fbb.CreateString(parts[i].data(), parts[i].size()); };
    switch (m.kind) {
      case RecordKind::ServiceVersion:
        if (m.record)
          up_services.push_back(wire::CreateServiceRecord(fbb, wire::nested_record(fbb, *m.record)));
        else
          rm_services.push_back(wire::CreateServiceKey(fbb, s(0), s(1)));
        break;
      case RecordKind::Instance:
        if (m.record)
          up_instances.push_back(wire::CreateInstanceRecord(fbb, wire::nested_record(fbb, *m.record)));
        else
          rm_instances.push_back(wire::CreateInstanceKey(fbb, s(0), s(1), s(2)));
        break;
      case RecordKind::Contract:
        if (m.record)
          up_contracts.push_back(wire::CreateContractRecord(fbb, wire::nested_record(fbb, *m.record)));
        else
          rm_contracts.push_back(wire::CreateContractKey(fbb, s(0), s(1), s(2)));
        break;
    }
  }
  fbb.Finish(wire::CreateDelta(fbb, revision - 1, revision, fbb.CreateVector(up_services), fbb.CreateVector(rm_services),
                               fbb.CreateVector(up_instances), fbb.CreateVector(rm_instances),
                               fbb.CreateVector(up_contracts), fbb.CreateVector(rm_contracts)));
  return frame_of(wire::FrameType::Delta, fbb);
}

// --- writes ---------------------------------------------------------------------------------

WriteOutcome Registry::put_version(std::string_view name, std::string_view version, std::string_view json) {
  auto doc = decoder_.decode(json);
  if (!doc.ok()) return decode_error(doc);
  if (doc.kind != wire::DocumentKind::ServiceVersion)
    return {0, {}, ApiError{400, "invalid_document", "expected one service version document, got a registry", ""}};
  auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(doc.services[0].data());
  if (v->name()->string_view() != name)
    return {0, {}, ApiError{400, "name_mismatch", "the document names \"" + v->name()->str() + "\", the URL \"" + std::string(name) + "\"", "name"}};
  if (v->version()->string_view() != version)
    return {0, {}, ApiError{400, "version_mismatch", "the document has version \"" + v->version()->str() + "\", the URL \"" + std::string(version) + "\"", "version"}};
  std::vector<Mutation> mutations{{RecordKind::ServiceVersion, service_key(name, version), copy(doc.services[0])}};
  const int64_t expiry = clock_() + options_.lease_duration.count();
  for (size_t i = 0; i < doc.instances.size(); ++i) {
    auto* inst = flatbuffers::GetRoot<wire::Instance>(doc.instances[i].data());
    mutations.push_back({RecordKind::Instance, instance_key(name, version, inst->id()->string_view()), copy(doc.instances[i])});
  }
  auto out = commit(std::move(mutations));
  if (!out.error)
    for (size_t i = 0; i < doc.instances.size(); ++i)
      leases_[instance_key(name, version, flatbuffers::GetRoot<wire::Instance>(doc.instances[i].data())->id()->string_view())] = expiry;
  return out;
}

WriteOutcome Registry::register_document(std::string_view json) {
  auto doc = decoder_.decode(json);
  if (!doc.ok()) return decode_error(doc);
  std::vector<Mutation> mutations;
  for (size_t i = 0; i < doc.services.size(); ++i) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(doc.services[i].data());
    mutations.push_back({RecordKind::ServiceVersion, service_key(v->name()->string_view(), v->version()->string_view()),
                         copy(doc.services[i])});
  }
  std::vector<std::string> instance_keys;
  for (size_t i = 0; i < doc.instances.size(); ++i) {
    auto* inst = flatbuffers::GetRoot<wire::Instance>(doc.instances[i].data());
    instance_keys.push_back(instance_key(inst->service()->string_view(), inst->version()->string_view(), inst->id()->string_view()));
    mutations.push_back({RecordKind::Instance, instance_keys.back(), copy(doc.instances[i])});
  }
  for (size_t i = 0; i < doc.contracts.size(); ++i) {
    auto* c = flatbuffers::GetRoot<wire::Contract>(doc.contracts[i].data());
    mutations.push_back({RecordKind::Contract,
                         contract_key(c->consumer()->string_view(), c->consumer_version()->string_view(), c->provider()->string_view()),
                         copy(doc.contracts[i])});
  }
  auto out = commit(std::move(mutations));
  const int64_t expiry = clock_() + options_.lease_duration.count();
  if (!out.error)
    for (auto& key : instance_keys) leases_[key] = expiry;
  return out;
}

WriteOutcome Registry::delete_version(std::string_view name, std::string_view version) {
  const std::string key = service_key(name, version);
  if (!versions_.count(key)) return {0, {}, not_found("no version \"" + std::string(version) + "\" of \"" + std::string(name) + "\"")};
  std::vector<Mutation> mutations{{RecordKind::ServiceVersion, key, std::nullopt}};
  // Its instances go with it.
  const std::string prefix = key + '\0';
  for (auto it = instances_.lower_bound(prefix); it != instances_.end() && it->first.starts_with(prefix); ++it)
    mutations.push_back({RecordKind::Instance, it->first, std::nullopt});
  return commit(std::move(mutations));
}

WriteOutcome Registry::put_instance(std::string_view service, std::string_view version, std::string_view id,
                                    std::string_view json, std::optional<std::chrono::milliseconds> ttl) {
  if (!versions_.count(service_key(service, version)))
    return {0, {}, not_found("no version \"" + std::string(version) + "\" of \"" + std::string(service) + "\": register it first")};
  auto doc = decoder_.decode_instance(json, service, version);
  if (!doc.ok()) return decode_error(doc);
  auto* inst = flatbuffers::GetRoot<wire::Instance>(doc.instances[0].data());
  if (inst->id()->string_view() != id)
    return {0, {}, ApiError{400, "id_mismatch", "the document has id \"" + inst->id()->str() + "\", the URL \"" + std::string(id) + "\"", "id"}};
  const std::string key = instance_key(service, version, id);
  auto out = commit({{RecordKind::Instance, key, copy(doc.instances[0])}});
  if (!out.error) leases_[key] = clock_() + (ttl ? *ttl : options_.lease_duration).count();
  return out;
}

WriteOutcome Registry::renew(std::string_view service, std::string_view version, std::string_view id) {
  auto it = leases_.find(instance_key(service, version, id));
  // As in Eureka: an unknown instance is told so, and re-registers.
  if (it == leases_.end()) return {0, {}, not_found("no instance \"" + std::string(id) + "\" of " + std::string(service) + "@" + std::string(version) + ": register it again")};
  it->second = clock_() + options_.lease_duration.count();
  ++renewals_in_window_;
  ++metrics_.renewals;
  return {revision_, {}, std::nullopt};
}

WriteOutcome Registry::delete_instance(std::string_view service, std::string_view version, std::string_view id) {
  const std::string key = instance_key(service, version, id);
  if (!instances_.count(key)) return {0, {}, not_found("no instance \"" + std::string(id) + "\" of " + std::string(service) + "@" + std::string(version))};
  return commit({{RecordKind::Instance, key, std::nullopt}});
}

WriteOutcome Registry::expire_leases() {
  const int64_t now = clock_();
  if (now - window_start_ms_ >= options_.renewal_window.count()) {
    // A window closed: compare its renewals with what the instances leased at its start
    // should have sent.
    renewals_last_window_ = renewals_in_window_;
    expected_last_window_ = static_cast<double>(leases_at_window_start_) * options_.renewal_window.count() /
                            std::max<int64_t>(1, options_.lease_renewal_interval.count());
    have_full_window_ = leases_at_window_start_ > 0;
    renewals_in_window_ = 0;
    leases_at_window_start_ = leases_.size();
    window_start_ms_ = now;
  }
  // Self-preservation: when far fewer renewals arrive than expected, the network is more likely
  // at fault than the instances: keep them all rather than expire them en masse.
  const bool preserving = have_full_window_ && static_cast<double>(renewals_last_window_) <
                                                   options_.self_preservation_threshold * expected_last_window_;
  if (preserving != metrics_.self_preservation)
    std::cerr << "roster-server: self-preservation " << (preserving ? "ON" : "off") << ": " << renewals_last_window_
              << " renewals in the last window, " << expected_last_window_ << " expected"
              << (preserving ? "; instances are not expired until renewals recover" : "") << std::endl;
  metrics_.self_preservation = preserving;
  if (preserving) return {};
  std::vector<Mutation> mutations;
  for (auto& [key, expiry] : leases_)
    if (expiry <= now) mutations.push_back({RecordKind::Instance, key, std::nullopt});
  if (mutations.empty()) return {};
  const size_t expired = mutations.size();
  auto out = commit(std::move(mutations));
  if (!out.error) metrics_.lease_expiries += expired;
  return out;
}

// --- reads ------------------------------------------------------------------------------------

const wire::ServiceVersion* Registry::version(std::string_view name, std::string_view version) const {
  auto it = versions_.find(service_key(name, version));
  return it == versions_.end() ? nullptr : root<wire::ServiceVersion>(it->second);
}

std::vector<const wire::ServiceVersion*> Registry::versions(std::string_view name) const {
  std::vector<std::pair<semver::Version, const wire::ServiceVersion*>> found;
  const std::string prefix = std::string(name) + '\0';
  for (auto it = versions_.lower_bound(prefix); it != versions_.end() && it->first.starts_with(prefix); ++it) {
    auto* v = root<wire::ServiceVersion>(it->second);
    if (auto parsed = semver::Version::parse(v->version()->string_view())) found.emplace_back(std::move(*parsed), v);
  }
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<const wire::ServiceVersion*> out;
  for (auto& [parsed, v] : found) out.push_back(v);
  return out;
}

const wire::ServiceVersion* Registry::latest(std::string_view name, bool include_prerelease) const {
  const wire::ServiceVersion* best = nullptr;
  for (auto* v : versions(name)) {
    if (v->stage() == wire::LifecycleStage::Retired) continue;
    if (!include_prerelease && semver::Version::parse(v->version()->string_view())->is_prerelease()) continue;
    best = v;
  }
  return best;
}

std::vector<const wire::ServiceVersion*> Registry::search(std::optional<std::string_view> team,
                                                          std::optional<wire::LifecycleStage> stage,
                                                          std::optional<std::string_view> tag) const {
  std::vector<const wire::ServiceVersion*> out;
  for (auto& [key, bytes] : versions_) {
    auto* v = root<wire::ServiceVersion>(bytes);
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
  return out;
}

std::vector<const wire::Instance*> Registry::instances(std::string_view service, std::optional<std::string_view> version) const {
  std::vector<const wire::Instance*> out;
  const std::string prefix = version ? service_key(service, *version) + '\0' : std::string(service) + '\0';
  for (auto it = instances_.lower_bound(prefix); it != instances_.end() && it->first.starts_with(prefix); ++it)
    out.push_back(root<wire::Instance>(it->second));
  return out;
}

std::optional<int64_t> Registry::lease_expiry(std::string_view service, std::string_view version, std::string_view id) const {
  auto it = leases_.find(instance_key(service, version, id));
  if (it == leases_.end()) return std::nullopt;
  return it->second;
}

// --- the feed -----------------------------------------------------------------------------------

std::optional<std::vector<Frame>> Registry::frames_since(uint64_t revision) const {
  std::vector<Frame> out;
  if (revision == revision_) return out;
  if (revision > revision_) return std::nullopt;  // the agent is ahead of us (another store): resync
  if (!recent_.empty() && recent_.front().first <= revision + 1) {
    for (auto& [rev, frame] : recent_)
      if (rev > revision) out.push_back(frame);
    return out;
  }
  auto changes = store_.changes_since(revision, options_.max_store_catch_up);
  if (!changes || (!changes->empty() && changes->back().revision != revision_)) return std::nullopt;
  for (auto& change : *changes) out.push_back(encode_delta(change.revision, change.mutations));
  return out;
}

std::vector<Frame> Registry::snapshot_frames(size_t max_frame_bytes) const {
  if (snapshot_cache_ && snapshot_cache_->first == revision_) return snapshot_cache_->second;
  std::vector<Frame> out;
  const size_t budget = max_frame_bytes - 4096;  // room for the message's own tables
  uint32_t chunk = 0;
  auto version_it = versions_.begin();
  auto instance_it = instances_.begin();
  auto contract_it = contracts_.begin();
  do {
    flatbuffers::FlatBufferBuilder fbb(64 * 1024);
    size_t used = 0;
    std::vector<flatbuffers::Offset<wire::ServiceRecord>> s;
    std::vector<flatbuffers::Offset<wire::InstanceRecord>> i;
    std::vector<flatbuffers::Offset<wire::ContractRecord>> c;
    auto fits = [&](const std::vector<uint8_t>& r) { return used == 0 || used + r.size() + 64 <= budget; };
    for (; version_it != versions_.end() && fits(version_it->second); ++version_it) {
      used += version_it->second.size() + 64;
      s.push_back(wire::CreateServiceRecord(fbb, wire::nested_record(fbb, version_it->second)));
    }
    for (; version_it == versions_.end() && instance_it != instances_.end() && fits(instance_it->second); ++instance_it) {
      used += instance_it->second.size() + 64;
      i.push_back(wire::CreateInstanceRecord(fbb, wire::nested_record(fbb, instance_it->second)));
    }
    for (; instance_it == instances_.end() && contract_it != contracts_.end() && fits(contract_it->second); ++contract_it) {
      used += contract_it->second.size() + 64;
      c.push_back(wire::CreateContractRecord(fbb, wire::nested_record(fbb, contract_it->second)));
    }
    const bool last = version_it == versions_.end() && instance_it == instances_.end() && contract_it == contracts_.end();
    fbb.Finish(wire::CreateSnapshot(fbb, revision_, chunk++, last, fbb.CreateVector(s), fbb.CreateVector(i), fbb.CreateVector(c)));
    out.push_back(frame_of(wire::FrameType::Snapshot, fbb));
    if (last) break;
  } while (true);
  snapshot_cache_.emplace(revision_, out);
  return out;
}

}  // namespace roster::upstream
