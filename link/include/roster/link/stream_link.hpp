// The client side of the stream protocol: keeps one connection to the first upstream of a list
// that answers, says Hello with where its handler left off (a revision and the store it belongs
// to), verifies every frame, and hands whole snapshots and deltas to its handler. On a drop, a
// bad frame, a handler's refusal or silence past the idle timeout it reconnects to the next
// address with full-jitter exponential backoff, so many clients that lost the same server do not
// come back in step. Outages are logged when they start, summarised once a minute, and when they
// end. Single-threaded: everything runs on the loop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "roster/base/result.hpp"
#include "roster/net/event_loop.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/roster_generated.h"

namespace roster::link {

struct LinkOptions {
  std::vector<std::string> addresses;  // "host:port" or "unix:/path", tried in turn
  std::string client_id;               // the Hello's agent id
  std::optional<std::string> token;
  std::chrono::milliseconds backoff_base{100}, backoff_max{5000};
  std::chrono::milliseconds idle_timeout{20000};  // no frame (not even a keepalive) this long: reconnect
  uint32_t max_frame_bytes = wire::kDefaultMaxFrameBytes;
  std::string label = "upstream";  // how log lines name what this link reaches ("registry eu")
};

struct LinkStatus {
  bool connected = false;
  std::string address;              // the one connected to, or last tried
  int64_t last_contact_ms = 0;      // the last frame (Unix ms); 0: never
  int64_t outage_since_ms = 0;      // when the current outage began (its first failure); 0: none
  uint64_t frames = 0, reconnects = 0, bad_frames = 0;
};

class StreamLink {
 public:
  // Called on the loop's thread. A refusal (an Error) drops the connection and the link
  // reconnects, resuming from resume_point() again, unless the handler stopped the link.
  struct Handler {
    virtual ~Handler() = default;
    // Where to resume: the revision held and the store it belongs to ("" or revision 0: none, so
    // the answer is a whole snapshot).
    virtual std::pair<uint64_t, std::string> resume_point() = 0;
    // A whole snapshot: every chunk, each verified and 8-aligned, valid during the call.
    virtual Result<void> on_snapshot(std::span<const wire::Snapshot* const> chunks) = 0;
    // A verified delta, valid during the call.
    virtual Result<void> on_delta(const wire::Delta& delta) = 0;
    // Any frame arrived (keepalives too): the upstream is alive at `unix_ms`.
    virtual void on_contact(int64_t unix_ms) { (void)unix_ms; }
    // Around the frames of one read from the socket (several deltas may arrive together).
    virtual void before_frames() {}
    virtual void after_frames() {}
  };

  StreamLink(net::EventLoop& loop, LinkOptions options, Handler& handler);
  ~StreamLink();
  StreamLink(const StreamLink&) = delete;
  StreamLink& operator=(const StreamLink&) = delete;

  void start();  // connects to the first address
  void stop();   // closes the connection; nothing is called after it
  // Drops the connection (if any) and reconnects after the backoff: for a handler that must
  // start over (it then resumes from resume_point(), e.g. revision 0 for a snapshot).
  void reconnect(const std::string& why);
  const LinkStatus& status() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace roster::link
