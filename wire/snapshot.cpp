#include "roster/wire/snapshot.hpp"

namespace roster::wire {
flatbuffers::Offset<flatbuffers::Vector<uint8_t>> nested_record(flatbuffers::FlatBufferBuilder& fbb,
                                                                std::span<const uint8_t> record) {
  fbb.ForceVectorAlignment(record.size(), 1, 8);
  return fbb.CreateVector(record.data(), record.size());
}

namespace {

// Record is ServiceRecord, InstanceRecord, ContractRecord or ResolutionRecord: each has one field, `bytes`.
template <typename Record>
auto wrap_all(flatbuffers::FlatBufferBuilder& fbb, const RecordList& list) {
  std::vector<flatbuffers::Offset<Record>> offsets;
  offsets.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    auto bytes = nested_record(fbb, list[i]);
    typename Record::Builder builder(fbb);
    builder.add_bytes(bytes);
    offsets.push_back(builder.Finish());
  }
  return fbb.CreateVector(offsets);
}

}  // namespace

flatbuffers::DetachedBuffer build_snapshot(const RecordList& services, const RecordList& instances,
                                           const RecordList& contracts, uint64_t revision, std::string_view store_id,
                                           const RecordList& resolutions) {
  flatbuffers::FlatBufferBuilder fbb(services.total_bytes() + instances.total_bytes() + contracts.total_bytes() +
                                     resolutions.total_bytes() + 1024);
  auto s = wrap_all<ServiceRecord>(fbb, services);
  auto i = wrap_all<InstanceRecord>(fbb, instances);
  auto c = wrap_all<ContractRecord>(fbb, contracts);
  auto r = resolutions.size() ? wrap_all<ResolutionRecord>(fbb, resolutions) : 0;
  auto store = store_id.empty() ? flatbuffers::Offset<flatbuffers::String>() : fbb.CreateString(store_id.data(), store_id.size());
  fbb.Finish(CreateSnapshot(fbb, revision, 0, true, s, i, c, store, r));
  return fbb.Release();
}

SnapshotRecords open_snapshot(const Snapshot& snapshot) {
  SnapshotRecords records;
  if (auto* list = snapshot.services())
    for (auto* r : *list) records.versions.push_back(r->bytes_nested_root());
  if (auto* list = snapshot.instances())
    for (auto* r : *list) records.instances.push_back(r->bytes_nested_root());
  if (auto* list = snapshot.contracts())
    for (auto* r : *list) records.contracts.push_back(r->bytes_nested_root());
  return records;
}

}  // namespace roster::wire
