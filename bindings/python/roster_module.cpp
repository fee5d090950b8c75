// The Python module `roster`: the C++ client's lookups. A ServiceVersion reads its fields from
// shared memory when they are asked for (no copy of the whole record per lookup); instances are
// copied.
//
//   import roster
//   client = roster.open("roster")
//   with client.view() as view:
//       svc = view.service("user-service")
//       for inst in view.instances("user-service", healthy=True): print(inst.address, inst.port)
//   client.wait_for_change(view.generation, timeout=1.0)
#include <pybind11/chrono.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "roster/client.hpp"
#include "roster/wire/names.hpp"

namespace py = pybind11;

namespace {

struct PyInstance {
  std::string service, version, id, address, zone, health;
  uint16_t port, weight;
  int64_t lease_expires_at_ms;
  std::map<std::string, std::string> metadata;
};

std::string s(const flatbuffers::String* v) { return v ? v->str() : std::string(); }

// A record that fails its checks (a damaged arena) is an error rather than whatever its offsets
// point at.
[[noreturn]] void damaged_record() {
  throw roster::Exception({roster::ErrorKind::Corrupt, "corrupt_record", "a record in the arena fails verification"});
}

// One service version handed to Python: read in place from shared memory while its view is open;
// when the view closes, the record's bytes are copied (verified) into memory of its own, so the
// object stays readable, as a copy would be, at no cost to lookups that never outlive their view.
struct ServiceSource {
  roster::ServiceVersion svc;
  std::vector<uint64_t> owned;  // the record's own copy once its view closed (8-aligned)
  bool detached = false, damaged = false;
};

// The View a module object reads through, shared by the View object and every ServiceVersion it
// returned.
struct ViewState {
  std::optional<roster::View> view;
  std::vector<std::weak_ptr<ServiceSource>> handed_out;  // detached on close
  size_t live_after_prune = 0;

  const roster::View& get() const {
    if (!view) throw roster::Exception({roster::ErrorKind::Invalid, "view_closed", "the view is closed"});
    if (view->evicted())
      throw roster::Exception({roster::ErrorKind::Conflict, "view_evicted", "the view was held too long and was revoked"});
    return *view;
  }

  std::shared_ptr<ServiceSource> hand_out(const roster::ServiceVersion& svc) {
    auto source = std::make_shared<ServiceSource>(ServiceSource{svc, {}, false, false});
    // Forget the objects Python already dropped, whenever the list has doubled since (amortised).
    if (handed_out.size() >= 2 * live_after_prune + 64) {
      std::erase_if(handed_out, [](const auto& w) { return w.expired(); });
      live_after_prune = handed_out.size();
    }
    handed_out.push_back(source);
    return source;
  }

  // Before the view goes: every object still alive takes a copy of its record.
  void close() {
    if (!view) return;
    for (auto& weak : handed_out)
      if (auto source = weak.lock()) detach(*source);
    handed_out.clear();
    view.reset();
  }

 private:
  void detach(ServiceSource& source) {
    // The exact bytes, through the service's own node (a list entry does not say how long it is).
    auto exact = view->service(source.svc.name(), source.svc.version());
    if (!exact || !exact->verified() || view->evicted()) {
      source.damaged = true;
      return;
    }
    const auto bytes = exact->bytes();
    source.owned.resize((bytes.size() + 7) / 8);
    std::memcpy(source.owned.data(), bytes.data(), bytes.size());
    const auto* base = reinterpret_cast<const uint8_t*>(source.owned.data());
    source.svc = roster::ServiceVersion(flatbuffers::GetRoot<roster::wire::ServiceVersion>(base), {base, bytes.size()});
    source.detached = true;
  }
};

// A service version's fields, read when asked for. Strings are checked to lie inside the record;
// list fields verify the whole record once, first.
class PyService {
 public:
  PyService(std::shared_ptr<ViewState> view, std::shared_ptr<ServiceSource> source)
      : view_(std::move(view)), source_(std::move(source)) {}

