// The Python module `roster`: the C++ client's lookups. A ServiceVersion reads its fields from
// shared memory when they are asked for (no copy of the whole record per lookup); instances are
// copied.
//
//   import roster
//   with roster.open("roster") as client:
//       with client.view() as view:
//           svc = view.service("user-service")
//           for inst in view.instances("user-service", healthy=True): print(inst.address, inst.port)
//           names, seen = view.services(), view.generation
//       client.wait(seen, timeout=5.0)            # roster.TimeoutError if nothing changed
//       with client.view() as view: print(view.changed_since(seen))
//
// Errors are roster.Error, or one of its subclasses: NotFoundError (no such arena or registry), EvictedError
// (a view held past the arena's pin limit was revoked), TimeoutError (Client.wait). A lookup that
// finds nothing returns None (or an empty list), not an error. bindings/python/roster.pyi holds
// the types; tests/bindings/test_roster_module.py checks it against the module.
#include <pybind11/chrono.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
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

[[noreturn]] void evicted_view() {
  throw roster::Exception({roster::ErrorKind::Conflict, "view_evicted", "the view was held too long and was revoked"});
}

class PyService;

// The View a module object reads through, shared by the View object and its registry views.
struct ViewState {
  std::optional<roster::View> view;
  // The client the view reads through: Client.close() with views still open leaves the mapping
  // to the last of them.
  std::shared_ptr<roster::Client> client;
  // The ServiceVersions it handed out that Python still holds (each unlinks itself when it goes):
  // detached on close.
  PyService* live = nullptr;

  ViewState() = default;
  ViewState(const ViewState&) = delete;
  ~ViewState() { close(); }

  const roster::View& get() const {
    if (!view) throw roster::Exception({roster::ErrorKind::Invalid, "view_closed", "the view is closed"});
    if (view->evicted()) evicted_view();
    return *view;
  }
  // The view, evicted or not (for the `evicted` property).
  const roster::View& open() const {
    if (!view) throw roster::Exception({roster::ErrorKind::Invalid, "view_closed", "the view is closed"});
    return *view;
  }
  // Before the view goes: every object still alive takes a copy of its record.
  void close();
};

// One service version handed to Python: read in place from shared memory while its view is open;
// when the view closes, the record's bytes are copied (verified) into memory of its own, so the
// object stays readable, as a copy would be, at no cost to lookups that never outlive their view.
// Strings are checked to lie inside the record; list fields verify the whole record once, first.
// It lives inside its Python object (never copied or moved) and is linked into its view's list.
class PyService {
 public:
  PyService(ViewState& view, const roster::ServiceVersion& svc)
      : view_(&view), svc_(svc), registry_(svc.registry()), next_(view.live) {
    if (next_) next_->prev_ = this;
    view.live = this;
  }
  PyService(const PyService&) = delete;
  ~PyService() { unlink(); }

  const std::string& registry() const { return registry_; }
  const roster::wire::ServiceVersion& record() const {
    if (damaged_) evicted_ ? evicted_view() : damaged_record();
    if (!detached_) view_->get();
    return svc_.record();
  }
  std::string_view text(const flatbuffers::String* v) const {
    if (!v) return {};
    const auto bytes = svc_.bytes();
    const auto* at = reinterpret_cast<const uint8_t*>(v->data());
    if (at < bytes.data() || at > bytes.data() + bytes.size() || v->size() > size_t(bytes.data() + bytes.size() - at))
      damaged_record();
    return {v->data(), v->size()};
  }
  const roster::wire::ServiceVersion& verified_record() const {
    const auto& r = record();
    if (verified_ < 0) verified_ = detached_ || svc_.verified() ? 1 : 0;
    if (!verified_) damaged_record();
    return r;
  }

  // Its view is closing (ViewState::close): copy the record out of the arena, and leave the list.
  void detach(const roster::View& view) {
    unlink();
    detached_ = true;
    // The exact bytes, through the service's own node (a list entry does not say how long it is),
    // in the registry it came from (a plain lookup may be served by another).
    auto exact = registry_.empty() ? view.service(svc_.name(), svc_.version())
                                   : view.in(registry_).service(svc_.name(), svc_.version());
    if (view.evicted()) {
      damaged_ = evicted_ = true;
      return;
    }
    if (!exact || !exact->verified()) {
      damaged_ = true;
      return;
    }
    const auto bytes = exact->bytes();
    owned_.resize((bytes.size() + 7) / 8);
    std::memcpy(owned_.data(), bytes.data(), bytes.size());
    const auto* base = reinterpret_cast<const uint8_t*>(owned_.data());
    svc_ = roster::ServiceVersion(flatbuffers::GetRoot<roster::wire::ServiceVersion>(base), {base, bytes.size()});
  }

 private:
  void unlink() {
    if (!view_) return;
    if (prev_) prev_->next_ = next_;
    else view_->live = next_;
    if (next_) next_->prev_ = prev_;
    view_ = nullptr;  // linked exactly while set; a detached object never reads its view again
  }

