// Reads every field of verified records, so ASan/UBSan see each access a reader of them makes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "roster/wire/roster_generated.h"

namespace roster::fuzz {

inline size_t touch(const flatbuffers::String* s) { return s ? s->string_view().size() : 0; }

inline size_t touch_labels(const flatbuffers::Vector<flatbuffers::Offset<wire::Label>>* labels) {
  size_t n = 0;
  if (labels)
    for (auto* l : *labels) n += touch(l->key()) + touch(l->value());
  return n;
}

inline size_t touch(const wire::ServiceVersion& v) {
  size_t n = touch(v.name()) + touch(v.version()) + touch(v.description()) + touch(v.owner_team()) +
             touch(v.documentation_url()) + touch(v.deprecation_reason()) + static_cast<size_t>(v.stage());
  if (v.tags())
    for (auto* t : *v.tags()) n += touch(t);
  n += touch_labels(v.labels());
  if (auto* s = v.api_schema()) n += touch(s->document()) + static_cast<size_t>(s->format()) + s->hash();
  if (v.dependencies())
    for (auto* d : *v.dependencies()) n += touch(d->service()) + touch(d->range());
  if (v.endpoints())
    for (auto* e : *v.endpoints()) n += touch(e->method()) + touch(e->path()) + touch(e->description());
  // Unsigned sums: the values are whatever the record says.
  for (int64_t ms : {v.created_at_ms(), v.updated_at_ms(), v.deprecated_at_ms(), v.sunset_at_ms(), v.retired_at_ms()})
    n += static_cast<size_t>(ms);
  n += v.revision();
  return n;
}

inline size_t touch(const wire::Instance& i) {
  return touch(i.service()) + touch(i.version()) + touch(i.id()) + touch(i.address()) + touch(i.zone()) + i.port() +
         i.weight() + static_cast<size_t>(i.health()) + static_cast<size_t>(i.lease_expires_at_ms()) +
         touch_labels(i.metadata()) + static_cast<size_t>(i.revision());
}

inline size_t touch(const wire::Contract& c) {
  return touch(c.consumer()) + touch(c.consumer_version()) + touch(c.provider()) + touch(c.provider_range()) +
         touch(c.pact()) + static_cast<size_t>(c.revision());
}

}  // namespace roster::fuzz
