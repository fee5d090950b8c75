#include "roster/upstream/registry.hpp"

#include <algorithm>
#include <iostream>

#include "roster/governance/json_document.hpp"
#include "roster/governance/pact.hpp"
#include "roster/semver.hpp"
#include "roster/upstream/schema_rules.hpp"
#include "roster/upstream/version_rules.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/snapshot.hpp"
#include "roster/wire/names.hpp"

namespace roster::upstream {

namespace {


std::vector<uint8_t> copy(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

ApiError not_found(std::string what) { return {404, "not_found", std::move(what), ""}; }

// A malformed pact as a refusal naming every problem.
std::optional<ApiError> pact_error(const governance::PactParseResult& parsed, const std::string& where,
                                   std::vector<governance::Finding>& findings) {
  if (parsed.problems.empty()) return std::nullopt;
  for (auto& p : parsed.problems)
    findings.push_back({governance::Severity::Breaking, "invalid-pact", "", "", p.pointer, p.message});
  return ApiError{422, "invalid_pact",
                  where + ": not a valid Pact v2 document (" + std::to_string(parsed.problems.size()) +
                      " problem(s); first at " + parsed.problems.front().pointer + ": " + parsed.problems.front().message + ")",
                  "pact"};
}

bool valid_name(std::string_view s) { return !s.empty() && s.find('\0') == std::string_view::npos; }


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
  for (auto& [key, record] : versions_)
    if (auto added = graph_.upsert(version_info(*root<wire::ServiceVersion>(record))); !added)
      std::cerr << "roster-server: stored version left out of the dependency graph: " << added.error().message << std::endl;
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
  switch (kind) {
    case RecordKind::ServiceVersion: return versions_;
    case RecordKind::Instance: return instances_;
    case RecordKind::Contract: return contracts_;
    case RecordKind::ServicePolicy: return policies_;
  }
  return contracts_;
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
  if (m.kind == RecordKind::ServiceVersion) {
    if (m.record) {
      graph_.upsert(version_info(*root<wire::ServiceVersion>(*m.record)));
    } else {
      auto parts = key_parts(m.key);
      graph_.remove(parts[0], parts[1]);
    }
  }
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
      case RecordKind::ServicePolicy:
        break;  // the server's own settings: agents do not need them
    }
  }
  fbb.Finish(wire::CreateDelta(fbb, revision - 1, revision, fbb.CreateVector(up_services), fbb.CreateVector(rm_services),
                               fbb.CreateVector(up_instances), fbb.CreateVector(rm_instances),
                               fbb.CreateVector(up_contracts), fbb.CreateVector(rm_contracts)));
  return frame_of(wire::FrameType::Delta, fbb);
}

// --- writes ---------------------------------------------------------------------------------

WriteOutcome Registry::check_versions(const std::vector<std::span<const uint8_t>>& candidates, bool import,
                                      std::vector<Mutation>& mutations) {
  WriteOutcome out;
  const int64_t now = clock_();
  // 1. Lifecycle: the stage checked, the dates the server's.
  std::vector<std::vector<uint8_t>> records;
  for (auto bytes : candidates) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data());
    auto settled = settle_lifecycle(*v, version(v->name()->string_view(), v->version()->string_view()), import, now,
                                    settings(v->name()->string_view()).lifecycle);
    if (auto* error = std::get_if<ApiError>(&settled)) {
      out.error = *error;
      return out;
    }
    auto& rewritten = std::get<std::vector<uint8_t>>(settled);
    records.push_back(rewritten.empty() ? copy(bytes) : std::move(rewritten));
  }
  std::map<std::string, const wire::ServiceVersion*> pending;  // key -> record as it will stand
  std::map<std::string_view, std::vector<const wire::ServiceVersion*>> pending_by_service;
  for (auto& r : records) {
    auto* v = root<wire::ServiceVersion>(r);
    pending[service_key(v->name()->string_view(), v->version()->string_view())] = v;
  }
  for (auto& [key, v] : pending) pending_by_service[v->name()->string_view()].push_back(v);

  // 2. Schemas, against the service's other versions as they will stand.
  for (auto& [key, v] : pending) {
    const std::string_view name = v->name()->string_view();
    std::vector<const wire::ServiceVersion*> others;
    for (auto* registered : versions(name))
      if (!pending.count(service_key(name, registered->version()->string_view()))) others.push_back(registered);
    for (auto* other : pending_by_service[name])
      if (other != v) others.push_back(other);
    auto verdict = check_schema(*v, others, version(name, v->version()->string_view()), settings(name).compatibility);
    out.findings.insert(out.findings.end(), verdict.findings.begin(), verdict.findings.end());
    if (verdict.error && !out.error) out.error = verdict.error;
  }
  if (out.error) return out;

  // 3. Dependencies, resolved in the graph with these versions in it (then put back as it was:
  // the commit applies them for real).
  std::vector<std::pair<std::string, std::optional<model::VersionInfo>>> previous;
  for (auto& [key, v] : pending) {
    auto* registered = version(v->name()->string_view(), v->version()->string_view());
    previous.emplace_back(key, registered ? std::optional(version_info(*registered)) : std::nullopt);
    graph_.upsert(version_info(*v));
  }
  for (auto& [key, v] : pending)
    if (auto refusal = check_dependencies(graph_, *v, out.warnings); refusal && !out.error) out.error = refusal;
  for (auto& [key, info] : previous) {
    if (info) {
      graph_.upsert(*info);
    } else {
      auto parts = key_parts(key);
      graph_.remove(parts[0], parts[1]);
    }
  }
  if (out.error) return out;
  for (auto& r : records) {
    auto* v = root<wire::ServiceVersion>(r);
    mutations.push_back({RecordKind::ServiceVersion, service_key(v->name()->string_view(), v->version()->string_view()),
                         std::move(r)});
  }
  return out;
}