  const roster::wire::ServiceVersion& record() const {
    if (source_->damaged) damaged_record();
    if (!source_->detached) view_->get();
    return source_->svc.record();
  }
  std::string_view text(const flatbuffers::String* v) const {
    if (!v) return {};
    const auto bytes = source_->svc.bytes();
    const auto* at = reinterpret_cast<const uint8_t*>(v->data());
    if (at < bytes.data() || at > bytes.data() + bytes.size() || v->size() > size_t(bytes.data() + bytes.size() - at))
      damaged_record();
    return {v->data(), v->size()};
  }
  const roster::wire::ServiceVersion& verified_record() const {
    const auto& r = record();
    if (verified_ < 0) verified_ = source_->detached || source_->svc.verified() ? 1 : 0;
    if (!verified_) damaged_record();
    return r;
  }

 private:
  std::shared_ptr<ViewState> view_;
  std::shared_ptr<ServiceSource> source_;
  mutable int verified_ = -1;  // unknown, no, yes
};

PyInstance copy(const roster::Instance& inst) {
  if (!inst.verified()) damaged_record();
  const auto& r = inst.record();
  PyInstance p;
  p.service = s(r.service());
  p.version = s(r.version());
  p.id = s(r.id());
  p.address = s(r.address());
  p.zone = s(r.zone());
  p.health = std::string(roster::wire::to_string(inst.health()));
  p.port = inst.port();
  p.weight = inst.weight();
  p.lease_expires_at_ms = r.lease_expires_at_ms();
  if (r.metadata())
    for (auto* l : *r.metadata()) p.metadata[l->key()->str()] = l->value()->str();
  return p;
}

// A View opened by `with client.view() as v:` (or view.close()); it must be closed on the
// thread that opened it.
class PyView {
 public:
  explicit PyView(roster::View view) : state_(std::make_shared<ViewState>()) { state_->view.emplace(std::move(view)); }

  // One owner: the Python object. When it goes, so does the view (what it returned detaches).
  PyView(PyView&&) = default;
  PyView(const PyView&) = delete;
  ~PyView() {
    if (state_) state_->close();
  }
  const roster::View& get() const { return state_->get(); }
  void close() { state_->close(); }
  PyService wrap(const roster::ServiceVersion& svc) const { return PyService(state_, state_->hand_out(svc)); }
  std::optional<PyService> wrap(const std::optional<roster::ServiceVersion>& svc) const {
    if (!svc) return std::nullopt;
    return wrap(*svc);
  }
  std::vector<PyService> wrap_all(const std::vector<roster::ServiceVersion>& list) const {
    std::vector<PyService> out;
    out.reserve(list.size());
    for (auto& v : list) out.push_back(wrap(v));
    return out;
  }

 private:
  std::shared_ptr<ViewState> state_;
};

roster::wire::LifecycleStage stage_of(const std::string& name) {
  auto stage = roster::wire::parse_lifecycle_stage(name);
  if (!stage) throw py::value_error("unknown lifecycle stage \"" + name + "\"");
  return *stage;
}

}  // namespace

