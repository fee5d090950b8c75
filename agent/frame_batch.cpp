// add_snapshot and batch_of (frame_batch.hpp).
#include "frame_batch.hpp"

namespace roster::agent {

void add_snapshot(const wire::Snapshot& snap, shm::Batch& batch) {
  if (auto* list = snap.services())
    for (auto* r : *list) batch.upsert_versions.emplace_back(r->bytes()->data(), r->bytes()->size());
  if (auto* list = snap.instances())
    for (auto* r : *list) batch.upsert_instances.emplace_back(r->bytes()->data(), r->bytes()->size());
  if (auto* list = snap.contracts())
    for (auto* r : *list) batch.upsert_contracts.emplace_back(r->bytes()->data(), r->bytes()->size());
  if (auto* list = snap.resolutions())
    for (auto* r : *list) batch.resolutions.emplace_back(r->bytes()->data(), r->bytes()->size());
}

shm::Batch batch_of(const wire::Delta& d) {
  shm::Batch batch;
  batch.revision = d.revision();
  if (auto* list = d.upsert_services())
    for (auto* r : *list) batch.upsert_versions.emplace_back(r->bytes()->data(), r->bytes()->size());
  if (auto* list = d.remove_services())
    for (auto* k : *list) batch.remove_versions.push_back({k->name()->str(), k->version()->str()});
  if (auto* list = d.upsert_instances())
    for (auto* r : *list) batch.upsert_instances.emplace_back(r->bytes()->data(), r->bytes()->size());
  if (auto* list = d.remove_instances())
    for (auto* k : *list) batch.remove_instances.push_back({k->service()->str(), k->version()->str(), k->id()->str()});
  if (auto* list = d.upsert_contracts())
    for (auto* r : *list) batch.upsert_contracts.emplace_back(r->bytes()->data(), r->bytes()->size());
  if (auto* list = d.remove_contracts())
    for (auto* k : *list) batch.remove_contracts.push_back({k->consumer()->str(), k->consumer_version()->str(), k->provider()->str()});
  if (auto* list = d.resolutions())
    for (auto* r : *list) batch.resolutions.emplace_back(r->bytes()->data(), r->bytes()->size());
  return batch;
}

}  // namespace roster::agent
