// The Python module `roster`: the C++ client's lookups, copied into Python objects.
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

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "roster/client.hpp"
#include "roster/wire/names.hpp"

namespace py = pybind11;

namespace {

struct PyService {
  std::string name, version, owner_team, description, documentation_url, deprecation_reason, stage;
  std::vector<std::string> tags;
  std::map<std::string, std::string> labels;
  std::vector<std::pair<std::string, std::string>> dependencies;  // (service, range)
  std::vector<std::tuple<std::string, std::string, std::string>> endpoints;  // (method, path, description)
  std::optional<std::string> schema_format, schema_document;
  int64_t created_at_ms, updated_at_ms, deprecated_at_ms, sunset_at_ms;
  uint64_t revision;
};

struct PyInstance {
  std::string service, version, id, address, zone, health;
  uint16_t port, weight;
  int64_t lease_expires_at_ms;
  std::map<std::string, std::string> metadata;
};

std::string s(const flatbuffers::String* v) { return v ? v->str() : std::string(); }

// Copying reads every field: a record that fails verification (a damaged arena) is an error
// rather than a copy of whatever its offsets point at.
[[noreturn]] void damaged_record() {
  throw roster::Exception({roster::ErrorKind::Corrupt, "corrupt_record", "a record in the arena fails verification"});
}

PyService copy(const roster::ServiceVersion& sv) {
  if (!sv.verified()) damaged_record();
  const auto& r = sv.record();
  PyService p;
  p.name = s(r.name());
  p.version = s(r.version());
  p.owner_team = s(r.owner_team());
  p.description = s(r.description());
  p.documentation_url = s(r.documentation_url());
  p.deprecation_reason = s(r.deprecation_reason());
  p.stage = std::string(roster::wire::to_string(r.stage()));
  if (r.tags())
    for (auto* t : *r.tags()) p.tags.push_back(t->str());
  if (r.labels())
    for (auto* l : *r.labels()) p.labels[l->key()->str()] = l->value()->str();
  if (r.dependencies())
    for (auto* d : *r.dependencies()) p.dependencies.emplace_back(d->service()->str(), d->range()->str());
  if (r.endpoints())
    for (auto* e : *r.endpoints()) p.endpoints.emplace_back(e->method()->str(), e->path()->str(), s(e->description()));
  if (auto* schema = r.api_schema()) {
    p.schema_format = std::string(roster::wire::to_string(schema->format()));
    p.schema_document = schema->document()->str();
  }
  p.created_at_ms = r.created_at_ms();
  p.updated_at_ms = r.updated_at_ms();
  p.deprecated_at_ms = r.deprecated_at_ms();
  p.sunset_at_ms = r.sunset_at_ms();
  p.revision = r.revision();
  return p;
}

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

std::vector<PyService> copy_all(const std::vector<roster::ServiceVersion>& list) {
  std::vector<PyService> out;
  for (auto& v : list) out.push_back(copy(v));
  return out;
}

// A View opened by `with client.view() as v:` (or view.close()); it must be closed on the
// thread that opened it.
class PyView {
 public:
  explicit PyView(roster::View view) : view_(std::move(view)) {}

  const roster::View& get() const {
    if (!view_) throw roster::Exception({roster::ErrorKind::Invalid, "view_closed", "the view is closed"});
    if (view_->evicted())
      throw roster::Exception({roster::ErrorKind::Conflict, "view_evicted", "the view was held too long and was revoked"});
    return *view_;
  }
  void close() { view_.reset(); }

 private:
  std::optional<roster::View> view_;
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

  py::class_<PyService>(m, "ServiceVersion")
      .def_readonly("name", &PyService::name)
      .def_readonly("version", &PyService::version)
      .def_readonly("owner_team", &PyService::owner_team)
      .def_readonly("description", &PyService::description)
      .def_readonly("documentation_url", &PyService::documentation_url)
      .def_readonly("deprecation_reason", &PyService::deprecation_reason)
      .def_readonly("stage", &PyService::stage)
      .def_readonly("tags", &PyService::tags)
      .def_readonly("labels", &PyService::labels)
      .def_readonly("dependencies", &PyService::dependencies)
      .def_readonly("endpoints", &PyService::endpoints)
      .def_readonly("schema_format", &PyService::schema_format)
      .def_readonly("schema_document", &PyService::schema_document)
      .def_readonly("created_at_ms", &PyService::created_at_ms)
      .def_readonly("updated_at_ms", &PyService::updated_at_ms)
      .def_readonly("deprecated_at_ms", &PyService::deprecated_at_ms)
      .def_readonly("sunset_at_ms", &PyService::sunset_at_ms)
      .def_readonly("revision", &PyService::revision)
      .def("__repr__", [](const PyService& p) { return "<roster.ServiceVersion " + p.name + "@" + p.version + " " + p.stage + ">"; });

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
          [](const PyView& v, const std::string& name, std::optional<std::string> version) -> std::optional<PyService> {
            auto svc = version ? v.get().service(name, *version) : v.get().service(name);
            if (!svc) return std::nullopt;
            return copy(*svc);
          },
          py::arg("name"), py::arg("version") = py::none(),
          "The latest stable version (or the given one), or None")
      .def(
          "latest",
          [](const PyView& v, const std::string& name, bool include_prerelease) -> std::optional<PyService> {
            auto svc = v.get().latest(name, include_prerelease ? roster::Latest::IncludingPrereleases
                                                                        : roster::Latest::Stable);
            if (!svc) return std::nullopt;
            return copy(*svc);
          },
          py::arg("name"), py::arg("include_prerelease") = false)
      .def("versions", [](const PyView& v, const std::string& name) { return copy_all(v.get().versions(name)); })
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
      .def("by_team", [](const PyView& v, const std::string& team) { return copy_all(v.get().by_team(team).to_vector()); })
      .def("by_tag", [](const PyView& v, const std::string& tag) { return copy_all(v.get().by_tag(tag).to_vector()); })
      .def("by_stage",
           [](const PyView& v, const std::string& stage) { return copy_all(v.get().by_stage(stage_of(stage)).to_vector()); })
      .def(
          "dependencies",
          [](const PyView& v, const std::string& name, std::optional<std::string> version, bool transitive) {
            const auto depth = transitive ? roster::Depth::Transitive : roster::Depth::Direct;
            py::list out;
            for (auto& d : version ? v.get().dependencies(name, *version, depth) : v.get().dependencies(name, depth)) {
              py::dict item;
              item["from"] = copy(d.from);
              item["service"] = std::string(d.service);
              item["range"] = std::string(d.range);
              item["resolved"] = d.resolved ? py::cast(copy(*d.resolved)) : py::none();
              out.append(item);
            }
            return out;
          },
          py::arg("name"), py::arg("version") = py::none(), py::arg("transitive") = false)
      .def(
          "dependents",
          [](const PyView& v, const std::string& name, bool transitive) {
            return copy_all(v.get().dependents(name, transitive ? roster::Depth::Transitive : roster::Depth::Direct));
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
