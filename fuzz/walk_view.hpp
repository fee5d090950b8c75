// Every lookup roster::View offers (shm/include/roster/client.hpp), over a set of keys, with a
// text fingerprint of what the View answered: two Views of the same registry give the same one.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "records.hpp"
#include "roster/client.hpp"

namespace roster::fuzz {

struct Keys {
  std::set<std::string> names, versions, teams, tags;
  void add_record(const wire::ServiceVersion& v) {
    if (v.name()) names.insert(v.name()->str());
    if (v.version()) versions.insert(v.version()->str());
    if (v.owner_team()) teams.insert(v.owner_team()->str());
    if (v.tags())
      for (auto* t : *v.tags()) tags.insert(t->str());
    if (v.dependencies())
      for (auto* d : *v.dependencies()) names.insert(d->service()->str());
  }
};

// A record's fields are read only once verified(), as client.hpp advises: an unverified record of
// a hostile arena stays inside the mapping, but its accessors may make misaligned reads (UB that
// UBSan reports) and its strings may be as long as the mapping.
inline void print(std::string& out, const ServiceVersion& v, bool hostile) {
  (void)v.bytes();
  out += std::string(v.registry()) + ":";
  if (!v.verified()) {
    FUZZ_CHECK(hostile);
    out += "<unverified>;";
    return;
  }
  out += std::string(v.name()) + "@" + std::string(v.version()) + "/" + std::to_string(static_cast<int>(v.stage())) +
         "/" + std::string(v.owner_team()) + "/" + std::string(v.description()) + "/" +
         std::string(v.documentation_url()) + "/" + std::to_string(v.deprecated_at_ms()) + "/" +
         std::to_string(v.sunset_at_ms()) + ";";
  (void)touch(v.record());
}

inline void print(std::string& out, const Instance& i, bool hostile) {
  // port, weight and health come from the index entry, not the record.
  out += " inst " + std::to_string(i.port()) + "," + std::to_string(i.weight()) + "," +
         std::to_string(static_cast<int>(i.health()));
  (void)i.bytes();
  if (!i.verified()) {
    FUZZ_CHECK(hostile);
    out += "<unverified>;";
    return;
  }
  out += "," + std::string(i.id()) + "," + std::string(i.address()) + "," + std::string(i.zone()) + ";";
  (void)touch(i.record());
}

// The strings of a Dependency point into its `from` record: read them when that record verifies.
inline std::string print(const Dependency& d) {
  if (!d.from.verified()) return "<unverified>;";
  std::string out = std::string(d.service) + " " + std::string(d.range) + " from " + std::string(d.from.version()) + " -> ";
  if (d.resolved && d.resolved->verified()) out += std::string(d.resolved->version());
  else out += d.resolved ? "<unverified>" : "none";
  return out + ";";
}

// `hostile`: the arena may hold anything (shm_reader); otherwise every record must verify.
inline std::string walk(const View& view, const Keys& keys, bool hostile) {
  std::string out = "gen " + std::to_string(view.generation()) + " rev " + std::to_string(view.revision()) +
                    " store " + std::string(view.store()) + "\n";
  (void)view.staleness();
  (void)view.evicted();
  for (const auto& r : view.registries()) out += "registry " + std::string(r.name) + " rev " + std::to_string(r.revision) + "\n";
  std::vector<std::string> names(keys.names.begin(), keys.names.end());
  names.push_back("");
  names.push_back("no-such-service");
  for (const auto& name : names) {
    out += "[" + name + "] ";
    if (auto s = view.service(name)) print(out, *s, hostile);
    out += " latest ";
    if (auto s = view.latest(name, Latest::IncludingPrereleases)) print(out, *s, hostile);
    if (auto s = view.latest(name, Latest::Stable)) print(out, *s, hostile);
    out += " versions ";
    for (const auto& v : view.versions(name)) print(out, v, hostile);
    for (const auto& version : keys.versions) {
      if (auto s = view.service(name, version)) print(out, *s, hostile);
      for (auto i : view.instances(name, version)) print(out, i, hostile);
      for (auto i : view.instances(name, version, Healthy)) print(out, i, hostile);
      for (const auto& d : view.dependencies(name, version, Transitive)) out += " dep " + print(d);
    }
    out += " instances ";
    const auto all = view.instances(name);
    for (auto i : all) print(out, i, hostile);
    out += " n=" + std::to_string(all.size());
    for (auto i : view.instances(name, Healthy)) print(out, i, hostile);
    for (auto depth : {Direct, Transitive}) {
      out += " deps ";
      for (const auto& d : view.dependencies(name, depth)) out += print(d);
      out += " dependents ";
      for (const auto& v : view.dependents(name, depth)) print(out, v, hostile);
    }
    // Federation: where the name is, and each of those registries' own lookups.
    for (auto registry : view.where(name)) {
      const InRegistry in = view.in(registry);
      out += " in " + std::string(registry) + " ";
      if (auto s = in.service(name)) print(out, *s, hostile);
      for (const auto& v : in.versions(name)) print(out, v, hostile);
      for (auto i : in.instances(name, Healthy)) print(out, i, hostile);
      for (const auto& d : in.dependencies(name, Transitive)) out += print(d);
      for (const auto& v : in.dependents(name, Transitive)) print(out, v, hostile);
    }
    out += " contracts ";
    // Contracts come as bare records (no verified()): read them in a sound arena only.
    for (const auto* c : view.contracts(name)) out += hostile ? std::string("c;") : std::to_string(touch(*c)) + ";";
    out += "\n";
  }
  for (const auto& team : keys.teams) {
    out += "team " + team + ": ";
    for (auto v : view.by_team(team)) print(out, v, hostile);
    out += "\n";
  }
  for (const auto& tag : keys.tags) {
    out += "tag " + tag + ": ";
    for (auto v : view.by_tag(tag)) print(out, v, hostile);
    out += "\n";
  }
  for (int stage = 0; stage <= static_cast<int>(wire::LifecycleStage::Retired); ++stage) {
    out += "stage " + std::to_string(stage) + ": ";
    for (auto v : view.by_stage(static_cast<wire::LifecycleStage>(stage))) print(out, v, hostile);
    out += "\n";
  }
  return out;
}

}  // namespace roster::fuzz
