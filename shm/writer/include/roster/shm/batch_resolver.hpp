// The resolutions roster-server sends with a batch (model/service_resolution.hpp), for programs
// that feed an ArenaWriter directly rather than through roster-agent: tests, benchmarks, fuzz
// harnesses. Like the server, it keeps the versions it has seen in a model::DependencyGraph and
// resolves the services whose versions a batch changes and those whose dependencies then
// resolve differently. Never linked into the writer (which parses no SemVer).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "roster/model/graph.hpp"
#include "roster/shm/writer.hpp"

namespace roster::shm {

class BatchResolver {
 public:
  // The standalone ServiceResolution records a batch's spans point into: keep them while it lives.
  using Resolutions = std::vector<std::vector<uint8_t>>;

  // Adds to `batch.resolutions` what the server would send with it. A version the graph refuses
  // (not SemVer, a range that does not parse: the server never lets one in) is left out of them,
  // so the writer refuses such a batch.
  [[nodiscard]] Resolutions resolve(Batch& batch);
  // The writer refused the batch last resolved: forgets its changes, so the next batch is
  // resolved against what the writer holds.
  void undo();

  // resolve() and ArenaWriter::apply() together, undone when the writer refuses the batch.
  Result<uint64_t> apply(ArenaWriter& writer, Batch batch);

 private:
  using Key = std::pair<std::string, std::string>;  // (service, version)
  model::DependencyGraph graph_;
  std::map<Key, model::VersionInfo> versions_;                 // what the graph holds
  std::vector<std::pair<Key, std::optional<model::VersionInfo>>> undo_;  // before the last batch, in order
};

}  // namespace roster::shm