  ViewState* view_;
  roster::ServiceVersion svc_;
  std::string registry_;  // copied: the name lives in the arena's header, which may be unmapped
  std::vector<uint64_t> owned_;  // the record's own copy once its view closed (8-aligned)
  bool detached_ = false, damaged_ = false;
  bool evicted_ = false;  // its view was revoked before it closed: the record could not be copied
  mutable int verified_ = -1;  // unknown, no, yes
  PyService *prev_ = nullptr, *next_;
};

void ViewState::close() {
  if (!view) return;
  while (live) live->detach(*view);
  view.reset();
  client.reset();  // after the view: it reads through the client's mapping
}

// ServiceVersion is a C type, not a pybind11 class: a lookup that hands one out, and each field
// read from it, would otherwise pay pybind11's instance registry and argument dispatch, several
// times the lookup itself. Its fields are `property` objects over METH_O functions.
struct ServiceVersionObject {
  PyObject_HEAD
  PyService service;  // constructed in place by new_service_version
};
PyTypeObject* service_version_type = nullptr;

py::object new_service_version(ViewState& view, const roster::ServiceVersion& svc) {
  auto* object = PyObject_New(ServiceVersionObject, service_version_type);  // takes a reference to the type
  if (!object) throw py::error_already_set();
  try {
    new (&object->service) PyService(view, svc);
  } catch (...) {  // out of memory copying the registry's name: the object was never one
    PyTypeObject* type = Py_TYPE(object);
    PyObject_Free(object);
    Py_DECREF(type);
    throw;
  }
  return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(object));
}

// A ServiceVersion object as a lookup returns it: pybind11's signatures (help()) name its type.
struct ServiceVersionRef {
  py::object object;
};

}  // namespace

namespace pybind11::detail {
template <>
struct type_caster<ServiceVersionRef> {
  PYBIND11_TYPE_CASTER(ServiceVersionRef, const_name("ServiceVersion"));
  bool load(handle, bool) { return false; }  // only ever returned
  static handle cast(const ServiceVersionRef& ref, return_value_policy, handle) { return ref.object.inc_ref(); }
};
}  // namespace pybind11::detail

namespace {

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

// What reads through a view (the View object, and a registry of it) and hands out what it found.
class ViewHandle {
 public:
  explicit ViewHandle(std::shared_ptr<ViewState> state) : state_(std::move(state)) {}
  const roster::View& get() const { return state_->get(); }
  py::object wrap(const roster::ServiceVersion& svc) const { return new_service_version(*state_, svc); }
  std::optional<ServiceVersionRef> wrap(const std::optional<roster::ServiceVersion>& svc) const {
    if (!svc) return std::nullopt;
    return ServiceVersionRef{wrap(*svc)};
  }
  std::vector<ServiceVersionRef> wrap_all(const std::vector<roster::ServiceVersion>& list) const {
    std::vector<ServiceVersionRef> out;
    out.reserve(list.size());
    for (auto& v : list) out.push_back({wrap(v)});
    return out;
  }

 protected:
  std::shared_ptr<ViewState> state_;
};

// A View opened by `with client.view() as v:` (or view.close()); it must be closed on the
// thread that opened it.
class PyView : public ViewHandle {
 public:
  PyView(roster::View view, std::shared_ptr<roster::Client> client) : ViewHandle(std::make_shared<ViewState>()) {
    state_->view.emplace(std::move(view));
    state_->client = std::move(client);
  }

  // One owner: the Python object. When it goes, so does the view (what it returned detaches).
  PyView(PyView&&) = default;
  PyView(const PyView&) = delete;
  ~PyView() {
    if (state_) state_->close();
  }
  const roster::View& open() const { return state_->open(); }
  bool closed() const { return !state_->view; }
  void close() { state_->close(); }
  const std::shared_ptr<ViewState>& state() const { return state_; }
};

// View.in_registry(name): the lookups of one registry of a federated arena, through the view (it
// reads nothing once the view is closed).
class PyRegistryView : public ViewHandle {
 public:
  PyRegistryView(std::shared_ptr<ViewState> state, std::string registry)
      : ViewHandle(std::move(state)), registry_(std::move(registry)) {}
  roster::InRegistry in() const { return get().in(registry_); }
  const std::string& name() const { return registry_; }

 private:
  std::string registry_;
};

// One registry an arena mirrors, copied out of the view (View.registries).
struct PyRegistry {
  std::string name, store;
  uint64_t revision;
  std::optional<double> staleness;  // seconds; None: never heard from its upstream
};

// A Client that Python may close: close() drops this object's share of the client; the views
// still open keep theirs, so the mapping goes when the last of them closes.
class PyClient {
 public:
  PyClient(roster::Client client, std::string name)
      : client_(std::make_shared<roster::Client>(std::move(client))), name_(std::move(name)) {}
  const std::shared_ptr<roster::Client>& get() const {
    if (!client_)
      throw roster::Exception({roster::ErrorKind::Invalid, "client_closed", "the client of arena \"" + name_ + "\" is closed"});
    return client_;
  }
  void close() { client_.reset(); }
  bool closed() const { return !client_; }
  const std::string& name() const { return name_; }