// Commits `mutations` after `checked` passed, keeping its warnings; a dry run commits nothing.
WriteOutcome Registry::finish(WriteOutcome checked, std::vector<Mutation> mutations, WriteOptions options) {
  if (checked.error || options.dry_run) return checked;
  auto out = commit(std::move(mutations));
  out.warnings = std::move(checked.warnings);
  return out;
}

WriteOutcome Registry::put_version(std::string_view name, std::string_view version, std::string_view json,
                                   WriteOptions options) {
  auto doc = decoder_.decode(json);
  if (!doc.ok()) return decode_error(doc);
  if (doc.kind != wire::DocumentKind::ServiceVersion)
    return {0, {}, ApiError{400, "invalid_document", "expected one service version document, got a registry", ""}, {}};
  auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(doc.services[0].data());
  if (v->name()->string_view() != name)
    return {0, {}, ApiError{400, "name_mismatch", "the document names \"" + v->name()->str() + "\", the URL \"" + std::string(name) + "\"", "name"}, {}};
  if (v->version()->string_view() != version)
    return {0, {}, ApiError{400, "version_mismatch", "the document has version \"" + v->version()->str() + "\", the URL \"" + std::string(version) + "\"", "version"}, {}};
  std::vector<Mutation> mutations;
  auto checked = check_versions({doc.services[0]}, false, mutations);
  const int64_t expiry = clock_() + options_.lease_duration.count();
  for (size_t i = 0; i < doc.instances.size(); ++i) {
    auto* inst = flatbuffers::GetRoot<wire::Instance>(doc.instances[i].data());
    mutations.push_back({RecordKind::Instance, instance_key(name, version, inst->id()->string_view()), copy(doc.instances[i])});
  }
  auto out = finish(std::move(checked), std::move(mutations), options);
  if (!out.error && !options.dry_run)
    for (size_t i = 0; i < doc.instances.size(); ++i)
      leases_[instance_key(name, version, flatbuffers::GetRoot<wire::Instance>(doc.instances[i].data())->id()->string_view())] = expiry;
  return out;
}

