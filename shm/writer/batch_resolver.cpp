#include "roster/shm/batch_resolver.hpp"

#include "roster/model/service_resolution.hpp"

namespace roster::shm {

BatchResolver::Resolutions BatchResolver::resolve(Batch& batch) {
  undo_.clear();
  auto remember = [&](const Key& key) {
    auto it = versions_.find(key);
    undo_.emplace_back(key, it == versions_.end() ? std::nullopt : std::optional(it->second));
  };
  for (auto bytes : batch.upsert_versions) {
    model::VersionInfo info = model::version_info(*flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data()));
    Key key{info.name, info.version};
    remember(key);
    if (graph_.upsert(info)) versions_[std::move(key)] = std::move(info);
  }
  for (auto& k : batch.remove_versions) {
    Key key{k.service, k.version};
    remember(key);
    graph_.remove(k.service, k.version);
    versions_.erase(key);
  }
  Resolutions out;
  for (const std::string& name : graph_.take_changed_services()) out.push_back(model::resolution_record(graph_, name));
  for (auto& r : out) batch.resolutions.emplace_back(r.data(), r.size());
  return out;
}

void BatchResolver::undo() {
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    auto& [key, before] = *it;
    if (before) {
      (void)graph_.upsert(*before);  // it was in the graph before
      versions_[key] = *before;
    } else {
      graph_.remove(key.first, key.second);
      versions_.erase(key);
    }
  }
  undo_.clear();
  (void)graph_.take_changed_services();  // the writer still holds their resolutions
}

Result<uint64_t> BatchResolver::apply(ArenaWriter& writer, Batch batch) {
  const Resolutions resolutions = resolve(batch);
  auto applied = writer.apply(batch);
  if (!applied) undo();
  return applied;
}

}  // namespace roster::shm
