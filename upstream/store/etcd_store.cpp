// The etcd store's data path: connecting, conditional commits, scans and change replays.
#include "roster/upstream/etcd_store.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "etcd_connection.hpp"
#include "roster/base/log.hpp"

namespace roster::upstream {

namespace {

using namespace std::chrono_literals;

constexpr int64_t kScanPage = 1000;  // keys per Range while scanning

void set_deadline(grpc::ClientContext& ctx, std::chrono::milliseconds timeout) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  ctx.set_wait_for_ready(true);  // a member that is down is skipped, not failed on
}

// "host:port" as the "a.b.c.d:port" gRPC's ipv4 resolver takes.
Result<std::string> resolve(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == endpoint.size())
    return fail(ErrorKind::Invalid, "invalid_store", "etcd endpoint \"" + endpoint + "\" is not host:port");
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string host = endpoint.substr(0, colon), port = endpoint.substr(colon + 1);
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found)
    return fail(ErrorKind::Invalid, "invalid_store",
                "etcd endpoint \"" + endpoint + "\": cannot resolve an IPv4 address (" + gai_strerror(rc) + ")");
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof text);
  freeaddrinfo(found);
  return std::string(text) + ":" + port;
}

std::string random_id() {
  std::random_device rd;
  char out[17];
  std::snprintf(out, sizeof out, "%08x%08x", rd(), rd());
  return out;
}

// Keeps the last mutation of each key, in the order those last ones came (etcd refuses a Txn
// that names a key twice).
std::vector<const Mutation*> last_per_key(const std::vector<Mutation>& mutations) {
  std::map<std::pair<RecordKind, std::string_view>, size_t> last;
  for (size_t i = 0; i < mutations.size(); ++i) last[{mutations[i].kind, mutations[i].key}] = i;
  std::vector<const Mutation*> out;
  for (size_t i = 0; i < mutations.size(); ++i)
    if (last[{mutations[i].kind, mutations[i].key}] == i) out.push_back(&mutations[i]);
  return out;
}

bool valid_kind(RecordKind kind) { return kind >= RecordKind::ServiceVersion && kind <= RecordKind::FollowState; }

}  // namespace

std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error etcd_error(const grpc::Status& status, const std::string& endpoints, const std::string& doing) {
  const std::string what = "etcd at " + endpoints + " did not " + doing + ": " + status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // etcd's own limits: --max-txn-ops (operations per transaction), --max-request-bytes.
      return Error{ErrorKind::TooLarge, "store_limit",
                   what + " (etcd's --max-txn-ops or --max-request-bytes is below what this write needs)", ""};
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Error{ErrorKind::Unavailable, "store_unavailable", what + " (no quorum, or no member reachable)", ""};
    default:
      return Error{ErrorKind::Unavailable, "store_unavailable", what, ""};
  }
}

void EtcdStore::Impl::parse_events(const google::protobuf::RepeatedPtrField<mvccpb::Event>& events,
                                   std::vector<Change>& changes, std::vector<std::vector<uint64_t>>* reports) const {
  const std::string& prefix = options.prefix;
  for (const auto& event : events) {
    const std::string& key = event.kv().key();
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string_view rest = std::string_view(key).substr(prefix.size());
    const uint64_t rev = static_cast<uint64_t>(event.kv().mod_revision());
    const bool put = event.type() == mvccpb::Event::PUT;
    auto change_at = [&]() -> Change& {
      if (changes.empty() || changes.back().revision != rev) changes.push_back({rev, {}});
      return changes.back();
    };
    if (rest == "rev") {
      change_at();
    } else if (rest.size() > 4 && rest.substr(0, 2) == "r/" && rest[3] == '/') {
      const auto kind = static_cast<RecordKind>(rest[2] - '0');
      if (!valid_kind(kind) || rest.size() == 4) continue;
      Mutation m{kind, std::string(rest.substr(4)), std::nullopt};
      if (put) m.record.emplace(event.kv().value().begin(), event.kv().value().end());
      change_at().mutations.push_back(std::move(m));
    } else if (reports && put && rest.substr(0, 9) == "renewals/" && rest.substr(9) != server_id) {
      const std::string& value = event.kv().value();
      if (value.size() % 8 != 0) continue;
      std::vector<uint64_t> hashes(value.size() / 8);
      std::memcpy(hashes.data(), value.data(), value.size());
      reports->push_back(std::move(hashes));
    }
  }
}

