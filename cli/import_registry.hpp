// What the importers build from another system's export: services, their versions and each
// version's instances, written out as one roster registry document (docs/registry-format.md).
// Every service name, version, owner team and instance id is checked here against the path it was
// read from, so a problem names the input, not the converted document.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "import_json.hpp"
#include "importers.hpp"

namespace roster::cli::importing {

// The metadata or label keys that name a service's owner team, in the order they are tried.
inline constexpr std::string_view kOwnerTeamKeys[] = {"owner-team", "owner_team", "team", "owner"};

// The first of kOwnerTeamKeys in `map`, with that key; nullopt when none is there.
std::optional<std::pair<std::string, std::string>> owner_team_in(const std::map<std::string, std::string>& map);

// `raw` as SemVer: as it is when valid, else without a leading `v` and with a missing minor or
// patch filled in with 0 (`v1.4` -> 1.4.0); nullopt when that is still not SemVer (`1.0.0.RELEASE`).
std::optional<std::string> to_semver(std::string_view raw);

// A result that is only `error` (the file is not JSON, or not one document where one is expected).
ImportResult refused(Error error);

struct ImportedInstance {
  std::string id, address, zone;
  int64_t port = 0;
  std::string health = "up";  // a roster health name (up, down, starting, out_of_service)
  std::map<std::string, std::string> metadata;
};

struct ImportedVersion {
  std::string owner_team, owner_team_from;  // the team and the path it was read at
  std::map<std::string, std::string> labels;
  std::set<std::string> tags;
  std::vector<ImportedInstance> instances;
  std::map<std::string, std::string> instance_paths;  // id -> where it was read, to name a repeat
};

// Where a service version's owner team and version came from: the value (nullopt when the source
// has none) and the path it was (or would have been) read at.
struct Sourced {
  std::optional<std::string> value;
  std::string path;
};

class ImportedRegistry {
 public:
  ImportedRegistry(const ImportOptions& options, std::string_view source, Fields& fields)
      : options_(options), source_(source), fields_(fields) {}

  // The version `version` of service `name` (read at `name_path`), created on first use, or
  // nullptr after recording why not: an invalid name, no version and no --default-version, a
  // version that is not SemVer, no owner team and no --owner-team, or a team that differs from the
  // one an earlier instance of the same version named. `version_hint` says where a version is
  // looked for, for the message when there is none.
  ImportedVersion* version(const std::string& name, std::string_view name_path, const Sourced& version,
                           std::string_view version_hint, const Sourced& owner_team);

  // Adds an instance read at `path`; an invalid or repeated id is recorded as an error.
  void add_instance(ImportedVersion& version, ImportedInstance instance, const std::string& path);

  // The registry document, or the errors: those recorded while reading, else any the registry's
  // own decoder finds in the document (a last guard; the checks above should leave none).
  ImportResult finish();

 private:
  const ImportOptions& options_;
  std::string source_;  // "eureka", "consul", "kubernetes": the versions' imported-from label
  Fields& fields_;
  std::map<std::string, std::map<std::string, ImportedVersion>> services_;
};

}  // namespace roster::cli::importing
