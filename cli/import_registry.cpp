#include "import_registry.hpp"

#include <cctype>

#include "roster/semver.hpp"
#include "roster/wire/identifiers.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::cli::importing {

std::optional<std::pair<std::string, std::string>> owner_team_in(const std::map<std::string, std::string>& map) {
  for (std::string_view key : kOwnerTeamKeys)
    if (auto it = map.find(std::string(key)); it != map.end() && !it->second.empty()) return *it;
  return std::nullopt;
}

std::optional<std::string> to_semver(std::string_view raw) {
  if (semver::Version::parse(raw)) return std::string(raw);
  std::string_view s = raw;
  if (s.starts_with('v') || s.starts_with('V')) s.remove_prefix(1);
  // Only the numeric core may be short; what follows it stays: v1.4-rc.1 -> 1.4.0-rc.1.
  const auto core_end = s.find_first_of("-+");
  std::string_view core = s.substr(0, core_end);
  if (core.empty() || core.front() == '.' || core.back() == '.') return std::nullopt;
  size_t dots = 0;
  for (char c : core) {
    if (c == '.')
      ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
  }
  if (dots > 2) return std::nullopt;
  std::string out(core);
  for (; dots < 2; ++dots) out += ".0";
  if (core_end != std::string_view::npos) out += s.substr(core_end);
  if (!semver::Version::parse(out)) return std::nullopt;
  return out;
}

ImportResult refused(Error error) {
  ImportResult result;
  result.errors.push_back(std::move(error));
  return result;
}

ImportedVersion* ImportedRegistry::version(const std::string& name, std::string_view name_path, const Sourced& version,
                                           std::string_view version_hint, const Sourced& owner_team) {
  if (auto valid = wire::check_identifier(name); !valid) {
    fields_.error(std::string(name_path), "not a usable service name: " + valid.error().message);
    return nullptr;
  }
  std::string raw_version, semver_version;
  if (version.value) {
    raw_version = *version.value;
    auto parsed = to_semver(raw_version);
    if (!parsed) {
      fields_.error(version.path, "version \"" + raw_version +
                                      "\" is not SemVer (nor v1.2.3, 1.2 or 1, which are read as 1.2.3, 1.2.0, 1.0.0)");
      return nullptr;
    }
    semver_version = *parsed;
  } else if (!options_.default_version.empty()) {
    semver_version = options_.default_version;
  } else {
    fields_.error(version.path, "no version (" + std::string(version_hint) + "); --default-version gives one");
    return nullptr;
  }
  std::string team = owner_team.value.value_or(options_.owner_team);
  if (team.empty()) {
    fields_.error(owner_team.path,
                  "no owner team (metadata or label owner-team, owner_team, team or owner); --owner-team gives one");
    return nullptr;
  }

  auto [it, added] = services_[name].try_emplace(semver_version);
  ImportedVersion& v = it->second;
  if (added) {
    v.owner_team = std::move(team);
    v.owner_team_from = owner_team.value ? owner_team.path : "--owner-team";
    v.labels.emplace("imported-from", source_);
    if (!version.value)
      v.labels.emplace("imported-version", "none");
    else if (raw_version != semver_version)
      v.labels.emplace("imported-version", raw_version);
  } else if (v.owner_team != team) {
    fields_.error(owner_team.value ? owner_team.path : std::string(name_path),
                  "owner team \"" + team + "\" of " + name + "@" + semver_version + " differs from \"" +
                      v.owner_team + "\" (" + v.owner_team_from + ")");
    return nullptr;
  }
  return &v;
}

void ImportedRegistry::add_instance(ImportedVersion& version, ImportedInstance instance, const std::string& path) {
  if (auto valid = wire::check_identifier(instance.id); !valid) {
    fields_.error(path, "not a usable instance id: " + valid.error().message);
    return;
  }
  if (auto [it, added] = version.instance_paths.emplace(instance.id, path); !added) {
    fields_.error(path, "instance id \"" + instance.id + "\" repeats the one at " + it->second);
    return;
  }
  version.instances.push_back(std::move(instance));
}

namespace {

void write_map(wire::JsonWriter& w, std::string_view key, const std::map<std::string, std::string>& map) {
  if (map.empty()) return;
  w.key(key).begin_object();
  for (const auto& [k, v] : map) w.key(k).string(v);
  w.end_object();
}

}  // namespace

ImportResult ImportedRegistry::finish() {
  ImportResult result;
  result.errors = fields_.take_errors();
  if (!result.errors.empty()) return result;
  wire::JsonWriter w(result.document, /*pretty=*/true);
  w.begin_object().key("services").begin_array();
  for (const auto& [name, versions] : services_) {
    ++result.services;
    w.begin_object().key("name").string(name).key("versions").begin_array();
    for (const auto& [version, v] : versions) {
      ++result.versions;
      w.begin_object().key("version").string(version).key("lifecycle_stage").string(options_.stage);
      w.key("owner_team").string(v.owner_team);
      if (!v.tags.empty()) {
        w.key("tags").begin_array();
        for (const auto& tag : v.tags) w.string(tag);
        w.end_array();
      }
      write_map(w, "labels", v.labels);
      w.key("instances").begin_array();
      for (const auto& inst : v.instances) {
        ++result.instances;
        w.begin_object().key("id").string(inst.id).key("address").string(inst.address).key("port").number(inst.port);
        if (!inst.zone.empty()) w.key("zone").string(inst.zone);
        w.key("health").string(inst.health);
        write_map(w, "metadata", inst.metadata);
        w.end_object();
      }
      w.end_array().end_object();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();

  // The registry's own rules over the result (an empty tag, a --stage or --default-version that is
  // not valid, ...): what the server would refuse is refused here, before anything is sent.
  auto decoded = wire::JsonDecoder().decode(result.document);
  if (!decoded.ok()) {
    ImportResult refused;
    for (auto& e : decoded.errors) {
      e.message = "in the converted document: " + e.message;
      refused.errors.push_back(std::move(e));
    }
    return refused;
  }
  result.document += '\n';
  return result;
}

}  // namespace roster::cli::importing
