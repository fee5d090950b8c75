#include "roster/wire/verify.hpp"

#include <string_view>

namespace roster::wire {
namespace {

template <typename T>
constexpr std::string_view type_name();
template <> constexpr std::string_view type_name<ServiceVersion>() { return "ServiceVersion"; }
template <> constexpr std::string_view type_name<Instance>() { return "Instance"; }
template <> constexpr std::string_view type_name<Contract>() { return "Contract"; }
template <> constexpr std::string_view type_name<Snapshot>() { return "Snapshot"; }
template <> constexpr std::string_view type_name<Delta>() { return "Delta"; }
template <> constexpr std::string_view type_name<Hello>() { return "Hello"; }
template <> constexpr std::string_view type_name<Keepalive>() { return "Keepalive"; }
template <> constexpr std::string_view type_name<StreamError>() { return "StreamError"; }

// Generous for real registries, tight enough that a hostile buffer cannot make the verifier
// walk forever: the data model nests at most 4 tables deep (Snapshot > record > table > table).
constexpr flatbuffers::uoffset_t kMaxDepth = 16;
constexpr flatbuffers::uoffset_t kMaxTables = 50'000'000;

}  // namespace

template <typename T>
Result<void> verify(std::span<const uint8_t> bytes) {
  auto refuse = [&](std::string_view why) {
    return fail(ErrorKind::Corrupt, "invalid_buffer",
                std::string("not a valid ") + std::string(type_name<T>()) + " buffer (" + std::to_string(bytes.size()) +
                    " bytes): " + std::string(why));
  };
  if (bytes.size() < sizeof(flatbuffers::uoffset_t)) return refuse("too short");
  if (reinterpret_cast<uintptr_t>(bytes.data()) % 8 != 0) return refuse("not 8-byte aligned");
  flatbuffers::Verifier verifier(bytes.data(), bytes.size(), kMaxDepth, kMaxTables);
  if (!verifier.VerifyBuffer<T>(nullptr)) return refuse("offsets, sizes or required fields are inconsistent");
  return {};
}

template Result<void> verify<ServiceVersion>(std::span<const uint8_t>);
template Result<void> verify<Instance>(std::span<const uint8_t>);
template Result<void> verify<Contract>(std::span<const uint8_t>);
template Result<void> verify<Snapshot>(std::span<const uint8_t>);
template Result<void> verify<Delta>(std::span<const uint8_t>);
template Result<void> verify<Hello>(std::span<const uint8_t>);
template Result<void> verify<Keepalive>(std::span<const uint8_t>);
template Result<void> verify<StreamError>(std::span<const uint8_t>);

}  // namespace roster::wire