PYBIND11_MODULE(roster, m) {
  m.doc() = "Read the roster service registry from the local agent's shared memory.";
  py::register_exception<roster::Exception>(m, "Error", PyExc_RuntimeError);

  using Record = roster::wire::ServiceVersion;
  // A string field, read from shared memory when asked for.
  auto text_field = [](const flatbuffers::String* (Record::*field)() const) {
    return [field](const PyService& p) {
      const std::string_view t = p.text((p.record().*field)());
      return py::str(t.data(), t.size());
    };
  };
  py::class_<PyService>(m, "ServiceVersion",
                        "One version of a service, read from shared memory field by field while its view is open")
      .def_property_readonly("name", text_field(&Record::name))
      .def_property_readonly("version", text_field(&Record::version))
      .def_property_readonly("owner_team", text_field(&Record::owner_team))
      .def_property_readonly("description", text_field(&Record::description))
      .def_property_readonly("documentation_url", text_field(&Record::documentation_url))
      .def_property_readonly("deprecation_reason", text_field(&Record::deprecation_reason))
      .def_property_readonly("stage", [](const PyService& p) { return std::string(roster::wire::to_string(p.record().stage())); })
      .def_property_readonly("tags", [](const PyService& p) {
        std::vector<std::string> out;
        if (auto* tags = p.verified_record().tags())
          for (auto* t : *tags) out.push_back(t->str());
        return out;
      })
      .def_property_readonly("labels", [](const PyService& p) {
        std::map<std::string, std::string> out;
        if (auto* labels = p.verified_record().labels())
          for (auto* l : *labels) out[l->key()->str()] = l->value()->str();
        return out;
      })
      .def_property_readonly("dependencies", [](const PyService& p) {
        std::vector<std::pair<std::string, std::string>> out;  // (service, range)
        if (auto* deps = p.verified_record().dependencies())
          for (auto* d : *deps) out.emplace_back(d->service()->str(), d->range()->str());
        return out;
      })
      .def_property_readonly("endpoints", [](const PyService& p) {
        std::vector<std::tuple<std::string, std::string, std::string>> out;  // (method, path, description)
        if (auto* endpoints = p.verified_record().endpoints())
          for (auto* e : *endpoints) out.emplace_back(e->method()->str(), e->path()->str(), s(e->description()));
        return out;
      })
      .def_property_readonly("schema_format", [](const PyService& p) -> std::optional<std::string> {
        auto* schema = p.verified_record().api_schema();
        if (!schema) return std::nullopt;
        return std::string(roster::wire::to_string(schema->format()));
      })
      .def_property_readonly("schema_document", [](const PyService& p) -> std::optional<std::string> {
        auto* schema = p.verified_record().api_schema();
        if (!schema) return std::nullopt;
        return schema->document()->str();
      })
      .def_property_readonly("created_at_ms", [](const PyService& p) { return p.record().created_at_ms(); })
      .def_property_readonly("updated_at_ms", [](const PyService& p) { return p.record().updated_at_ms(); })
      .def_property_readonly("deprecated_at_ms", [](const PyService& p) { return p.record().deprecated_at_ms(); })
      .def_property_readonly("sunset_at_ms", [](const PyService& p) { return p.record().sunset_at_ms(); })
      .def_property_readonly("revision", [](const PyService& p) { return p.record().revision(); })
      .def("__repr__", [](const PyService& p) {
        const auto& r = p.record();
        return "<roster.ServiceVersion " + std::string(p.text(r.name())) + "@" + std::string(p.text(r.version())) + " " +
               std::string(roster::wire::to_string(r.stage())) + ">";
      });

  py::class_<PyInstance>(m, "Instance")
      .def_readonly("service", &PyInstance::service)
      .def_readonly("version", &PyInstance::version)
      .def_readonly("id", &PyInstance::id)
      .def_readonly("address", &PyInstance::address)
      .def_readonly("port", &PyInstance::port)
      .def_readonly("zone", &PyInstance::zone)
      .def_readonly("weight", &PyInstance::weight)
      .def_readonly("health", &PyInstance::health)
      .def_readonly("lease_expires_at_ms", &PyInstance::lease_expires_at_ms)
      .def_readonly("metadata", &PyInstance::metadata)
      .def("__repr__", [](const PyInstance& p) {
        return "<roster.Instance " + p.id + " " + p.address + ":" + std::to_string(p.port) + " " + p.health + ">";
      });

  py::class_<PyView>(m, "View")
      .def("__enter__", [](PyView& v) -> PyView& { return v; }, py::return_value_policy::reference)
      .def("__exit__", [](PyView& v, py::args) { v.close(); })
      .def("close", &PyView::close)
      .def_property_readonly("generation", [](const PyView& v) { return v.get().generation(); })
      .def_property_readonly("revision", [](const PyView& v) { return v.get().revision(); })
      .def_property_readonly("store", [](const PyView& v) { return std::string(v.get().store()); },
                             "The upstream store the revision belongs to (revisions compare within one)")
      .def_property_readonly("corrupt", [](const PyView& v) { return v.get().corrupt(); },
                             "A lookup met a damaged arena structure and returned nothing for it")
      .def_property_readonly("staleness", [](const PyView& v) -> std::optional<double> {
        auto s = v.get().staleness();
        if (s == std::chrono::milliseconds::max()) return std::nullopt;
        return s.count() / 1000.0;
      }, "Seconds since the agent last heard from upstream, or None if it never did")
      .def_property_readonly("evicted", [](const PyView& v) { return v.get().evicted(); })
      .def(
          "service",
          [](const PyView& v, std::string_view name, std::optional<std::string_view> version) -> std::optional<PyService> {
            return v.wrap(version ? v.get().service(name, *version) : v.get().service(name));
          },
          py::arg("name"), py::arg("version") = py::none(),
          "The latest version (docs/lifecycle.md; or the given one), or None")
      .def(
          "latest",
          [](const PyView& v, const std::string& name, bool include_prerelease) -> std::optional<PyService> {
            return v.wrap(v.get().latest(name, include_prerelease ? roster::Latest::IncludingPrereleases
                                                                         : roster::Latest::Stable));
          },
          py::arg("name"), py::arg("include_prerelease") = false,
          "The latest version; include_prerelease: the highest in any stage but retired, or None")
      .def("versions", [](const PyView& v, const std::string& name) { return v.wrap_all(v.get().versions(name)); })
      .def(
          "instances",
          [](const PyView& v, const std::string& name, std::optional<std::string> version, bool healthy) {
            const auto filter = healthy ? roster::Filter::Healthy : roster::Filter::All;
            std::vector<PyInstance> out;
            for (auto inst : version ? v.get().instances(name, *version, filter) : v.get().instances(name, filter))
              out.push_back(copy(inst));
            return out;
          },
          py::arg("name"), py::arg("version") = py::none(), py::arg("healthy") = false)
      .def("by_team", [](const PyView& v, const std::string& team) { return v.wrap_all(v.get().by_team(team).to_vector()); })
      .def("by_tag", [](const PyView& v, const std::string& tag) { return v.wrap_all(v.get().by_tag(tag).to_vector()); })
      .def("by_stage",
           [](const PyView& v, const std::string& stage) { return v.wrap_all(v.get().by_stage(stage_of(stage)).to_vector()); })
      .def(
          "dependencies",
          [](const PyView& v, const std::string& name, std::optional<std::string> version, bool transitive) {
            const auto depth = transitive ? roster::Depth::Transitive : roster::Depth::Direct;
            py::list out;
            for (auto& d : version ? v.get().dependencies(name, *version, depth) : v.get().dependencies(name, depth)) {
              py::dict item;
              item["from"] = v.wrap(d.from);
              item["service"] = std::string(d.service);
              item["range"] = std::string(d.range);
              item["resolved"] = d.resolved ? py::cast(v.wrap(*d.resolved)) : py::none();
              out.append(item);
            }
            return out;
          },
          py::arg("name"), py::arg("version") = py::none(), py::arg("transitive") = false)
      .def(
          "dependents",
          [](const PyView& v, const std::string& name, bool transitive) {
            return v.wrap_all(v.get().dependents(name, transitive ? roster::Depth::Transitive : roster::Depth::Direct));
          },
          py::arg("name"), py::arg("transitive") = false);

  py::class_<roster::Client>(m, "Client")
      .def("view", [](roster::Client& c) { return PyView(c.view()); }, py::keep_alive<0, 1>(),
           "Pin the newest generation; use as a context manager")
      .def_property_readonly("generation", &roster::Client::generation)
      .def(
          "wait_for_change",
          [](roster::Client& c, uint64_t generation, double timeout) {
            py::gil_scoped_release release;
            return c.wait_for_change(generation, std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
          },
          py::arg("generation"), py::arg("timeout") = 1.0,
          "Block until the generation differs from `generation` (True) or `timeout` seconds pass (False)");

  m.def(
      "open", [](const std::string& name) { return roster::Client::open(name).value(); }, py::arg("name") = "roster",
      "Map the arena `name` read-only");
}