 private:
  std::shared_ptr<roster::Client> client_;
  std::string name_;
};

// Blocks until the generation differs from `generation`, or raises the timeout error. Waits in
// slices of at most a second, checking for signals between them (Ctrl-C ends an endless wait).
void wait_for_generation(const PyClient& c, uint64_t generation, std::optional<double> timeout) {
  using namespace std::chrono;
  if (timeout && !(*timeout >= 0 && *timeout < 1e9))
    throw py::value_error("timeout must be a number of seconds >= 0, or None to wait without a limit");
  const std::shared_ptr<roster::Client> client = c.get();  // kept while the GIL is released
  const auto deadline = steady_clock::now() + (timeout ? duration_cast<steady_clock::duration>(duration<double>(*timeout))
                                                       : steady_clock::duration::zero());
  for (bool first = true;; first = false) {
    auto slice = milliseconds(1000);
    if (timeout) {
      const auto left = deadline - steady_clock::now();
      if (!first && left <= steady_clock::duration::zero()) break;
      slice = std::min(slice, ceil<milliseconds>(std::max(left, steady_clock::duration::zero())));
    }
    bool changed;
    {
      py::gil_scoped_release release;
      changed = client->wait_for_change(generation, slice);
    }
    if (changed) return;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", *timeout);
  throw roster::Exception({roster::ErrorKind::Unavailable, "timeout",
                           "the generation of arena \"" + c.name() + "\" stayed " + std::to_string(generation) + " for " +
                               seconds + " s"});
}

// The exception classes, made once (module init) and kept for the translator.
struct ErrorTypes {
  PyObject *error, *not_found, *evicted, *timeout;
};
ErrorTypes error_types;

std::string_view kind_name(roster::ErrorKind kind) {
  switch (kind) {
    case roster::ErrorKind::Invalid: return "invalid";
    case roster::ErrorKind::NotFound: return "not_found";
    case roster::ErrorKind::Conflict: return "conflict";
    case roster::ErrorKind::Rejected: return "rejected";
    case roster::ErrorKind::Unauthorized: return "unauthorized";
    case roster::ErrorKind::TooLarge: return "too_large";
    case roster::ErrorKind::Unavailable: return "unavailable";
    case roster::ErrorKind::Io: return "io";
    case roster::ErrorKind::Corrupt: return "corrupt";
  }
  return "unknown";
}

// A roster::Exception as the Python exception of its kind, with `code` and `kind` attributes.
void raise_python(const roster::Exception& e) {
  const roster::Error& error = e.error();
  PyObject* type = error.code == "view_evicted"              ? error_types.evicted
                   : error.code == "timeout"                 ? error_types.timeout
                   : error.kind == roster::ErrorKind::NotFound ? error_types.not_found
                                                             : error_types.error;
  try {
    py::object instance = py::reinterpret_borrow<py::object>(type)(py::str(e.what()));
    instance.attr("code") = error.code;
    instance.attr("kind") = kind_name(error.kind);
    PyErr_SetObject(type, instance.ptr());
  } catch (py::error_already_set& failed) {
    failed.restore();  // making the exception failed (out of memory): raise that instead
  }
}

PyObject* new_error_type(py::module_& m, const char* name, const char* doc, PyObject* bases) {
  PyObject* type = PyErr_NewExceptionWithDoc((std::string("roster.") + name).c_str(), doc, bases, nullptr);
  if (!type) throw py::error_already_set();
  m.attr(name) = py::handle(type);  // the module holds a reference; `type` keeps its own, for good
  return type;
}

// A property's getter whose signature names its argument `self` (pybind11 says arg0 otherwise).
template <typename F>
py::cpp_function self_getter(F&& f) {
  return py::cpp_function(std::forward<F>(f), py::arg("self"));
}

roster::wire::LifecycleStage stage_of(const std::string& name) {
  auto stage = roster::wire::parse_lifecycle_stage(name);
  if (!stage) throw py::value_error("unknown lifecycle stage \"" + name + "\"");
  return *stage;
}

// Said by every lookup of a View.
#define ROSTER_VIEW_RAISES "; raises Error if the view is closed, EvictedError if it was revoked"

// --- ServiceVersion's fields ----------------------------------------------------------------

// Runs a field's getter: its C++ errors become the module's Python errors.
template <typename F>
PyObject* guarded(F&& get) noexcept {
  try {
    return get();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {  // py::type_error and its kind
    e.set_error();
  } catch (const roster::Exception& e) {
    raise_python(e);
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

// The PyService of `self`, which a property's getter may be handed by anyone (Type.field.fget(x)).
const PyService& service_of(PyObject* self) {
  if (!PyObject_TypeCheck(self, service_version_type))
    throw py::type_error("expected a roster.ServiceVersion, got " + std::string(Py_TYPE(self)->tp_name));
  return reinterpret_cast<ServiceVersionObject*>(self)->service;
}

PyObject* text_object(std::string_view text) { return PyUnicode_FromStringAndSize(text.data(), static_cast<Py_ssize_t>(text.size())); }

using Record = roster::wire::ServiceVersion;

// A string field, read from shared memory when asked for.
template <const flatbuffers::String* (Record::*Field)() const>
PyObject* text_field(PyObject*, PyObject* self) {
  return guarded([&] {
    const PyService& p = service_of(self);
    return text_object(p.text((p.record().*Field)()));
  });
}

// Any other field: `Get` is a captureless lambda from the PyService to a value pybind11 converts.
template <auto Get>
PyObject* field(PyObject*, PyObject* self) {
  return guarded([&] { return py::cast(Get(service_of(self))).release().ptr(); });
}

void service_version_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  reinterpret_cast<ServiceVersionObject*>(self)->service.~PyService();
  type->tp_free(self);
  Py_DECREF(type);  // instances of a heap type hold a reference to it
}

PyObject* service_version_repr(PyObject* self) {
  return guarded([&] {
    const PyService& p = service_of(self);
    const auto& r = p.record();
    const std::string text = "<roster.ServiceVersion " + std::string(p.text(r.name())) + "@" +
                             std::string(p.text(r.version())) + " " + std::string(roster::wire::to_string(r.stage())) + ">";
    return text_object(text);
  });
}

// Said by every field of a ServiceVersion read in place (until its view closes).
#define ROSTER_FIELD_RAISES "; raises EvictedError if its view was revoked, Error if the record is damaged"

void define_service_version(py::module_& m) {
  static PyType_Slot slots[] = {
      {Py_tp_dealloc, reinterpret_cast<void*>(service_version_dealloc)},
      {Py_tp_repr, reinterpret_cast<void*>(service_version_repr)},
      {Py_tp_doc, const_cast<char*>("One version of a service, read from shared memory field by field while its view "
                                    "is open (a copy of its own once the view closes)")},
      {0, nullptr}};
  static PyType_Spec spec = {"roster.ServiceVersion", sizeof(ServiceVersionObject), 0, Py_TPFLAGS_DEFAULT, slots};
  // Not creatable from Python: only lookups make them.
  auto type = py::reinterpret_steal<py::object>(PyType_FromSpec(&spec));
  if (!type) throw py::error_already_set();
  reinterpret_cast<PyTypeObject*>(type.ptr())->tp_new = nullptr;
  PyType_Modified(reinterpret_cast<PyTypeObject*>(type.ptr()));
  service_version_type = reinterpret_cast<PyTypeObject*>(type.ptr());

  // The methods' definitions must outlive the functions made from them: static.
  static PyMethodDef getters[] = {
      {"name", text_field<&Record::name>, METH_O, "The service's name (str)" ROSTER_FIELD_RAISES},
      {"version", text_field<&Record::version>, METH_O, "The semantic version (str)" ROSTER_FIELD_RAISES},
      {"owner_team", text_field<&Record::owner_team>, METH_O, "The owning team (str)" ROSTER_FIELD_RAISES},
      {"description", text_field<&Record::description>, METH_O, "The description, or '' (str)" ROSTER_FIELD_RAISES},
      {"documentation_url", text_field<&Record::documentation_url>, METH_O,
       "The documentation URL, or '' (str)" ROSTER_FIELD_RAISES},
      {"deprecation_reason", text_field<&Record::deprecation_reason>, METH_O,
       "Why it was deprecated, or '' (str)" ROSTER_FIELD_RAISES},
      {"stage", field<[](const PyService& p) { return std::string(roster::wire::to_string(p.record().stage())); }>, METH_O,
       "The lifecycle stage: proposed, development, beta, stable, deprecated, sunset or retired (str)" ROSTER_FIELD_RAISES},
      {"tags",
       field<[](const PyService& p) {
         std::vector<std::string> out;
         if (auto* tags = p.verified_record().tags())
           for (auto* t : *tags) out.push_back(t->str());
         return out;
       }>,
       METH_O, "The tags (list of str)" ROSTER_FIELD_RAISES},
      {"labels",
       field<[](const PyService& p) {
         std::map<std::string, std::string> out;
         if (auto* labels = p.verified_record().labels())
           for (auto* l : *labels) out[l->key()->str()] = l->value()->str();
         return out;
       }>,
       METH_O, "The labels (dict of str to str)" ROSTER_FIELD_RAISES},
      {"dependencies",
       field<[](const PyService& p) {
         std::vector<std::pair<std::string, std::string>> out;  // (service, range)
         if (auto* deps = p.verified_record().dependencies())
           for (auto* d : *deps) out.emplace_back(d->service()->str(), d->range()->str());
         return out;
       }>,
       METH_O,
       "The declared dependencies as (service, semver range) tuples, unresolved (View.dependencies resolves "
       "them)" ROSTER_FIELD_RAISES},
      {"endpoints",
       field<[](const PyService& p) {
         std::vector<std::tuple<std::string, std::string, std::string>> out;  // (method, path, description)
         if (auto* endpoints = p.verified_record().endpoints())
           for (auto* e : *endpoints) out.emplace_back(e->method()->str(), e->path()->str(), s(e->description()));
         return out;
       }>,
       METH_O, "The endpoints as (method, path, description) tuples" ROSTER_FIELD_RAISES},
      {"schema_format",
       field<[](const PyService& p) -> std::optional<std::string> {
         auto* schema = p.verified_record().api_schema();
         if (!schema) return std::nullopt;
         return std::string(roster::wire::to_string(schema->format()));
       }>,
       METH_O, "The API schema's format (e.g. 'openapi'), or None without a schema" ROSTER_FIELD_RAISES},
      {"schema_document",
       field<[](const PyService& p) -> std::optional<std::string> {
         auto* schema = p.verified_record().api_schema();
         if (!schema) return std::nullopt;
         return schema->document()->str();
       }>,
       METH_O, "The API schema document (minified JSON str), or None without a schema" ROSTER_FIELD_RAISES},
      {"created_at_ms", field<[](const PyService& p) { return p.record().created_at_ms(); }>, METH_O,
       "When it was registered, in Unix milliseconds (int)" ROSTER_FIELD_RAISES},
      {"updated_at_ms", field<[](const PyService& p) { return p.record().updated_at_ms(); }>, METH_O,
       "When it last changed, in Unix milliseconds (int)" ROSTER_FIELD_RAISES},
      {"deprecated_at_ms", field<[](const PyService& p) { return p.record().deprecated_at_ms(); }>, METH_O,
       "When it was deprecated, in Unix milliseconds, or 0 (int)" ROSTER_FIELD_RAISES},
      {"sunset_at_ms", field<[](const PyService& p) { return p.record().sunset_at_ms(); }>, METH_O,
       "When it is (or was) sunset, in Unix milliseconds, or 0 (int)" ROSTER_FIELD_RAISES},
      {"registry", field<[](const PyService& p) { return p.registry(); }>, METH_O,
       "The registry it came from in a federated arena, else '' (str)"},
      {"revision", field<[](const PyService& p) { return p.record().revision(); }>, METH_O,
       "The upstream store's revision of this record (int)" ROSTER_FIELD_RAISES},
  };
  const py::object property = py::module_::import("builtins").attr("property");
  for (PyMethodDef& getter : getters) {
    auto get = py::reinterpret_steal<py::object>(PyCFunction_NewEx(&getter, nullptr, nullptr));
    if (!get) throw py::error_already_set();
    type.attr(getter.ml_name) = property(get, py::none(), py::none(), getter.ml_doc);
  }
  m.attr("ServiceVersion") = type;
}

// A str argument's text (`what` names it in the TypeError).
std::string_view text_argument(PyObject* value, const char* what) {
  Py_ssize_t size = 0;
  const char* text = PyUnicode_Check(value) ? PyUnicode_AsUTF8AndSize(value, &size) : nullptr;
  if (!text) {
    if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s must be a str, not %s", what, Py_TYPE(value)->tp_name);
    throw py::error_already_set();
  }
  return {text, static_cast<size_t>(size)};
}

// service(name, version=None), the lookup a proxy makes per request, as a METH_FASTCALL method:
// pybind11's dispatch would cost more than the lookup. `Source` is the captureless lambda
// def_lookups is given (default-constructible).
template <typename Handle, typename Source>
PyObject* service_method(PyObject* self, PyObject* const* args, Py_ssize_t positional, PyObject* keywords) {
  return guarded([&]() -> PyObject* {
    PyObject* values[2] = {nullptr, nullptr};  // name, version
    if (positional > 2) throw py::type_error("service() takes at most 2 arguments (" + std::to_string(positional) + " given)");
    for (Py_ssize_t i = 0; i < positional; ++i) values[i] = args[i];
    for (Py_ssize_t k = 0; keywords && k < PyTuple_GET_SIZE(keywords); ++k) {
      const std::string_view keyword = text_argument(PyTuple_GET_ITEM(keywords, k), "a keyword");
      const int at = keyword == "name" ? 0 : keyword == "version" ? 1 : -1;
      if (at < 0) throw py::type_error("service() got an unexpected keyword argument '" + std::string(keyword) + "'");
      if (values[at]) throw py::type_error("service() got multiple values for argument '" + std::string(keyword) + "'");
      values[at] = args[positional + k];
    }
    if (!values[0]) throw py::type_error("service() missing required argument 'name'");
    const std::string_view name = text_argument(values[0], "name");
    // The method descriptor has checked that `self` is a Handle (or a Python subclass of one,
    // whose __init__ may never have made the C++ object).
    auto holder = reinterpret_cast<py::detail::instance*>(self)->get_value_and_holder();
    if (!holder.holder_constructed()) throw py::type_error("service() needs a view that open() or view() made");
    const auto* handle = holder.template value_ptr<Handle>();
    auto&& source = Source{}(*handle);
    auto found = values[1] && values[1] != Py_None ? source.service(name, text_argument(values[1], "version"))
                                                    : source.service(name);
    if (!found) Py_RETURN_NONE;
    return handle->wrap(*found).release().ptr();
  });
}

// The lookups a View and a RegistryView share: `source(self)` is what they read through (the
// View, or one registry of it).
template <typename Handle, typename Source>
void def_lookups(py::class_<Handle>& cls, Source) {
  static PyMethodDef service = {
      "service", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(service_method<Handle, Source>)),
      METH_FASTCALL | METH_KEYWORDS,
      "service(self, name: str, version: Optional[str] = None) -> Optional[ServiceVersion]\n\n"
      "The latest version (docs/lifecycle.md), or the given version, as a ServiceVersion; None if there is "
      "none" ROSTER_VIEW_RAISES};
  auto method = py::reinterpret_steal<py::object>(PyDescr_NewMethod(reinterpret_cast<PyTypeObject*>(cls.ptr()), &service));
  if (!method) throw py::error_already_set();
  cls.attr("service") = method;
  const Source source;
  cls.def(
          "latest",
          [source](const Handle& v, const std::string& name, bool include_prerelease) {
            return v.wrap(source(v).latest(name, include_prerelease ? roster::Latest::IncludingPrereleases
                                                                    : roster::Latest::Stable));
          },
          py::arg("name"), py::arg("include_prerelease") = false,
          "The latest version, or with include_prerelease the highest in any stage but retired; None if there is "
          "none" ROSTER_VIEW_RAISES)
      .def(
          "versions",
          [source](const Handle& v, const std::string& name) { return v.wrap_all(source(v).versions(name)); },
          py::arg("name"),
          "Every version of the service, ascending by precedence (list, empty if there is none)" ROSTER_VIEW_RAISES)
      .def(
          "instances",
          [source](const Handle& v, const std::string& name, std::optional<std::string> version, bool healthy) {
            const auto filter = healthy ? roster::Filter::Healthy : roster::Filter::All;
            std::vector<PyInstance> out;
            for (auto inst : version ? source(v).instances(name, *version, filter) : source(v).instances(name, filter))
              out.push_back(copy(inst));
            return out;
          },
          py::arg("name"), py::arg("version") = py::none(), py::arg("healthy") = false,
          "The instances of the service (or of one version), healthy first, only healthy ones with healthy=True "
          "(list of Instance, empty if none)" ROSTER_VIEW_RAISES)
      .def(
          "dependencies",
          [source](const Handle& v, const std::string& name, std::optional<std::string> version, bool transitive) {
            const auto depth = transitive ? roster::Depth::Transitive : roster::Depth::Direct;
            py::list out;
            auto found = version ? source(v).dependencies(name, *version, depth) : source(v).dependencies(name, depth);
            for (auto& d : found) {
              py::dict item;
              item["from"] = v.wrap(d.from);
              item["service"] = std::string(d.service);
              item["range"] = std::string(d.range);
              item["resolved"] = v.wrap(d.resolved);
              out.append(item);
            }
            return out;
          },
          py::arg("name"), py::arg("version") = py::none(), py::arg("transitive") = false,
          "The dependencies of the latest (or given) version as dicts of from, service, range and resolved "
          "(a ServiceVersion or None); transitive follows resolved ones" ROSTER_VIEW_RAISES)
      .def(
          "dependents",
          [source](const Handle& v, const std::string& name, bool transitive) {
            const auto depth = transitive ? roster::Depth::Transitive : roster::Depth::Direct;
            return v.wrap_all(source(v).dependents(name, depth));
          },
          py::arg("name"), py::arg("transitive") = false,
          "The versions whose dependencies resolve to a version of the service (list of "
          "ServiceVersion)" ROSTER_VIEW_RAISES);
}

}  // namespace

PYBIND11_MODULE(roster, m) {
  m.doc() =
      "Read the roster service registry from the local agent's shared memory: open(name) gives a Client, "
      "Client.view() a View of one generation whose lookups return ServiceVersion and Instance objects.";

  // Error is a RuntimeError (as it always was); TimeoutError is the builtin TimeoutError too.
  error_types.error = new_error_type(m, "Error",
                                     "Base of the module's errors; `code` is a stable snake_case identifier "
                                     "(e.g. no_arena, view_closed), `kind` its class (e.g. not_found, corrupt).",
                                     PyExc_RuntimeError);
  error_types.not_found = new_error_type(m, "NotFoundError",
                                         "The arena named to open() does not exist (no agent created it), or "
                                         "the registry named to View.in_registry() is not one it mirrors.",
                                         error_types.error);
  error_types.evicted = new_error_type(m, "EvictedError",
                                       "The view was held past the arena's pin limit and revoked: open a new one.",
                                       error_types.error);
  {
    py::tuple bases = py::make_tuple(py::handle(error_types.error), py::handle(PyExc_TimeoutError));
    error_types.timeout = new_error_type(m, "TimeoutError",
                                         "Client.wait() gave up: the generation did not change within the timeout.",
                                         bases.ptr());
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const roster::Exception& e) {
      raise_python(e);
    }
  });