EtcdStore::EtcdStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EtcdStore::~EtcdStore() { impl_->stop(); }

Result<std::unique_ptr<EtcdStore>> EtcdStore::open(EtcdOptions options) {
  if (options.endpoints.empty())
    return fail(ErrorKind::Invalid, "invalid_store", "an etcd store needs at least one endpoint (host:port)");
  if (options.prefix.empty()) options.prefix = "roster/";
  if (options.prefix.back() != '/') options.prefix += '/';
  auto impl = std::make_unique<Impl>();
  for (auto& endpoint : options.endpoints) {
    auto address = resolve(endpoint);
    if (!address) return fail(address.error());
    impl->addresses.push_back(*address);
    impl->endpoints_text += (impl->endpoints_text.empty() ? "" : ",") + endpoint;
  }
  impl->connect(0);
  impl->options = std::move(options);
  impl->server_id = random_id();

  grpc::ClientContext ctx;
  set_deadline(ctx, impl->options.commit_timeout);
  etcdserverpb::RangeRequest req;
  req.set_key(impl->rev_key());
  etcdserverpb::RangeResponse resp;
  if (auto status = impl->connection()->kv->Range(&ctx, req, &resp); !status.ok())
    return fail(etcd_error(status, impl->endpoints_text, "answer"));
  char cluster[17];
  std::snprintf(cluster, sizeof cluster, "%016llx", static_cast<unsigned long long>(resp.header().cluster_id()));
  impl->identity = "etcd:" + std::string(cluster) + "/" + impl->options.prefix;
  if (resp.kvs_size() > 0) impl->revision = static_cast<uint64_t>(resp.kvs(0).mod_revision());
  Impl* raw = impl.get();
  raw->watch_thread = std::thread([raw] { raw->run_watch(); });
  raw->session_thread = std::thread([raw] { raw->run_session(); });
  return std::unique_ptr<EtcdStore>(new EtcdStore(std::move(impl)));
}

const std::string& EtcdStore::identity() const { return impl_->identity; }
const std::string& EtcdStore::server_id() const { return impl_->server_id; }
uint64_t EtcdStore::revision() const { return impl_->revision.load(std::memory_order_relaxed); }

namespace {

Result<uint64_t> commit_txn(EtcdStore::Impl& s, std::optional<uint64_t> expected,
                            const std::vector<Mutation>& mutations) {
  if (mutations.empty()) return s.revision.load(std::memory_order_relaxed);
  for (size_t i = 0; i < mutations.size(); ++i)
    if (auto valid = check_mutation(mutations[i]); !valid)
      return fail(ErrorKind::Invalid, "invalid_mutation", "mutation " + std::to_string(i) + ": " + valid.error().message);
  if (!s.reachable.load(std::memory_order_relaxed))
    return fail(ErrorKind::Unavailable, "store_unavailable",
                "etcd at " + s.endpoints_text + " has not answered for several seconds (no quorum?): not written");
  etcdserverpb::TxnRequest txn;
  if (expected) {
    auto* cmp = txn.add_compare();
    cmp->set_key(s.rev_key());
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    if (*expected == 0) {  // nothing committed yet: the key must not exist
      cmp->set_target(etcdserverpb::Compare::VERSION);
      cmp->set_version(0);
    } else {
      cmp->set_target(etcdserverpb::Compare::MOD);
      cmp->set_mod_revision(static_cast<int64_t>(*expected));
    }
  }
  auto* mark = txn.add_success()->mutable_request_put();
  mark->set_key(s.rev_key());
  mark->set_value(s.server_id);
  for (const Mutation* m : last_per_key(mutations)) {
    if (m->record) {
      auto* put = txn.add_success()->mutable_request_put();
      put->set_key(s.record_key(m->kind, m->key));
      put->set_value(m->record->data(), m->record->size());
    } else {
      txn.add_success()->mutable_request_delete_range()->set_key(s.record_key(m->kind, m->key));
    }
  }
  txn.add_failure()->mutable_request_range()->set_key(s.rev_key());
  grpc::ClientContext ctx;
  set_deadline(ctx, s.options.commit_timeout);
  etcdserverpb::TxnResponse resp;
  if (auto status = s.connection()->kv->Txn(&ctx, txn, &resp); !status.ok()) {
    Error error = etcd_error(status, s.endpoints_text, "commit");
    if (error.kind == ErrorKind::Unavailable)  // the request may have reached etcd before the failure
      error.message += "; the write may still have been committed: read it back before writing again";
    return fail(std::move(error));
  }
  if (!resp.succeeded()) {
    uint64_t now = 0;
    if (resp.responses_size() > 0 && resp.responses(0).response_range().kvs_size() > 0)
      now = static_cast<uint64_t>(resp.responses(0).response_range().kvs(0).mod_revision());
    raise_to(s.revision, now);
    return fail(ErrorKind::Conflict, "revision_moved",
                "another server committed revision " + std::to_string(now) + " after " + std::to_string(*expected));
  }
  const auto rev = static_cast<uint64_t>(resp.header().revision());
  raise_to(s.revision, rev);
  return rev;
}

}  // namespace

