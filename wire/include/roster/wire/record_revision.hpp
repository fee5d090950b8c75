// A record's `revision` is the revision of the commit that last wrote it, and only the server
// knows it once the store has committed: it stamps the field into the record's bytes then.
#pragma once

#include <cstdint>
#include <vector>

#include "roster/wire/roster_generated.h"

namespace roster::wire {

// Sets `revision` in a verified T record (ServiceVersion, Instance or Contract): in place when
// the field is present (the decoder always writes it), else by re-encoding the record.
template <typename T>
void set_revision(std::vector<uint8_t>& record, uint64_t revision);

// As set_revision, but always by re-encoding: for records that came from outside this process.
// The verifier accepts buffers whose fields overlap; writing one field in place could then change
// another, so such a record is rebuilt (and comes out well formed) instead.
template <typename T>
void reencode_with_revision(std::vector<uint8_t>& record, uint64_t revision);

extern template void reencode_with_revision<ServiceVersion>(std::vector<uint8_t>&, uint64_t);
extern template void reencode_with_revision<Instance>(std::vector<uint8_t>&, uint64_t);
extern template void reencode_with_revision<Contract>(std::vector<uint8_t>&, uint64_t);
extern template void set_revision<ServiceVersion>(std::vector<uint8_t>&, uint64_t);
extern template void set_revision<Instance>(std::vector<uint8_t>&, uint64_t);
extern template void set_revision<Contract>(std::vector<uint8_t>&, uint64_t);

// Adds a `revision` field of 0 that is present in the buffer (FlatBuffers leaves out a field
// equal to its default), so that set_revision can overwrite it in place.
template <typename Builder>
void add_revision_placeholder(flatbuffers::FlatBufferBuilder& fbb, Builder& builder) {
  fbb.ForceDefaults(true);
  builder.add_revision(0);
  fbb.ForceDefaults(false);
}

}  // namespace roster::wire
