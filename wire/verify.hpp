// Structural verification of untrusted FlatBuffers bytes (from a file or the network) before
// anything reads them: offsets in bounds, required fields present, nested records verified too.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "roster/wire/roster_generated.h"

namespace roster::wire {

// nullopt when the bytes are a valid T; otherwise what is wrong, naming the type and size.
template <typename T>
std::optional<std::string> verify(std::span<const uint8_t> bytes);

extern template std::optional<std::string> verify<ServiceVersion>(std::span<const uint8_t>);
extern template std::optional<std::string> verify<Instance>(std::span<const uint8_t>);
extern template std::optional<std::string> verify<Contract>(std::span<const uint8_t>);
extern template std::optional<std::string> verify<Snapshot>(std::span<const uint8_t>);
extern template std::optional<std::string> verify<Delta>(std::span<const uint8_t>);
extern template std::optional<std::string> verify<Hello>(std::span<const uint8_t>);
extern template std::optional<std::string> verify<Keepalive>(std::span<const uint8_t>);
extern template std::optional<std::string> verify<StreamError>(std::span<const uint8_t>);

}  // namespace roster::wire
