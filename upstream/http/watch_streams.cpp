#include "watch_streams.hpp"

#include <vector>

#include "api_responses.hpp"
#include "blocking_query.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::upstream {
namespace {

std::string event(std::string_view name, uint64_t id, std::string_view data) {
  std::string out;
  out.reserve(data.size() + 48);
  out.append("id: ").append(std::to_string(id)).append("\nevent: ").append(name).append("\ndata: ").append(data);
  out.append("\n\n");
  return out;
}

std::string revision_event(std::string_view name, uint64_t revision) {
  std::string data;
  wire::JsonWriter(data).begin_object().key("revision").unsigned_number(revision).end_object();
  return event(name, revision, data);
}

std::string change_event(const Frame& delta) {
  auto* d = flatbuffers::GetRoot<wire::Delta>(delta->data() + wire::kFrameHeaderBytes);
  return event("change", d->revision(), change_json(delta));
}

// One entry of "changes"; `fields` writes its keys.
template <typename Fields>
void change(wire::JsonWriter& w, std::string_view kind, std::string_view op, Fields&& fields) {
  w.begin_object().key("kind").string(kind).key("op").string(op);
  fields();
  w.end_object();
}

}  // namespace

std::string change_json(const Frame& delta) {
  // The feed's own frames (built by Registry::encode_delta): trusted, not verified again.
  auto* d = flatbuffers::GetRoot<wire::Delta>(delta->data() + wire::kFrameHeaderBytes);
  std::string out;
  wire::JsonWriter w(out);
  w.begin_object().key("revision").unsigned_number(d->revision()).key("from").unsigned_number(d->from_revision());
  w.key("changes").begin_array();
  auto version = [&](std::string_view op, std::string_view name, std::string_view v) {
    change(w, "version", op, [&] { w.key("service").string(name).key("version").string(v); });
  };
  auto instance = [&](std::string_view op, std::string_view service, std::string_view v, std::string_view id) {
    change(w, "instance", op,
           [&] { w.key("service").string(service).key("version").string(v).key("instance").string(id); });
  };
  auto contract = [&](std::string_view op, std::string_view consumer, std::string_view consumer_version,
                      std::string_view provider) {
    change(w, "contract", op, [&] {
      w.key("consumer").string(consumer).key("consumer_version").string(consumer_version);
      w.key("provider").string(provider);
    });
  };
  if (auto* list = d->upsert_services())
    for (auto* r : *list) {
      auto* v = r->bytes_nested_root();
      version("put", v->name()->string_view(), v->version()->string_view());
    }
  if (auto* list = d->remove_services())
    for (auto* k : *list) version("delete", k->name()->string_view(), k->version()->string_view());
  if (auto* list = d->upsert_instances())
    for (auto* r : *list) {
      auto* i = r->bytes_nested_root();
      instance("put", i->service()->string_view(), i->version()->string_view(), i->id()->string_view());
    }
  if (auto* list = d->remove_instances())
    for (auto* k : *list)
      instance("delete", k->service()->string_view(), k->version()->string_view(), k->id()->string_view());
  if (auto* list = d->upsert_contracts())
    for (auto* r : *list) {
      auto* c = r->bytes_nested_root();
      contract("put", c->consumer()->string_view(), c->consumer_version()->string_view(),
               c->provider()->string_view());
    }
  if (auto* list = d->remove_contracts())
    for (auto* k : *list)
      contract("delete", k->consumer()->string_view(), k->consumer_version()->string_view(),
               k->provider()->string_view());
  if (auto* list = d->settings_changed())
    for (auto* name : *list) change(w, "settings", "put", [&] { w.key("service").string(name->string_view()); });
  w.end_array().end_object();
  return out;
}

WatchStreams::WatchStreams(net::EventLoop& loop, Registry& registry, WatchOptions options)
    : loop_(loop), registry_(registry), options_(options) {
  subscription_ = registry_.feed().subscribe([this](const Frame& frame, uint64_t) {
    if (streams_.empty()) return;  // no event to render
    // A null frame: the registry was re-read; its durable revision is where streams go on from.
    broadcast(frame ? change_event(frame) : revision_event("reset", registry_.durable_revision()));
  });
  keepalive_timer_ = loop_.after(options_.keepalive, [this] { keepalive(); });
}

WatchStreams::~WatchStreams() {
  loop_.cancel_timer(keepalive_timer_);
  for (auto& [id, stream] : streams_) stream->on_gone(nullptr);
}

net::HttpResponse WatchStreams::open(const net::HttpRequest& request) {
  std::optional<uint64_t> after;
  if (auto last = request.header("Last-Event-ID")) {
    after = parse_unsigned(*last);
    if (!after)
      return bad_request("invalid_last_event_id",
                         "Last-Event-ID must be the id of an event this stream sent (a revision); got \"" +
                             std::string(*last) + "\"",
                         "Last-Event-ID");
  } else if (auto index = request.query_param("index")) {
    after = parse_unsigned(*index);
    if (!after)
      return bad_request("invalid_index",
                         "index must be a revision, a whole number from 0; got \"" + std::string(*index) + "\"",
                         "index");
  }
  if (streams_.size() >= options_.max_streams)
    return error_response({ErrorKind::Unavailable, "too_many_watchers",
                           "the server has " + std::to_string(options_.max_streams) +
                               " watch streams open, its limit: try again later"});
  net::HttpResponse response;
  response.content_type = "text/event-stream";
  response.headers.set("Cache-Control", "no-cache");
  response.stream = true;
  response.deferred = [this, after](std::shared_ptr<net::HttpDeferred> stream) { start(std::move(stream), after); };
  return response;
}

void WatchStreams::start(std::shared_ptr<net::HttpDeferred> stream, std::optional<uint64_t> after) {
  const uint64_t durable = registry_.durable_revision();
  std::string first;
  if (!after) {
    first = revision_event("start", durable);
  } else if (auto frames = registry_.frames_since(*after)) {
    for (auto& frame : *frames) {
      first += change_event(frame);
      if (first.size() > options_.max_catch_up_bytes) break;
    }
    if (first.size() > options_.max_catch_up_bytes) first = revision_event("reset", durable);
  } else {
    first = revision_event("reset", durable);  // not kept any more, or another store's revision
  }
  if (!stream->write(first)) return;
  const uint64_t id = next_id_++;
  stream->on_gone([this, id] { streams_.erase(id); });
  streams_.emplace(id, std::move(stream));
}

void WatchStreams::broadcast(const std::string& text) {
  std::vector<uint64_t> cut;
  for (auto& [id, stream] : streams_)
    if (!stream->write(text)) cut.push_back(id);
  for (uint64_t id : cut) streams_.erase(id);
}

void WatchStreams::keepalive() {
  broadcast(": keepalive\n\n");
  keepalive_timer_ = loop_.after(options_.keepalive, [this] { keepalive(); });
}

}  // namespace roster::upstream
