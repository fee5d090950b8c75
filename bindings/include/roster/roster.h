/*
 * roster.h: the C ABI of roster's shared-memory client.
 *
 * Read the registry the local roster-agent keeps in shared memory, in-process, with no copies:
 * every string is a pointer + length into shared memory, valid while the view it came from is
 * open. Functions return ROSTER_OK (0) or a negative ROSTER_E_* code; roster_strerror() says
 * what a code means and roster_last_error() gives the detail of this thread's last failure.
 * No C++ exception ever crosses this interface.
 *
 * Thread safety: a roster_client may be shared by threads (roster_view_begin and
 * roster_wait_for_change are thread-safe; roster_close is not: call it once, when no view is
 * open). A roster_view, and every iterator made from it, belongs to the thread that began it.
 *
 *   roster_client* client;
 *   if (roster_open("roster", &client) != ROSTER_OK) { fprintf(stderr, "%s\n", roster_last_error()); ... }
 *   roster_view view;
 *   roster_view_begin(client, &view);
 *   roster_instance_iter it;
 *   roster_instance inst;
 *   roster_instances_begin(&view, "user-service", 12, NULL, 0, ROSTER_HEALTHY, &it);
 *   while (roster_instances_next(&it, &inst) == 1) use(inst.address.data, inst.address.len, inst.port);
 *   roster_view_end(&view);
 *   roster_close(&client);
 */
#ifndef ROSTER_ROSTER_H
#define ROSTER_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes. */
#define ROSTER_OK 0
#define ROSTER_E_NO_ARENA (-1)         /* no arena of that name: is roster-agent running? */
#define ROSTER_E_NOT_FOUND (-2)        /* no such service, version or key in this view */
#define ROSTER_E_LAYOUT (-3)           /* the arena was written by an incompatible roster version */
#define ROSTER_E_IO (-4)               /* the arena could not be mapped */
#define ROSTER_E_INVALID_ARGUMENT (-5) /* a NULL pointer or an out-of-range value */
#define ROSTER_E_EVICTED (-6)          /* the view was held too long and its pin was revoked */
#define ROSTER_E_CLOSED (-7)           /* the client or view was closed (or never opened) */
#define ROSTER_E_NO_SLOT (-8)          /* every reader slot of the arena is taken */
#define ROSTER_E_TIMEOUT (-9)          /* roster_wait_for_change: nothing changed in time */
#define ROSTER_E_INTERNAL (-10)        /* a bug: please report it with roster_last_error() */

/* Lifecycle stages (wire/roster.fbs LifecycleStage). */
enum roster_stage {
  ROSTER_PROPOSED = 0, ROSTER_DEVELOPMENT, ROSTER_BETA, ROSTER_STABLE, ROSTER_DEPRECATED, ROSTER_SUNSET, ROSTER_RETIRED
};
/* Instance health (wire/roster.fbs Health). */
enum roster_health { ROSTER_UP = 0, ROSTER_DOWN, ROSTER_STARTING, ROSTER_OUT_OF_SERVICE };
enum roster_filter { ROSTER_ALL = 0, ROSTER_HEALTHY = 1 };
enum roster_depth { ROSTER_DIRECT = 0, ROSTER_TRANSITIVE = 1 };

/* A string in shared memory (not NUL-terminated). */
typedef struct roster_string {
  const char* data;
  size_t len;
} roster_string;

typedef struct roster_client roster_client; /* opaque */

/* A pinned generation. Caller-owned storage: declare one on the stack. */
typedef struct roster_view {
  uint64_t opaque[8];
} roster_view;

