#include "roster/upstream/follower.hpp"

#include <algorithm>

#include "roster/base/clock.hpp"
#include "roster/base/log.hpp"
#include "roster/net/socket.hpp"

namespace roster::upstream {

namespace {

Unexpected<Error> invalid(std::string message, std::string_view text) {
  return fail(ErrorKind::Invalid, "invalid_follow",
              "--follow \"" + std::string(text) + "\": " + std::move(message) + " (expected NAME=ADDR[,ADDR...])");
}

}  // namespace

Result<FollowedRegistry> parse_follow(std::string_view text) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) return invalid("no '='", text);
  FollowedRegistry out{std::string(text.substr(0, eq)), {}};
  // The name marks every record followed from it and labels metrics: short, and plain.
  if (out.name.empty() || out.name.size() > 31 ||
      !std::all_of(out.name.begin(), out.name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
      }))
    return invalid("the registry's name must be 1 to 31 of a-z, 0-9, '.', '_' and '-'", text);
  for (std::string_view rest = text.substr(eq + 1);;) {
    const size_t comma = rest.find(',');
    const std::string_view address = rest.substr(0, comma);
    if (auto parsed = net::parse_address(address); !parsed) return invalid(parsed.error().message, text);
    out.addresses.emplace_back(address);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

Result<std::vector<FollowedRegistry>> parse_follows(const std::vector<std::string>& texts) {
  std::vector<FollowedRegistry> out;
  for (const auto& text : texts) {
    auto parsed = parse_follow(text);
    if (!parsed) return fail(parsed.error());
    for (const auto& other : out)
      if (other.name == parsed->name) return invalid("registry " + parsed->name + " is followed twice", text);
    out.push_back(std::move(*parsed));
  }
  return out;
}

Follower::Follower(net::EventLoop& loop, Registry& registry, FollowedRegistry followed, const FollowOptions& options)
    : registry_(registry),
      followed_(std::move(followed)),
      started_ms_(base::unix_ms()),
      link_(loop,
            link::LinkOptions{.addresses = followed_.addresses,
                              .client_id = options.client_id,
                              .token = options.token,
                              .backoff_base = options.backoff_base,
                              .backoff_max = options.backoff_max,
                              .idle_timeout = options.idle_timeout,
                              .max_frame_bytes = wire::kDefaultMaxFrameBytes,
                              .label = "following " + followed_.name},
            *this) {}

double Follower::staleness_seconds() const {
  const int64_t since = link_.status().last_contact_ms ? link_.status().last_contact_ms : started_ms_;
  return std::max<int64_t>(0, base::unix_ms() - since) / 1000.0;
}

std::pair<uint64_t, std::string> Follower::resume_point() {
  auto point = registry_.follow_point(followed_.name);
  return {point.revision, std::move(point.store_id)};
}

// A refusal drops the connection; the link logs it and reconnects, resuming from where the
// registry stands.
Result<void> Follower::on_snapshot(std::span<const wire::Snapshot* const> chunks) {
  auto applied = registry_.apply_followed_snapshot(followed_.name, chunks);
  if (!applied) return fail(std::move(applied.error().error));
  log::info("following {}: its snapshot at revision {} is revision {} here", followed_.name, chunks.front()->revision(),
            applied->revision);
  return {};
}

Result<void> Follower::on_delta(const wire::Delta& delta) {
  auto applied = registry_.apply_followed_delta(followed_.name, delta);
  if (!applied) return fail(std::move(applied.error().error));
  return {};
}

void write_follow_metrics(std::span<const std::unique_ptr<Follower>> followers, const Registry& registry,
                          base::PrometheusText& out) {
  if (followers.empty()) return;
  const auto conflicts = registry.metrics().follow_conflicts;
  // One family at a time, a sample per followed registry.
  auto family = [&](std::string_view name, std::string_view help, bool counter, auto value) {
    for (size_t i = 0; i < followers.size(); ++i) {
      const base::PrometheusText::Labels labels{{"registry", followers[i]->followed().name}};
      if (i > 0)
        out.sample(value(*followers[i]), labels);
      else if (counter)
        out.counter(name, help, value(*followers[i]), labels);
      else
        out.gauge(name, help, value(*followers[i]), labels);
    }
  };
  family("roster_follow_connected", "1 while the followed registry's stream is connected", false,
         [](const Follower& f) { return f.link_status().connected ? 1.0 : 0.0; });
  family("roster_follow_revision", "The followed registry's revision this server has applied", false,
         [&](const Follower& f) { return static_cast<double>(registry.follow_point(f.followed().name).revision); });
  family("roster_follow_staleness_seconds",
         "Seconds since the followed registry was last heard from (its records may be this old)", false,
         [](const Follower& f) { return f.staleness_seconds(); });
  family("roster_follow_conflicts_total",
         "Followed records skipped because their name is held here (by this server, or a registry followed first)",
         true, [&](const Follower& f) {
           auto it = conflicts.find(f.followed().name);
           return it == conflicts.end() ? 0.0 : static_cast<double>(it->second);
         });
}

void write_follow_status(std::span<const std::unique_ptr<Follower>> followers, const Registry& registry,
                         wire::JsonWriter& w) {
  const auto conflicts = registry.metrics().follow_conflicts;
  w.key("following").begin_array();
  for (auto& f : followers) {
    const auto& status = f->link_status();
    const auto point = registry.follow_point(f->followed().name);
    w.begin_object().key("registry").string(f->followed().name).key("addresses").begin_array();
    for (auto& address : f->followed().addresses) w.string(address);
    w.end_array();
    w.key("connected").boolean(status.connected).key("address").string(status.address);
    w.key("revision").unsigned_number(point.revision).key("store_id").string(point.store_id);
    w.key("staleness_seconds").unsigned_number(static_cast<uint64_t>(f->staleness_seconds()));
    auto it = conflicts.find(f->followed().name);
    w.key("conflicts").unsigned_number(it == conflicts.end() ? 0 : it->second);
    w.end_object();
  }
  w.end_array();
}

}  // namespace roster::upstream