Result<uint64_t> EtcdStore::commit(const std::vector<Mutation>& mutations) {
  return commit_txn(*impl_, std::nullopt, mutations);
}

Result<uint64_t> EtcdStore::commit_at(uint64_t expected, const std::vector<Mutation>& mutations) {
  return commit_txn(*impl_, expected, mutations);
}

Result<uint64_t> EtcdStore::scan(const std::function<void(const StoredRecord&)>& visit) const {
  Impl& s = *impl_;
  // One revision for the whole scan: the first Range fixes it, the pages after read at it.
  grpc::ClientContext first_ctx;
  set_deadline(first_ctx, s.options.commit_timeout);
  etcdserverpb::RangeRequest first;
  first.set_key(s.rev_key());
  etcdserverpb::RangeResponse meta;
  if (auto status = s.connection()->kv->Range(&first_ctx, first, &meta); !status.ok())
    return fail(etcd_error(status, s.endpoints_text, "read the registry"));
  const int64_t at = meta.header().revision();
  const uint64_t registry_revision = meta.kvs_size() > 0 ? static_cast<uint64_t>(meta.kvs(0).mod_revision()) : 0;
  const std::string end = prefix_end(s.records_prefix());
  std::vector<Change> parsed;
  for (std::string from = s.records_prefix();;) {
    grpc::ClientContext ctx;
    set_deadline(ctx, s.options.commit_timeout);
    etcdserverpb::RangeRequest page;
    page.set_key(from);
    page.set_range_end(end);
    page.set_revision(at);
    page.set_limit(kScanPage);
    etcdserverpb::RangeResponse resp;
    if (auto status = s.connection()->kv->Range(&ctx, page, &resp); !status.ok())
      return fail(etcd_error(status, s.endpoints_text, "read the registry"));
    // The records as puts, parsed (and checked) the way the watch parses them.
    google::protobuf::RepeatedPtrField<mvccpb::Event> events;
    for (const auto& kv : resp.kvs()) *events.Add()->mutable_kv() = kv;
    parsed.clear();
    s.parse_events(events, parsed, nullptr);
    for (auto& change : parsed)
      for (auto& m : change.mutations) visit({m.kind, m.key, *m.record, change.revision});
    if (!resp.more() || resp.kvs_size() == 0) break;
    from = resp.kvs(resp.kvs_size() - 1).key() + '\0';
  }
  raise_to(s.revision, registry_revision);
  {
    std::lock_guard lock(s.mu);
    s.seen = std::max(s.seen, registry_revision);
  }
  s.restart_watch(static_cast<uint64_t>(at) + 1);
  return registry_revision;
}

