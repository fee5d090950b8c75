// Helpers shared by the fuzz harnesses (fuzz/*.cpp). Each harness defines LLVMFuzzerTestOneInput;
// it is linked with libFuzzer in the fuzz preset and with replay_main.cpp in the normal build.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// An invariant the code under test broke: report and abort, so libFuzzer (or the replay test)
// records the input as a crash. Unlike assert() it is never compiled out.
#define FUZZ_CHECK(cond)                                                                         \
  do {                                                                                           \
    if (!(cond)) {                                                                               \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);       \
      std::abort();                                                                              \
    }                                                                                            \
  } while (0)

namespace roster::fuzz {

// Reads an input front to back: small integers first, then the rest as one span.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  size_t left() const { return size_ - pos_; }
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
  uint32_t u32() { return static_cast<uint32_t>(u16()) | (static_cast<uint32_t>(u16()) << 16); }
  std::span<const uint8_t> take(size_t n) {
    n = std::min(n, left());
    std::span<const uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }
  std::span<const uint8_t> rest() { return take(left()); }

 private:
  const uint8_t* data_;
  size_t size_, pos_ = 0;
};

// The input's first byte says how many split sizes follow (0-15, one byte each; 0 means one byte);
// the rest is cut into pieces of those sizes, cycling, so a parser sees its input arrive in
// arbitrary fragments as from a socket.
struct Pieces {
  std::vector<size_t> sizes;
  std::span<const uint8_t> stream;

  explicit Pieces(Input& in) {
    const size_t n = in.byte() & 0x0f;
    for (size_t i = 0; i < n; ++i) sizes.push_back(in.byte());
    if (sizes.empty()) sizes.push_back(0);  // 0: the whole stream in one piece
    stream = in.rest();
  }
  // Calls f(piece) for each piece in order.
  template <typename F>
  void each(F&& f) const {
    size_t at = 0, i = 0;
    while (at < stream.size()) {
      size_t n = sizes[i++ % sizes.size()];
      n = n == 0 ? stream.size() - at : std::min<size_t>(n, stream.size() - at);
      f(stream.subspan(at, n));
      at += n;
    }
  }
};

inline std::string_view as_text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// A name unique to this process, for arenas and temporary files ("fuzz.<pid>.<what>").
inline std::string process_unique(std::string_view what) {
  return "fuzz." + std::to_string(::getpid()) + "." + std::string(what);
}

// A small registry: two services with versions, instances, a dependency and a contract.
// arena_apply applies fuzzed Deltas on top of it, and make_seeds writes seeds that name its
// records (so a seed's removals and replacements hit something).
inline constexpr std::string_view kSmallRegistry = R"({"services": [
  {"name": "users", "versions": [
    {"version": "1.0.0", "lifecycle_stage": "stable", "owner_team": "identity", "tags": ["core"],
     "dependencies": [{"service": "db", "range": "^2"}],
     "instances": [{"id": "a", "address": "10.0.0.1", "port": 80}, {"id": "b", "address": "10.0.0.2", "port": 81, "health": "down"}]},
    {"version": "1.1.0-rc.1", "lifecycle_stage": "beta", "owner_team": "identity"}]},
  {"name": "db", "versions": [{"version": "2.3.0", "lifecycle_stage": "stable", "owner_team": "storage",
     "instances": [{"id": "db-1", "address": "10.0.1.1", "port": 5432}]}]}],
  "contracts": [{"consumer": "users", "consumer_version": "1.0.0", "provider": "db", "provider_range": "^2",
                 "pact": {"consumer": {"name": "users"}, "provider": {"name": "db"}, "interactions": []}}]})";

}  // namespace roster::fuzz
