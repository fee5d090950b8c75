// Fuzz harness: what roster-server does with changes another server committed to a shared store
// (etcd): bytes any process with write access to the etcd prefix can put there. A store stand-in
// holds a small registry (fuzz::kSmallRegistry, as records) and hands the input's mutations over
// as one committed change; Registry::sync() decodes, verifies and applies them.
//
// Input: a sequence of mutations, each: kind u8, key length u8, key bytes, record length u16
// (0xFFFF: a delete), record bytes.
// Checked: no crash or sanitizer error; the change is applied whole or, when any record fails
// verification, left out whole (the registry's records stay as they were); either way the
// registry moves to the change's revision, every record it serves verifies, and its snapshot
// and the delta it published are valid frames an agent accepts.
#include <map>

#include "fuzz_support.hpp"
#include "roster/upstream/registry.hpp"
#include "roster/wire/frame.hpp"
#include "roster/wire/json_decoder.hpp"
#include "roster/wire/verify.hpp"

namespace {

using namespace roster;
using namespace roster::upstream;

// A Store whose contents are the base registry and whose only news is one change.
class OneChangeStore final : public Store {
 public:
  explicit OneChangeStore(std::vector<StoredRecord> base) : base_(std::move(base)) {}
  Result<uint64_t> commit(const std::vector<Mutation>&) override { return 1; }
  Result<uint64_t> commit_at(uint64_t, const std::vector<Mutation>&) override { return 1; }
  uint64_t revision() const override { return news_.empty() ? 1 : 2; }
  const std::string& identity() const override { return identity_; }
  Result<uint64_t> scan(const std::function<void(const StoredRecord&)>& visit) const override {
    for (auto& r : base_) visit(r);
    return 1;
  }
  Result<std::optional<std::vector<Change>>> changes_since(uint64_t, size_t) const override {
    return std::optional<std::vector<Change>>();
  }
  Result<std::vector<Change>> take_changes(uint64_t, std::chrono::milliseconds) override {
    return std::exchange(news_, {});
  }
  std::vector<Change> news_;

 private:
  std::vector<StoredRecord> base_;
  std::string identity_ = "fuzz:shared";
};

std::vector<StoredRecord> base_records() {
  wire::JsonDecoder decoder;
  auto doc = decoder.decode(fuzz::kSmallRegistry);
  FUZZ_CHECK(doc.ok());
  std::vector<StoredRecord> out;
  auto bytes = [](std::span<const uint8_t> s) { return std::vector<uint8_t>(s.begin(), s.end()); };
  for (size_t i = 0; i < doc.services.size(); ++i) {
    auto* v = flatbuffers::GetRoot<wire::ServiceVersion>(doc.services[i].data());
    out.push_back({RecordKind::ServiceVersion, store_key(VersionKey::of(*v)), bytes(doc.services[i]), 1});
  }
  for (size_t i = 0; i < doc.instances.size(); ++i) {
    auto* inst = flatbuffers::GetRoot<wire::Instance>(doc.instances[i].data());
    out.push_back({RecordKind::Instance, store_key(InstanceKey::of(*inst)), bytes(doc.instances[i]), 1});
  }
  return out;
}

std::vector<Mutation> mutations_of(fuzz::Input& in) {
  std::vector<Mutation> out;
  while (!in.empty()) {
    Mutation m;
    m.kind = static_cast<RecordKind>(in.byte());
    auto key = in.take(in.byte());
    m.key.assign(key.begin(), key.end());
    const uint16_t length = in.u16();
    if (length != 0xFFFF) {
      auto record = in.take(length);
      m.record.emplace(record.begin(), record.end());
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Every version and instance the registry serves, by key, with the revision that wrote it.
std::map<std::string, uint64_t> served(const Registry& registry) {
  std::map<std::string, uint64_t> out;
  for (auto* v : registry.search(std::nullopt, std::nullopt, std::nullopt)) {
    // A version is found under the name and version its record carries (key and record agree).
    FUZZ_CHECK(registry.version(v->name()->string_view(), v->version()->string_view()) == v);
    out["v" + store_key(VersionKey::of(*v))] = v->revision();
    for (auto* inst : registry.instances(v->name()->string_view(), v->version()->string_view()))
      out["i" + store_key(InstanceKey::of(*inst))] = inst->revision();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<StoredRecord> base = base_records();
  OneChangeStore store(base);
  auto registry = Registry::open(store, {}, [] { return int64_t{1'700'000'000'000}; }).value();
  const auto before = served(*registry);
  std::vector<Frame> published;
  auto subscription = registry->feed().subscribe([&](const Frame& f, uint64_t) { published.push_back(f); });

  fuzz::Input in(data, size);
  const std::vector<Mutation> mutations = mutations_of(in);
  store.news_.push_back({2, mutations});
  registry->sync();

  FUZZ_CHECK(registry->revision() == 2);
  FUZZ_CHECK(published.size() == 1);
  // All or nothing: a change with any record that fails verification (or whose key and record
  // disagree) is left out whole; one that was applied is served whole.
  const auto after = served(*registry);
  std::map<std::string, bool> last_put;  // version keys the change leaves in place
  for (auto& m : mutations)
    if (m.kind == RecordKind::ServiceVersion) last_put["v" + m.key] = m.record.has_value();
  if (after != before)
    for (auto& [key, put] : last_put)
      if (put) FUZZ_CHECK(after.count(key) && after.at(key) == 2);
  for (auto& frame : published) {
    wire::FrameReader reader;
    reader.feed(*frame);
    auto f = reader.next();
    FUZZ_CHECK(f && f->type == wire::FrameType::Delta && wire::verify<wire::Delta>(f->payload));
  }
  wire::FrameReader reader(1u << 24);
  for (auto& frame : registry->snapshot_frames(1 << 20)) {
    reader.feed(*frame);
    auto f = reader.next();
    FUZZ_CHECK(f && f->type == wire::FrameType::Snapshot && wire::verify<wire::Snapshot>(f->payload));
  }
  return 0;
}