Result<std::vector<Change>> EtcdStore::take_changes(uint64_t at_least, std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  std::unique_lock lock(s.mu);
  s.cv.wait_for(lock, timeout, [&] { return s.resync || s.stopping || s.seen >= at_least; });
  if (s.resync)
    return fail(ErrorKind::Unavailable, "store_resync",
                "etcd compacted revisions this server had not seen yet: the registry must be read again");
  return std::exchange(s.pending, {});
}

void EtcdStore::on_changes(std::function<void()> notify) {
  std::lock_guard lock(impl_->notify_mu);
  impl_->notify = std::move(notify);
}

Result<std::optional<std::vector<Change>>> EtcdStore::changes_since(uint64_t after, size_t limit) const {
  Impl& s = *impl_;
  const uint64_t target = s.revision.load(std::memory_order_relaxed);
  if (after > target) return std::optional<std::vector<Change>>();
  std::vector<Change> out;
  if (after == target || limit == 0) return std::optional(std::move(out));
  // etcd's history from after+1, read through a watch of its own until it reaches `target`.
  grpc::ClientContext ctx;
  set_deadline(ctx, s.options.commit_timeout);
  auto connection = s.connection();
  auto stream = s.watch_prefix(*connection, ctx, after + 1);
  etcdserverpb::WatchResponse resp;
  bool compacted = false;
  while (stream && (out.empty() || out.back().revision < target) && out.size() < limit && stream->Read(&resp)) {
    if (resp.compact_revision() > 0) {
      compacted = true;
      break;
    }
    s.parse_events(resp.events(), out, nullptr);
  }
  ctx.TryCancel();
  if (stream) (void)stream->Finish();
  if (compacted) return std::optional<std::vector<Change>>();
  if (out.size() < limit && (out.empty() || out.back().revision < target))
    return fail(ErrorKind::Unavailable, "store_unavailable",
                "etcd at " + s.endpoints_text + " did not replay revisions " + std::to_string(after + 1) + " to " +
                    std::to_string(target) + " in time");
  while (out.size() > limit) out.pop_back();
  while (!out.empty() && out.back().revision > target) out.pop_back();
  return std::optional(std::move(out));
}

std::unique_ptr<EtcdStore::Impl::WatchStream> EtcdStore::Impl::watch_prefix(Connection& connection,
                                                                          grpc::ClientContext& ctx,
                                                                          uint64_t from) const {
  auto stream = connection.watch->Watch(&ctx);
  etcdserverpb::WatchRequest req;
  auto* create = req.mutable_create_request();
  create->set_key(options.prefix);
  create->set_range_end(prefix_end(options.prefix));
  create->set_start_revision(static_cast<int64_t>(from));
  if (stream->Write(req)) return stream;
  (void)stream->Finish();
  return nullptr;
}

void EtcdStore::Impl::connect(size_t first) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // Find a member that came back quickly (the default backoff grows to two minutes).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::string target = "ipv4:";
  for (size_t i = 0; i < addresses.size(); ++i)
    target += (i ? "," : "") + addresses[(first + i) % addresses.size()];
  auto c = std::make_shared<Connection>();
  c->channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  c->kv = etcdserverpb::KV::NewStub(c->channel);
  c->watch = etcdserverpb::Watch::NewStub(c->channel);
  c->lease = etcdserverpb::Lease::NewStub(c->channel);
  std::lock_guard lock(connection_mu);
  preferred = first;
  current = std::move(c);
}

void EtcdStore::Impl::fail_over() {
  if (addresses.size() < 2) return;
  size_t next;
  {
    std::lock_guard lock(connection_mu);
    next = (preferred + 1) % addresses.size();
  }
  connect(next);
  std::lock_guard lock(mu);
  if (watch_context) watch_context->TryCancel();  // it reconnects on the new channel
}

void EtcdStore::Impl::stop() {
  {
    std::lock_guard lock(mu);
    if (stopping) return;
    stopping = true;
    if (watch_context) watch_context->TryCancel();
  }
  cv.notify_all();
  if (watch_thread.joinable()) watch_thread.join();
  if (session_thread.joinable()) session_thread.join();
  resign();
}

}  // namespace roster::upstream
