#include "roster/wire/frame.hpp"

#include <cstring>

namespace roster::wire {

void append_frame(std::vector<uint8_t>& out, FrameType type, std::span<const uint8_t> payload) {
  const uint32_t length = static_cast<uint32_t>(kFrameHeaderBytes - 4 + payload.size());
  const uint8_t header[kFrameHeaderBytes] = {
      static_cast<uint8_t>(length), static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length >> 16),
      static_cast<uint8_t>(length >> 24), static_cast<uint8_t>(type), kProtocolVersion, 0, 0};
  out.insert(out.end(), header, header + kFrameHeaderBytes);
  out.insert(out.end(), payload.begin(), payload.end());
}

EncodedFrame make_frame(FrameType type, std::span<const uint8_t> payload) {
  auto out = std::make_shared<std::vector<uint8_t>>();
  out->reserve(kFrameHeaderBytes + payload.size());
  append_frame(*out, type, payload);
  return out;
}

void FrameReader::feed(std::span<const uint8_t> bytes) {
  if (error_) return;
  // Drop what was already returned before growing, so the buffer holds at most one frame plus
  // what arrived after it.
  if (consumed_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void FrameReader::fail(uint64_t offset, std::string message) {
  error_ = FrameError{offset, "frame at offset " + std::to_string(offset) + ": " + std::move(message)};
}

std::optional<Frame> FrameReader::next() {
  if (error_ || buffer_.size() - consumed_ < kFrameHeaderBytes) return std::nullopt;
  const uint8_t* h = buffer_.data() + consumed_;
  const uint32_t length = uint32_t{h[0]} | uint32_t{h[1]} << 8 | uint32_t{h[2]} << 16 | uint32_t{h[3]} << 24;
  const auto type = static_cast<FrameType>(h[4]);
  const uint8_t version = h[5];
  const uint64_t offset = stream_offset_;

  if (length < kFrameHeaderBytes - 4) {
    fail(offset, "length " + std::to_string(length) + " is shorter than the frame header");
    return std::nullopt;
  }
  if (length + 4ull > max_frame_bytes_) {
    fail(offset, "frame of " + std::to_string(length + 4ull) + " bytes exceeds the limit of " +
                     std::to_string(max_frame_bytes_) + " bytes");
    return std::nullopt;
  }
  if (version != kProtocolVersion) {
    fail(offset, "unsupported protocol version " + std::to_string(version) + " (this side speaks " +
                     std::to_string(kProtocolVersion) + ")");
    return std::nullopt;
  }
  if (h[4] < static_cast<uint8_t>(FrameType::Hello) || h[4] > static_cast<uint8_t>(FrameType::Error)) {
    fail(offset, "unknown frame type " + std::to_string(h[4]));
    return std::nullopt;
  }
  if (h[6] != 0 || h[7] != 0) {
    fail(offset, "reserved header bytes are not zero");
    return std::nullopt;
  }
  if (buffer_.size() - consumed_ < length + 4ull) return std::nullopt;  // wait for the rest

  const size_t payload_size = length - (kFrameHeaderBytes - 4);
  const uint8_t* payload = h + kFrameHeaderBytes;
  if (reinterpret_cast<uintptr_t>(payload) % 8 != 0) {
    aligned_.resize((payload_size + 7) / 8);
    std::memcpy(aligned_.data(), payload, payload_size);
    payload = reinterpret_cast<const uint8_t*>(aligned_.data());
  }
  consumed_ += length + 4;
  stream_offset_ += length + 4;
  return Frame{type, offset, {payload, payload_size}};
}

}  // namespace roster::wire
