// What roster-agent applies for a verified Snapshot or Delta: its records as one shm::Batch. The
// batch holds spans into the frame's bytes, so it lives no longer than they do. Private to the
// agent (and the fuzz harnesses that drive it).
#pragma once

#include "roster/shm/writer.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::agent {

// Appends a Snapshot chunk's records (a snapshot may come in several chunks).
void add_snapshot(const wire::Snapshot& snap, shm::Batch& batch);
shm::Batch batch_of(const wire::Delta& delta);

}  // namespace roster::agent