  define_service_version(m);

  py::class_<PyInstance>(m, "Instance", "One instance of a service version, copied out of shared memory")
      .def_readonly("service", &PyInstance::service, "The service's name (str)")
      .def_readonly("version", &PyInstance::version, "The version it runs (str)")
      .def_readonly("id", &PyInstance::id, "Its id, unique within the version (str)")
      .def_readonly("address", &PyInstance::address, "Host name or IP address (str)")
      .def_readonly("port", &PyInstance::port, "TCP port (int)")
      .def_readonly("zone", &PyInstance::zone, "Availability zone, or '' (str)")
      .def_readonly("weight", &PyInstance::weight, "Load-balancing weight (int)")
      .def_readonly("health", &PyInstance::health, "up, down, starting or out_of_service (str)")
      .def_readonly("lease_expires_at_ms", &PyInstance::lease_expires_at_ms,
                    "Always 0 in the arena: leases are the server's (int)")
      .def_readonly("metadata", &PyInstance::metadata, "Its metadata (dict of str to str)")
      .def(
          "__repr__",
          [](const PyInstance& p) {
            return "<roster.Instance " + p.id + " " + p.address + ":" + std::to_string(p.port) + " " + p.health + ">";
          },
          "'<roster.Instance id address:port health>'");

  py::class_<PyView> view_class(m, "View",
                                "One consistent generation of the registry; close it soon (with, or close()), on the "
                                "thread that opened it");
  view_class
      .def(
          "__enter__", [](PyView& v) -> PyView& { return v; }, py::return_value_policy::reference,
          "Returns the view itself")
      .def(
          "__exit__", [](PyView& v, py::args) { v.close(); }, "Closes the view; returns None")
      .def("close", &PyView::close,
           "Closes the view (again: nothing); the ServiceVersions it returned stay readable as copies")
      .def_property_readonly("closed", self_getter(&PyView::closed), "True once the view is closed (bool)")
      .def_property_readonly(
          "generation", self_getter([](const PyView& v) { return v.get().generation(); }),
          "The arena generation this view reads (int)" ROSTER_VIEW_RAISES)
      .def_property_readonly(
          "revision", self_getter([](const PyView& v) { return v.get().revision(); }),
          "The upstream revision this generation mirrors (int)" ROSTER_VIEW_RAISES)
      .def_property_readonly(
          "store", self_getter([](const PyView& v) { return std::string(v.get().store()); }),
          "The upstream store the revision belongs to; revisions compare within one (str)" ROSTER_VIEW_RAISES)
      .def_property_readonly(
          "corrupt", self_getter([](const PyView& v) { return v.get().corrupt(); }),
          "True when a lookup met a damaged arena structure and returned nothing for it (bool)" ROSTER_VIEW_RAISES)
      .def_property_readonly(
          "staleness",
          self_getter([](const PyView& v) -> std::optional<double> {
            auto s = v.get().staleness();
            if (s == std::chrono::milliseconds::max()) return std::nullopt;
            return s.count() / 1000.0;
          }),
          "Seconds since the agent last heard from upstream (float), or None if it never did" ROSTER_VIEW_RAISES)
      .def_property_readonly(
          "evicted", self_getter([](const PyView& v) { return v.get().evicted(); }),
          "False while the view holds (bool); raises EvictedError once it was revoked (as it always did: "
          "tests/chaos/py_reader.py relies on that), Error if it is closed")
      .def(
          "services",
          [](const PyView& v) { return v.get().service_names(); },  // copied into str before the view moves on
          "The names of every service with a version in this generation, sorted (list of str); scans the whole "
          "service table" ROSTER_VIEW_RAISES)
      .def(
          "changed_since",
          [](const PyView& v, uint64_t generation) { return v.get().changed_since(generation); },
          py::arg("generation"),
          "Names of the services whose versions, instances or resolved dependencies changed (or that were "
          "removed) after `generation`, sorted (list of str); scans the whole service table" ROSTER_VIEW_RAISES)
      .def(
          "by_team",
          [](const PyView& v, const std::string& team) { return v.wrap_all(v.get().by_team(team).to_vector()); },
          py::arg("team"), "The versions the team owns (list of ServiceVersion)" ROSTER_VIEW_RAISES)
      .def(
          "by_tag", [](const PyView& v, const std::string& tag) { return v.wrap_all(v.get().by_tag(tag).to_vector()); },
          py::arg("tag"), "The versions with the tag (list of ServiceVersion)" ROSTER_VIEW_RAISES)
      .def(
          "by_stage",
          [](const PyView& v, const std::string& stage) {
            return v.wrap_all(v.get().by_stage(stage_of(stage)).to_vector());
          },
          py::arg("stage"),
          "The versions in the lifecycle stage (list of ServiceVersion); raises ValueError for an unknown "
          "stage, Error if the view is closed, EvictedError if it was revoked")
      .def(
          "__repr__",
          [](const PyView& v) {
            if (v.closed()) return std::string("<roster.View closed>");
            return "<roster.View generation " + std::to_string(v.open().generation()) + ">";
          },
          "'<roster.View generation N>', or '<roster.View closed>'")
      // Federation (docs/federation.md).
      .def(
          "registries",
          [](const PyView& v) {
            std::vector<PyRegistry> out;
            for (const roster::RegistryState& r : v.get().registries()) {
              std::optional<double> staleness;
              if (r.staleness != std::chrono::milliseconds::max()) staleness = r.staleness.count() / 1000.0;
              out.push_back({std::string(r.name), std::string(r.store), r.revision, staleness});
            }
            return out;
          },
          "The registries the arena mirrors, in the order plain names resolve (list of Registry; one, named '', "
          "when it is not federated)" ROSTER_VIEW_RAISES)
      .def(
          "where",
          [](const PyView& v, std::string_view name) {
            std::vector<std::string> out;
            for (auto r : v.get().where(name)) out.emplace_back(r);
            return out;
          },
          py::arg("name"),
          "The names of the registries that have a version of the service, the one that serves it first, then "
          "in the arena's order (list of str; [''] when the arena is not federated, [] when none has it)"
          ROSTER_VIEW_RAISES)
      .def(
          "in_registry",
          [](const PyView& v, const std::string& registry) {
            if (auto found = v.get().find_registry(registry); !found) throw roster::Exception(found.error());
            return PyRegistryView(v.state(), registry);
          },
          py::arg("registry"),
          "The lookups of one registry (a RegistryView), whether or not it serves the names by plain lookup; "
          "raises NotFoundError if the arena mirrors no registry of that name" ROSTER_VIEW_RAISES);
  def_lookups(view_class, [](const PyView& v) -> const roster::View& { return v.get(); });