WriteOutcome Registry::register_document(std::string_view json, WriteOptions options) {
  auto doc = decoder_.decode(json);
  if (!doc.ok()) return decode_error(doc);
  std::vector<Mutation> mutations;
  std::vector<std::span<const uint8_t>> candidates;
  for (size_t i = 0; i < doc.services.size(); ++i) candidates.push_back(doc.services[i]);
  auto checked = check_versions(candidates, true, mutations);
  std::vector<std::string> instance_keys;
  for (size_t i = 0; i < doc.instances.size(); ++i) {
    auto* inst = flatbuffers::GetRoot<wire::Instance>(doc.instances[i].data());
    instance_keys.push_back(instance_key(inst->service()->string_view(), inst->version()->string_view(), inst->id()->string_view()));
    mutations.push_back({RecordKind::Instance, instance_keys.back(), copy(doc.instances[i])});
  }
  for (size_t i = 0; i < doc.contracts.size(); ++i) {
    auto* c = flatbuffers::GetRoot<wire::Contract>(doc.contracts[i].data());
    auto pact = governance::parse_json(c->pact()->string_view());
    if (!checked.error && pact.ok())
      if (auto error = pact_error(governance::parse_pact(pact.document), "contracts[" + std::to_string(i) + "]", checked.findings)) {
        checked.error = error;
        checked.error->path = "contracts[" + std::to_string(i) + "].pact";
      }
    mutations.push_back({RecordKind::Contract,
                         contract_key(c->consumer()->string_view(), c->consumer_version()->string_view(), c->provider()->string_view()),
                         copy(doc.contracts[i])});
  }
  auto out = finish(std::move(checked), std::move(mutations), options);
  const int64_t expiry = clock_() + options_.lease_duration.count();
  if (!out.error && !options.dry_run)
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

WriteOutcome Registry::transition(std::string_view name, std::string_view version, wire::LifecycleStage to,
                                  std::string_view reason) {
  auto* v = this->version(name, version);
  if (!v) return {0, {}, not_found("no version \"" + std::string(version) + "\" of \"" + std::string(name) + "\""), {}};
  if (auto allowed = model::check_transition(stage_of(*v), to); !allowed)
    return {0, {}, ApiError{409, "invalid_transition", std::string(name) + "@" + std::string(version) + ": " + allowed.error().message, "stage"}, {}};
  // Retiring a version re-resolves its dependents: warn about those left without a live target.
  auto dependents = to == wire::LifecycleStage::Retired ? graph_.dependents_resolving_to(name, version)
                                                : std::vector<model::Dependent>{};
  auto out = commit({{RecordKind::ServiceVersion, service_key(name, version),
                      moved(*v, to, reason, clock_(), settings(name).lifecycle)}});
  if (out.error) return out;
  for (auto& d : dependents)
    if (!graph_.resolve(name, d.range).resolved())
      out.warnings.push_back(d.from.to_string() + " depends on " + std::string(name) + " " + d.range +
                             ", which no longer resolves to a live version");
  return out;
}

WriteOutcome Registry::advance_lifecycle() {
  const int64_t now = clock_();
  WriteOutcome out;
  out.revision = revision_;
  // A version overdue for both sunset and retirement makes both moves, so passes repeat until
  // nothing is due (at most twice: deprecated → sunset → retired).
  for (bool moved_any = true; moved_any;) {
    moved_any = false;
    std::vector<std::pair<std::string, wire::LifecycleStage>> due;  // key, next stage
    for (auto& [key, bytes] : versions_) {
      auto* v = root<wire::ServiceVersion>(bytes);
      auto move = model::scheduled_move(stage_of(*v), dates_of(*v), settings(v->name()->string_view()).lifecycle);
      if (move && move->due_ms <= now) due.emplace_back(key, move->to);
    }
    // One revision per move, so each appears in the change feed on its own.
    for (auto& [key, to] : due) {
      auto* v = root<wire::ServiceVersion>(versions_.at(key));
      const std::string at = v->name()->str() + "@" + v->version()->str();
      auto result = commit({{RecordKind::ServiceVersion, key, moved(*v, to, {}, now, settings(v->name()->string_view()).lifecycle)}});
      if (result.error) return result;
      std::cerr << "roster-server: lifecycle: " << at << " is now " << wire::to_string(to) << " (scheduled)" << std::endl;
      out.revision = result.revision;
      out.warnings.push_back(at + " moved to " + std::string(wire::to_string(to)));
      moved_any = true;
    }
  }
  return out;
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

WriteOutcome Registry::set_settings(std::string_view name, std::optional<governance::CompatibilityMode> compatibility,
                                    std::optional<model::LifecyclePolicy> lifecycle) {
  if (name.empty() || name.find('\0') != std::string_view::npos)
    return {0, {}, ApiError{400, "invalid_name", "a service name is non-empty and has no NUL byte", "name"}, {}};
  for (int days : lifecycle ? std::vector<int>{lifecycle->sunset_after_days, lifecycle->retire_after_days} : std::vector<int>{})
    if (days < 1 || days > 3650)
      return {0, {}, ApiError{400, "invalid_policy", "lifecycle days must be whole numbers from 1 to 3650", ""}, {}};
  ServiceSettings next = settings(name);
  if (compatibility) next.compatibility = *compatibility;
  if (lifecycle) next.lifecycle = *lifecycle;
  flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Finish(wire::CreateServicePolicy(fbb, fbb.CreateString(name.data(), name.size()),
                                       static_cast<wire::CompatibilityMode>(next.compatibility),
                                       next.lifecycle.sunset_after_days, next.lifecycle.retire_after_days));
  std::vector<uint8_t> record(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize());
  auto it = policies_.find(name);
  if (it != policies_.end() && it->second == record) return {revision_, {}, std::nullopt, {}};
  return commit({{RecordKind::ServicePolicy, std::string(name), std::move(record)}});
}

WriteOutcome Registry::put_contract(std::string_view consumer, std::string_view consumer_version,
                                    std::string_view provider, std::string_view json) {
  auto bad = [](std::string message, std::string path) { return WriteOutcome{0, {}, ApiError{400, "invalid_contract", std::move(message), std::move(path)}, {}}; };
  if (!valid_name(consumer) || !valid_name(provider)) return bad("consumer and provider names must be non-empty", "");
  if (auto parsed = semver::Version::parse(consumer_version); !parsed)
    return bad("invalid consumer version: " + parsed.error().message, "consumer_version");
  auto doc = governance::parse_json(json);
  if (!doc.ok()) return bad("the body is not JSON: " + *doc.error, "");
  auto* range = governance::member(doc.document, "provider_range");
  if (!range || !range->IsString()) return bad("expected a string \"provider_range\" (an npm-style range)", "provider_range");
  const std::string range_text(range->GetString(), range->GetStringLength());
  if (auto parsed = semver::Range::parse(range_text); !parsed)
    return bad("invalid provider_range: " + parsed.error().message, "provider_range");
  auto* pact = governance::member(doc.document, "pact");
  if (!pact || !pact->IsObject()) return bad("expected an object \"pact\" (a Pact v2 document)", "pact");
  for (auto& [key, value] : doc.document.GetObject())
    if (key != "provider_range" && key != "pact") return bad("unknown field \"" + std::string(key.GetString()) + "\"", key.GetString());
  WriteOutcome out;
  const auto parsed = governance::parse_pact(*pact);
  if ((out.error = pact_error(parsed, "the pact", out.findings))) return out;
  if (parsed.pact->consumer != consumer || parsed.pact->provider != provider)
    return bad("the pact is between \"" + parsed.pact->consumer + "\" and \"" + parsed.pact->provider +
                   "\", the URL names \"" + std::string(consumer) + "\" and \"" + std::string(provider) + "\"",
               "pact.consumer.name");
  flatbuffers::FlatBufferBuilder fbb(1024);
  auto str = [&](std::string_view v) { return fbb.CreateString(v.data(), v.size()); };
  fbb.Finish(wire::CreateContract(fbb, str(consumer), str(consumer_version), str(provider), str(range_text),
                                  str(governance::to_json_text(*pact))));
  return commit({{RecordKind::Contract, contract_key(consumer, consumer_version, provider),
                  std::vector<uint8_t>(fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize())}});
}

WriteOutcome Registry::delete_contract(std::string_view consumer, std::string_view consumer_version,
                                       std::string_view provider) {
  const std::string key = contract_key(consumer, consumer_version, provider);
  if (!contracts_.count(key))
    return {0, {}, not_found("no contract of " + std::string(consumer) + "@" + std::string(consumer_version) + " with " + std::string(provider)), {}};
  return commit({{RecordKind::Contract, key, std::nullopt}});
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

std::vector<const wire::Contract*> Registry::contracts(std::optional<std::string_view> consumer,
                                                       std::optional<std::string_view> provider) const {
  std::vector<const wire::Contract*> out;
  for (auto& [key, bytes] : contracts_) {
    auto* c = root<wire::Contract>(bytes);
    if (consumer && c->consumer()->string_view() != *consumer) continue;
    if (provider && c->provider()->string_view() != *provider) continue;
    out.push_back(c);
  }
  return out;
}

const wire::Contract* Registry::contract(std::string_view consumer, std::string_view consumer_version,
                                         std::string_view provider) const {
  auto it = contracts_.find(contract_key(consumer, consumer_version, provider));
  return it == contracts_.end() ? nullptr : root<wire::Contract>(it->second);
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