/* One version of a service. The counts go with roster_service_tag() and friends. */
typedef struct roster_service {
  roster_string name, version, owner_team, description, documentation_url, deprecation_reason;
  int stage; /* enum roster_stage */
  int64_t created_at_ms, updated_at_ms, deprecated_at_ms, sunset_at_ms; /* Unix ms; 0 = unset */
  uint64_t revision;
  int schema_format;            /* 0 none, 1 OpenAPI, 2 JSON Schema */
  roster_string schema_document; /* minified JSON */
  uint64_t schema_hash;         /* XXH3-64 of schema_document */
  size_t tag_count, label_count, dependency_count, endpoint_count;
  const void* record; /* the ServiceVersion FlatBuffer, for readers that use flatc's C or C++ API */
} roster_service;

typedef struct roster_instance {
  roster_string service, version, id, address, zone;
  uint16_t port, weight;
  int health; /* enum roster_health */
  int64_t lease_expires_at_ms; /* 0: the server keeps leases; an instance is here while its lease lives */
  size_t metadata_count;
  const void* record; /* the Instance FlatBuffer */
} roster_instance;

typedef struct roster_dependency {
  roster_service from;    /* the version that declares it */
  roster_string service;  /* declared service */
  roster_string range;    /* declared semver range */
  int resolved;           /* 1 if a registered version satisfies it */
  roster_service target;  /* the highest such version (when resolved) */
} roster_dependency;

/* Iterators: caller-owned storage, valid while their view is open. */
typedef struct roster_instance_iter {
  uint64_t opaque[8];
} roster_instance_iter;
typedef struct roster_service_iter {
  uint64_t opaque[16];
} roster_service_iter;
typedef struct roster_dependency_iter roster_dependency_iter; /* opaque; free with roster_dependency_iter_free */
typedef struct roster_service_list roster_service_list;       /* opaque; free with roster_service_list_free */

/* ---- client ------------------------------------------------------------------------------- */

/* Maps arena `name` read-only. On success *client is set; on failure it is NULL. */
int roster_open(const char* name, roster_client** client);
/* Unmaps and sets *client to NULL. Close every view first. */
void roster_close(roster_client** client);
/* Blocks until the generation differs from `generation`, at most timeout_ms:
   ROSTER_OK if it changed, ROSTER_E_TIMEOUT if not. */
int roster_wait_for_change(roster_client* client, uint64_t generation, uint32_t timeout_ms);

/* ---- views ---------------------------------------------------------------------------------- */

int roster_view_begin(roster_client* client, roster_view* view);
void roster_view_end(roster_view* view); /* safe on an ended view */
int roster_view_generation(const roster_view* view, uint64_t* generation);
int roster_view_revision(const roster_view* view, uint64_t* revision);
/* Milliseconds since the agent last heard from upstream; UINT64_MAX if it never did. */
int roster_view_staleness_ms(const roster_view* view, uint64_t* staleness_ms);

/* ---- services ------------------------------------------------------------------------------- */

/* The latest version by the lifecycle rule (docs/lifecycle.md): stable first, then deprecated or
   sunset, then beta; never proposed, development, retired or a pre-release tag. */
int roster_service_get(const roster_view* view, const char* name, size_t name_len, roster_service* out);
int roster_service_get_version(const roster_view* view, const char* name, size_t name_len, const char* version,
                               size_t version_len, roster_service* out);
int roster_service_tag(const roster_service* service, size_t index, roster_string* tag);
int roster_service_label(const roster_service* service, size_t index, roster_string* key, roster_string* value);
int roster_service_dependency(const roster_service* service, size_t index, roster_string* service_name,
                              roster_string* range);
int roster_service_endpoint(const roster_service* service, size_t index, roster_string* method, roster_string* path,
                            roster_string* description);

/* ---- instances ------------------------------------------------------------------------------ */

/* All instances of the service, or of one version (version NULL: all). */
int roster_instances_begin(const roster_view* view, const char* name, size_t name_len, const char* version,
                           size_t version_len, int filter, roster_instance_iter* iter);
/* 1: *out filled; 0: no more; < 0: error. */
int roster_instances_next(roster_instance_iter* iter, roster_instance* out);
int roster_instance_metadata(const roster_instance* instance, size_t index, roster_string* key, roster_string* value);

/* ---- secondary indexes ---------------------------------------------------------------------- */