  py::class_<PyRegistryView> registry_view_class(
      m, "RegistryView",
      "The lookups of one registry of a federated arena (View.in_registry), valid while its view is open; "
      "dependencies resolve within the registry");
  registry_view_class
      .def_property_readonly("name", self_getter(&PyRegistryView::name), "The registry's name (str)")
      .def(
          "__repr__", [](const PyRegistryView& r) { return "<roster.RegistryView " + r.name() + ">"; },
          "'<roster.RegistryView name>'");
  def_lookups(registry_view_class, [](const PyRegistryView& r) { return r.in(); });

  py::class_<PyRegistry>(m, "Registry", "One registry the arena mirrors, as a view saw it (View.registries)")
      .def_readonly("name", &PyRegistry::name, "Its name, '' when the arena is not federated (str)")
      .def_readonly("revision", &PyRegistry::revision,
                    "Its upstream revision at the view's generation; 0 when the view is too old to say (int)")
      .def_readonly("store", &PyRegistry::store, "The upstream store the revision belongs to (str)")
      .def_readonly("staleness", &PyRegistry::staleness,
                    "Seconds since the agent last heard from its upstream (float), or None if it never did")
      .def(
          "__repr__",
          [](const PyRegistry& r) {
            return "<roster.Registry " + (r.name.empty() ? std::string("''") : r.name) + " revision " +
                   std::to_string(r.revision) + ">";
          },
          "'<roster.Registry name revision N>'");

