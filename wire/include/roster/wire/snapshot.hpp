// Snapshot messages: a set of standalone records wrapped as nested buffers, and back.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "roster/wire/roster_generated.h"
#include "roster/wire/record_list.hpp"

namespace roster::wire {

// One record's bytes as a nested buffer, 8-byte aligned inside the message so readers can open
// it in place (for the *Record wrapper tables of Snapshot and Delta).
flatbuffers::Offset<flatbuffers::Vector<uint8_t>> nested_record(flatbuffers::FlatBufferBuilder& fbb,
                                                                std::span<const uint8_t> record);

// Builds a Snapshot carrying copies of the records' bytes (each nested buffer 8-byte aligned).
// `resolutions`: ServiceResolution records (an agent's cache holds what the server sent).
flatbuffers::DetachedBuffer build_snapshot(const RecordList& services, const RecordList& instances,
                                           const RecordList& contracts, uint64_t revision,
                                           std::string_view store_id = {}, const RecordList& resolutions = {});

// The records inside a verified Snapshot (see verify<Snapshot>), pointing into its bytes.
struct SnapshotRecords {
  std::vector<const ServiceVersion*> versions;
  std::vector<const Instance*> instances;
  std::vector<const Contract*> contracts;
};
SnapshotRecords open_snapshot(const Snapshot& snapshot);

}  // namespace roster::wire
