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
