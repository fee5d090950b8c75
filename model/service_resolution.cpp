#include "roster/model/service_resolution.hpp"

#include "roster/model/version_choice.hpp"

namespace roster::model {

VersionInfo version_info(const wire::ServiceVersion& v) {
  VersionInfo info{v.name()->str(), v.version()->str(), v.stage(), {}};
  if (v.dependencies())
    for (auto* d : *v.dependencies()) info.dependencies.push_back({d->service()->str(), d->range()->str()});
  return info;
}

std::vector<uint8_t> resolution_record(const DependencyGraph& graph, std::string_view name) {
  struct Seen {
    LifecycleStage stage;
    bool prerelease;
  };
  std::vector<Seen> seen;
  flatbuffers::FlatBufferBuilder fbb(256);
  std::vector<flatbuffers::Offset<wire::ResolvedVersion>> versions;
  std::vector<flatbuffers::Offset<flatbuffers::String>> resolved;
  graph.for_each_version(name, [&](const semver::Version& version, std::string_view text, LifecycleStage stage,
                                   std::span<const std::string* const> targets) {
    resolved.clear();
    for (const std::string* target : targets) resolved.push_back(fbb.CreateSharedString(target ? *target : ""));
    versions.push_back(wire::CreateResolvedVersion(fbb, fbb.CreateString(text.data(), text.size()),
                                                   version.is_prerelease(),
                                                   resolved.empty() ? 0 : fbb.CreateVector(resolved)));
    seen.push_back({stage, version.is_prerelease()});
  });
  // "latest" by the one rule (version_choice.hpp), over the versions just listed.
  auto latest = [&](bool every_stage) {
    const auto choice = choose_version(
        seen.begin(), seen.end(), [](const Seen& v) { return v.stage; },
        [&](const Seen& v) { return every_stage || !v.prerelease; }, every_stage);
    return choice.chosen == seen.end() ? ~uint32_t{0} : static_cast<uint32_t>(choice.chosen - seen.begin());
  };
  fbb.Finish(wire::CreateServiceResolution(fbb, fbb.CreateString(name.data(), name.size()), fbb.CreateVector(versions),
                                           latest(false), latest(true)));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

}  // namespace roster::model
