// Fuzz harness: the agent stream between roster-server and roster-agent. The bytes arrive in
// pieces of fuzz-chosen sizes (see Pieces in fuzz_support.hpp) into wire::FrameReader; every
// frame's payload goes through wire::verify<T> for its type, and a verified payload is read the
// way the agent (Snapshot, Delta, Keepalive, Error) or the server (Hello) reads it.
//
// Input: byte 0 (low 4 bits: the number of split sizes that follow; bit 4: a 256-byte frame limit,
// as for a stranger's first frame, instead of the default 16 MiB), the split sizes, the stream.
#include <cstring>

#include "frame_batch.hpp"
#include "fuzz_support.hpp"
#include "records.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/snapshot.hpp"
#include "roster/wire/verify.hpp"

namespace {

using namespace roster;

// A server's resolution, read as the arena writer reads it.
size_t touch_resolution(std::span<const uint8_t> bytes) {
  auto* r = flatbuffers::GetRoot<wire::ServiceResolution>(bytes.data());
  size_t n = fuzz::touch(r->name()) + r->latest() + r->latest_any();
  if (r->versions())
    for (auto* v : *r->versions()) {
      n += fuzz::touch(v->version()) + v->prerelease();
      if (v->resolved())
        for (auto* target : *v->resolved()) n += fuzz::touch(target);
    }
  return n;
}

size_t read_frame(const wire::Frame& frame) {
  const auto payload = frame.payload;
  FUZZ_CHECK(reinterpret_cast<uintptr_t>(payload.data()) % 8 == 0 || payload.empty());
  size_t n = 0;
  switch (frame.type) {
    case wire::FrameType::Hello:
      if (wire::verify<wire::Hello>(payload)) {
        auto* h = flatbuffers::GetRoot<wire::Hello>(payload.data());
        n += fuzz::touch(h->agent_id()) + fuzz::touch(h->token()) + fuzz::touch(h->store_id()) + h->last_revision();
      }
      break;
    case wire::FrameType::Snapshot:
      if (wire::verify<wire::Snapshot>(payload)) {
        // The agent keeps an aligned copy of each chunk, then reads its records.
        std::vector<uint64_t> words((payload.size() + 7) / 8);
        std::memcpy(words.data(), payload.data(), payload.size());
        auto* snap = flatbuffers::GetRoot<wire::Snapshot>(words.data());
        n += snap->revision() + snap->chunk() + snap->last() + fuzz::touch(snap->store_id());
        auto records = wire::open_snapshot(*snap);
        for (auto* v : records.versions) n += fuzz::touch(*v);
        for (auto* i : records.instances) n += fuzz::touch(*i);
        for (auto* c : records.contracts) n += fuzz::touch(*c);
        shm::Batch batch;
        agent::add_snapshot(*snap, batch);
        FUZZ_CHECK(batch.upsert_versions.size() == records.versions.size());
        for (auto bytes : batch.resolutions) n += touch_resolution(bytes);
      }
      break;
    case wire::FrameType::Delta:
      if (wire::verify<wire::Delta>(payload)) {
        auto* d = flatbuffers::GetRoot<wire::Delta>(payload.data());
        n += d->from_revision();
        const shm::Batch batch = agent::batch_of(*d);
        // Nested records were verified with the Delta: read them as the arena writer will.
        for (auto bytes : batch.upsert_versions) n += fuzz::touch(*flatbuffers::GetRoot<wire::ServiceVersion>(bytes.data()));
        for (auto bytes : batch.upsert_instances) n += fuzz::touch(*flatbuffers::GetRoot<wire::Instance>(bytes.data()));
        for (auto bytes : batch.upsert_contracts) n += fuzz::touch(*flatbuffers::GetRoot<wire::Contract>(bytes.data()));
        for (auto& k : batch.remove_versions) n += k.service.size() + k.version.size();
        for (auto bytes : batch.resolutions) n += touch_resolution(bytes);
      }
      break;
    case wire::FrameType::Keepalive:
      if (wire::verify<wire::Keepalive>(payload)) {
        auto* k = flatbuffers::GetRoot<wire::Keepalive>(payload.data());
        n += k->revision() + static_cast<size_t>(k->server_time_ms());
      }
      break;
    case wire::FrameType::Error:
      if (wire::verify<wire::StreamError>(payload)) {
        auto* e = flatbuffers::GetRoot<wire::StreamError>(payload.data());
        n += e->code() + fuzz::touch(e->message());
      }
      break;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint32_t max_frame = (data[0] & 0x10) ? 256 : wire::kDefaultMaxFrameBytes;
  fuzz::Input in(data, size);
  const fuzz::Pieces pieces(in);
  wire::FrameReader reader(max_frame);
  uint64_t fed = 0, last_offset = 0, frames = 0;
  volatile size_t sink = 0;
  pieces.each([&](std::span<const uint8_t> piece) {
    reader.feed(piece);
    fed += piece.size();
    while (auto frame = reader.next()) {
      FUZZ_CHECK(!reader.error());
      FUZZ_CHECK(frames == 0 || frame->offset > last_offset);
      FUZZ_CHECK(frame->offset + wire::kFrameHeaderBytes + frame->payload.size() <= fed);
      FUZZ_CHECK(frame->payload.size() + wire::kFrameHeaderBytes <= max_frame);
      last_offset = frame->offset;
      ++frames;
      sink = sink + read_frame(*frame);
    }
    if (reader.error()) FUZZ_CHECK(!reader.next());  // a failed reader stays failed
  });
  if (!reader.error()) FUZZ_CHECK(reader.stream_offset() + reader.buffered() == fed);
  return 0;
}