/* The team / tag text must stay valid while the iterator is used. */
int roster_by_team(const roster_view* view, const char* team, size_t team_len, roster_service_iter* iter);
int roster_by_tag(const roster_view* view, const char* tag, size_t tag_len, roster_service_iter* iter);
int roster_by_stage(const roster_view* view, int stage, roster_service_iter* iter);
/* 1: *out filled; 0: no more; < 0: error. */
int roster_service_iter_next(roster_service_iter* iter, roster_service* out);

/* ---- dependencies (these allocate their result; free it) -------------------------------------- */

/* Of the latest version (version NULL) or the given one. */
int roster_dependencies(const roster_view* view, const char* name, size_t name_len, const char* version,
                        size_t version_len, int depth, roster_dependency_iter** iter);
int roster_dependency_next(roster_dependency_iter* iter, roster_dependency* out); /* 1, 0 or < 0 */
void roster_dependency_iter_free(roster_dependency_iter* iter);
/* Versions whose dependencies resolve to some version of `name`. */
int roster_dependents(const roster_view* view, const char* name, size_t name_len, int depth, roster_service_list** list);
int roster_service_list_next(roster_service_list* list, roster_service* out); /* 1, 0 or < 0 */
void roster_service_list_free(roster_service_list* list);

/* ---- federation (docs/federation.md) --------------------------------------------------------- */

/* An agent run with --federate mirrors several registries into one arena. The lookups above take a
   plain name and read it in the registry that serves it (the first, in the arena's order, that has
   it, unless the agent was told otherwise for that service); the *_in forms read one registry,
   named as roster_view_registries() names it. A registry the arena does not mirror (any name, in
   an arena that is not federated) is ROSTER_E_NOT_FOUND, as an unknown service is. */
#define ROSTER_MAX_REGISTRIES 8

typedef struct roster_registry {
  roster_string name;     /* "" for the one registry of an arena that is not federated */
  uint64_t revision;      /* its upstream revision at the view's generation; 0: the view is too old to say */
  roster_string store;    /* the upstream store that revision belongs to */
  uint64_t staleness_ms;  /* since the agent last heard from its upstream; UINT64_MAX if it never did */
  uint64_t reserved[4];   /* zero */
} roster_registry;

/* The registries the arena mirrors, in the order plain names resolve: fills out[0 .. min(capacity,
   *count)) and sets *count to how many there are (at most ROSTER_MAX_REGISTRIES). out may be NULL
   when capacity is 0. */
int roster_view_registries(const roster_view* view, roster_registry* out, size_t capacity, size_t* count);
/* The registries that have a version of `name`, the one that serves it first (then the arena's
   order): as above; *count is 0 when none has it. */
int roster_where(const roster_view* view, const char* name, size_t name_len, roster_string* registries,
                 size_t capacity, size_t* count);
/* The registry a service record of this view came from ("" when the arena is not federated);
   ROSTER_E_NOT_FOUND if the record is not one of the view's. */
int roster_service_registry(const roster_view* view, const roster_service* service, roster_string* registry);

int roster_service_get_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                          size_t name_len, roster_service* out);
int roster_service_get_version_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                                  size_t name_len, const char* version, size_t version_len, roster_service* out);
int roster_instances_begin_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                              size_t name_len, const char* version, size_t version_len, int filter,
                              roster_instance_iter* iter);
/* Dependencies resolve within the registry of the version that declares them. */
int roster_dependencies_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                           size_t name_len, const char* version, size_t version_len, int depth,
                           roster_dependency_iter** iter);
int roster_dependents_in(const roster_view* view, const char* registry, size_t registry_len, const char* name,
                         size_t name_len, int depth, roster_service_list** list);

/* ---- errors --------------------------------------------------------------------------------- */

const char* roster_strerror(int code);
/* The detail of this thread's last failing call ("" if none). Valid until its next call. */
const char* roster_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* ROSTER_ROSTER_H */
