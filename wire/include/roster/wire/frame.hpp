// Stream framing between roster-server and roster-agent.
//
//   u32 length (little-endian) | u8 type | u8 protocol version | u16 reserved (0) | payload
//
// `length` counts the bytes after itself (4 + payload). The reserved bytes keep the payload 8-byte
// aligned, so FlatBuffers payloads can be verified and read in place. Every frame is bounded by
// a maximum size; anything malformed is an error naming the frame's offset in the stream.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace roster::wire {

enum class FrameType : uint8_t {
  Hello = 1,      // agent -> server: Hello
  Snapshot = 2,   // server -> agent: Snapshot (one chunk)
  Delta = 3,      // server -> agent: Delta
  Keepalive = 4,  // both ways: Keepalive
  Error = 5,      // both ways, then the sender closes: StreamError
};

// 2: Snapshot and Delta carry the server's resolutions (issue 17); agents of version 1 resolved themselves.
inline constexpr uint8_t kProtocolVersion = 2;
inline constexpr size_t kFrameHeaderBytes = 8;
inline constexpr uint32_t kDefaultMaxFrameBytes = 16u << 20;

// Appends one frame to `out`.
void append_frame(std::vector<uint8_t>& out, FrameType type, std::span<const uint8_t> payload);

// One frame in a buffer of its own, shared: the server sends one encoded delta to every agent.
using EncodedFrame = std::shared_ptr<const std::vector<uint8_t>>;
EncodedFrame make_frame(FrameType type, std::span<const uint8_t> payload);

struct Frame {
  FrameType type;
  uint64_t offset;                   // of the frame's first byte in the stream
  std::span<const uint8_t> payload;  // 8-byte aligned; valid until the next feed() or next()
};

struct FrameError {
  uint64_t offset;
  std::string message;  // "frame at offset 4096: ..."
};

// Splits a byte stream into frames, incrementally: feed() what arrives, then call next() until
// it returns nullopt. After an error the reader stays failed (the connection must be closed).
class FrameReader {
 public:
  explicit FrameReader(uint32_t max_frame_bytes = kDefaultMaxFrameBytes) : max_frame_bytes_(max_frame_bytes) {}

  void feed(std::span<const uint8_t> bytes);
  std::optional<Frame> next();

  const std::optional<FrameError>& error() const { return error_; }
  // Bytes fed but not yet returned as frames (a truncated frame at the end of a stream).
  size_t buffered() const { return buffer_.size() - consumed_; }
  uint64_t stream_offset() const { return stream_offset_; }

 private:
  void fail(uint64_t offset, std::string message);

  uint32_t max_frame_bytes_;
  std::vector<uint8_t> buffer_;
  size_t consumed_ = 0;         // bytes of buffer_ already returned as frames
  uint64_t stream_offset_ = 0;  // stream offset of buffer_[consumed_]
  std::vector<uint64_t> aligned_;  // payload copy when it is not 8-byte aligned in buffer_
  std::optional<FrameError> error_;
};

}  // namespace roster::wire