  py::class_<PyClient>(m, "Client",
                       "A read-only mapping of one arena (roster.open); share it between threads, close it (or use "
                       "with) when done")
      .def(
          "view",
          [](PyClient& c) {
            const auto& client = c.get();
            return PyView(client->view(), client);
          },
          "Pins the newest generation and returns it as a View (use it with `with`); raises Error if the client is "
          "closed or every reader slot of the arena is taken")
      .def_property_readonly(
          "generation", self_getter([](const PyClient& c) { return c.get()->generation(); }),
          "The newest published generation (int); raises Error if the client is closed")
      .def_property_readonly("name", self_getter(&PyClient::name), "The arena's name (str)")
      .def_property_readonly("closed", self_getter(&PyClient::closed), "True once close() was called (bool)")
      .def(
          "wait_for_change",
          [](PyClient& c, uint64_t generation, double timeout) {
            const std::shared_ptr<roster::Client> client = c.get();  // kept while the GIL is released
            py::gil_scoped_release release;
            return client->wait_for_change(generation, std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000)));
          },
          py::arg("generation"), py::arg("timeout") = 1.0,
          "Blocks until the generation differs from `generation` (True) or `timeout` seconds pass (False); raises "
          "Error if the client is closed")
      .def("wait", &wait_for_generation, py::arg("generation"), py::arg("timeout") = py::none(),
           "Blocks until the generation differs from `generation` (or a new agent replaced the arena) and returns "
           "None; raises TimeoutError after `timeout` seconds (None: no limit), Error if the client is closed")
      .def("close", &PyClient::close,
           "Closes the client (again: nothing); views still open keep the mapping until they close")
      .def(
          "__enter__", [](PyClient& c) -> PyClient& { return c; }, py::return_value_policy::reference,
          "Returns the client itself")
      .def(
          "__exit__", [](PyClient& c, py::args) { c.close(); }, "Closes the client; returns None")
      .def(
          "__repr__",
          [](const PyClient& c) {
            return "<roster.Client \"" + c.name() + "\"" + (c.closed() ? " closed" : "") + ">";
          },
          "'<roster.Client \"name\">', with ' closed' once closed");

#undef ROSTER_FIELD_RAISES
#undef ROSTER_VIEW_RAISES

  m.def(
      "open",
      [](const std::string& name) { return PyClient(roster::Client::open(name).value(), name); },
      py::arg("name") = "roster",
      "Maps the arena `name` read-only and returns a Client; raises NotFoundError if no agent created it, Error "
      "if it cannot be trusted or read");
}
