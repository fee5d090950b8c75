// Structural verification of untrusted FlatBuffers bytes (from a file or the network) before
// anything reads them: offsets in bounds, required fields present, nested records verified too.
#pragma once

#include <cstdint>
#include <span>

#include "roster/base/result.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::wire {

// Success when the bytes are a valid T; otherwise Corrupt (invalid_buffer), naming the type and size.
template <typename T>
Result<void> verify(std::span<const uint8_t> bytes);

extern template Result<void> verify<ServiceVersion>(std::span<const uint8_t>);
extern template Result<void> verify<Instance>(std::span<const uint8_t>);
extern template Result<void> verify<Contract>(std::span<const uint8_t>);
extern template Result<void> verify<Snapshot>(std::span<const uint8_t>);
extern template Result<void> verify<Delta>(std::span<const uint8_t>);
extern template Result<void> verify<Hello>(std::span<const uint8_t>);
extern template Result<void> verify<Keepalive>(std::span<const uint8_t>);
extern template Result<void> verify<StreamError>(std::span<const uint8_t>);

}  // namespace roster::wire
