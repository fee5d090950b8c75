#include "plain_names.hpp"

#include <cstring>

#include "hash.hpp"

namespace roster::shm {

using namespace detail;

namespace {

bool has_versions(const NodeBuilder* registry, std::string_view name) {
  const ServiceState* s = registry->find(name);
  return s && s->node && !s->versions.empty();
}

}  // namespace

uint16_t PlainNames::serving(std::string_view name) const {
  if (auto it = preferred_.find(name); it != preferred_.end() && has_versions(registries_[it->second], name))
    return it->second;
  for (uint16_t r = 0; r < registries_.size(); ++r)
    if (has_versions(registries_[r], name)) return r;
  return kNobody;
}

void PlainNames::update(uint16_t registry, const std::vector<ServiceState*>& written, uint64_t generation) {
  for (const ServiceState* s : written) {
    auto it = names_.find(s->name);
    const uint16_t now = serving(s->name);
    if (it == names_.end()) {
      if (now == kNobody) continue;  // never served: no plain slot needed
      Plain fresh;
      fresh.slot = tables_.claim_service_slot(key_hash(s->name));
      it = names_.emplace(s->name, fresh).first;
    }
    Plain& plain = it->second;
    // Another registry's node, unchanged, still serves it.
    if (now == plain.serving && now != registry) continue;
    // Nobody has it now: the writing registry's node (without versions) marks it gone.
    const NodeBuilder* source = registries_[now == kNobody ? registry : now];
    link_copy(plain, source->find(s->name)->node, generation);
    plain.serving = now;
  }
}

void PlainNames::link_copy(Plain& plain, uint64_t source, uint64_t generation) {
  const auto* from = heap_.ptr<ServiceNode>(source);
  const uint64_t bytes = from->node_bytes;
  const uint64_t offset = heap_.allocate(bytes);
  auto* copy = heap_.ptr<ServiceNode>(offset);
  std::memcpy(static_cast<void*>(copy), from, bytes);
  copy->generation = generation;
  copy->older.store(plain.node, std::memory_order_relaxed);
  copy->key = 0;
  // Instances kept inside the source node are read from the copy's own bytes; slices in blocks of
  // their own are shared: the source's registry retires them only when it rewrites its node, and
  // then this copy is replaced in the same batch (its registry serves the name), so no View
  // reaches a freed slice through a copy.
  auto* dir = const_cast<SliceRef*>(copy->slices());
  for (uint32_t i = 0; i < copy->slice_count; ++i)
    if (dir[i].entries >= source && dir[i].entries < source + bytes) dir[i].entries += offset - source;
  if (plain.node) heap_.retire(plain.node, generation, offset);
  plain.node = offset;
  tables_.link_service_node(plain.slot, offset, generation);
}

}  // namespace roster::shm
