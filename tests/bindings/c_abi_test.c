/* The C ABI, from C: every entry point and every error path, against real arenas kept by
 * arena_fixture, one of them federated.   c_abi_test FIXTURE REGISTRY.json EU_REGISTRY.json */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "roster/roster.h"

static int passed, failed;

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (cond) {                                                           \
      ++passed;                                                           \
    } else {                                                              \
      ++failed;                                                           \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, roster_last_error()); \
    }                                                                     \
  } while (0)

static int eq(roster_string s, const char* text) { return s.len == strlen(text) && memcmp(s.data, text, s.len) == 0; }

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static FILE* fixture;

static void command(const char* text) {
  fprintf(fixture, "%s\n", text);
  fflush(fixture);
}

static roster_client* open_when_ready(const char* name) {
  roster_client* client = NULL;
  for (int i = 0; i < 500 && roster_open(name, &client) != ROSTER_OK; ++i) sleep_ms(20);
  return client;
}

static uint64_t generation_of(roster_client* client) {
  roster_view v;
  uint64_t g = 0;
  if (roster_view_begin(client, &v) == ROSTER_OK) roster_view_generation(&v, &g);
  roster_view_end(&v);
  return g;
}

/* Sends a command and waits until the arena publishes a newer generation. */
static void command_and_wait(roster_client* client, const char* text) {
  const uint64_t before = generation_of(client);
  command(text);
  for (int i = 0; i < 100 && generation_of(client) == before; ++i) roster_wait_for_change(client, before, 50);
}

static void test_lookups(roster_client* client) {
  roster_view view;
  CHECK(roster_view_begin(client, &view) == ROSTER_OK);
  uint64_t generation = 0, revision = 0, staleness = 0;
  CHECK(roster_view_generation(&view, &generation) == ROSTER_OK && generation >= 2);
  CHECK(roster_view_revision(&view, &revision) == ROSTER_OK && revision > 0);
  CHECK(roster_view_staleness_ms(&view, &staleness) == ROSTER_OK && staleness < 600000);

  roster_service svc;
  CHECK(roster_service_get(&view, "user-service", 12, &svc) == ROSTER_OK);
  CHECK(eq(svc.version, "2.1.0"));
  CHECK(eq(svc.owner_team, "identity-team"));
  CHECK(svc.stage == ROSTER_STABLE);
  CHECK(svc.schema_format == 1 && svc.schema_document.len > 10 && svc.schema_hash != 0);
  CHECK(svc.record != NULL);
  CHECK(svc.tag_count > 0 && svc.endpoint_count > 0 && svc.dependency_count > 0);
  roster_string a, b, c;
  CHECK(roster_service_tag(&svc, 0, &a) == ROSTER_OK && a.len > 0);
  CHECK(roster_service_tag(&svc, svc.tag_count, &a) == ROSTER_E_INVALID_ARGUMENT);
  if (svc.label_count) CHECK(roster_service_label(&svc, 0, &a, &b) == ROSTER_OK && a.len > 0);
  CHECK(roster_service_label(&svc, svc.label_count, &a, &b) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_service_dependency(&svc, 0, &a, &b) == ROSTER_OK && eq(a, "auth-service"));
  CHECK(roster_service_endpoint(&svc, 0, &a, &b, &c) == ROSTER_OK && b.len > 0 && b.data[0] == '/');
  CHECK(roster_service_endpoint(&svc, 999, &a, &b, &c) == ROSTER_E_INVALID_ARGUMENT);

  CHECK(roster_service_get_version(&view, "user-service", 12, "1.0.0", 5, &svc) == ROSTER_OK);
  CHECK(svc.stage == ROSTER_DEPRECATED && svc.sunset_at_ms > svc.deprecated_at_ms && svc.deprecation_reason.len > 0);
  CHECK(roster_service_get_version(&view, "user-service", 12, "9.9.9", 5, &svc) == ROSTER_E_NOT_FOUND);
  CHECK(roster_service_get(&view, "no-such-service", 15, &svc) == ROSTER_E_NOT_FOUND);
  CHECK(strstr(roster_last_error(), "no-such-service") != NULL);

  /* instances: healthy ones are a subset, all UP */
  roster_instance_iter it;
  roster_instance inst;
  int all = 0, healthy = 0, rc;
  CHECK(roster_instances_begin(&view, "user-service", 12, NULL, 0, ROSTER_ALL, &it) == ROSTER_OK);
  while ((rc = roster_instances_next(&it, &inst)) == 1) {
    ++all;
    CHECK(inst.port > 0 && inst.address.len > 0 && eq(inst.service, "user-service"));
  }
  CHECK(rc == 0);
  CHECK(roster_instances_begin(&view, "user-service", 12, NULL, 0, ROSTER_HEALTHY, &it) == ROSTER_OK);
  while (roster_instances_next(&it, &inst) == 1) {
    ++healthy;
    CHECK(inst.health == ROSTER_UP);
  }
  CHECK(all > healthy && healthy > 0);
  CHECK(roster_instances_begin(&view, "user-service", 12, "2.1.0", 5, ROSTER_ALL, &it) == ROSTER_OK);
  CHECK(roster_instances_next(&it, &inst) == 1 && eq(inst.version, "2.1.0"));
  if (inst.metadata_count) CHECK(roster_instance_metadata(&inst, 0, &a, &b) == ROSTER_OK);
  CHECK(roster_instance_metadata(&inst, 999, &a, &b) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_instances_begin(&view, "user-service", 12, NULL, 0, 7, &it) == ROSTER_E_INVALID_ARGUMENT);

  /* secondary indexes */
  roster_service_iter sit;
  int n = 0;
  CHECK(roster_by_team(&view, "identity-team", 13, &sit) == ROSTER_OK);
  while (roster_service_iter_next(&sit, &svc) == 1) {
    ++n;
    CHECK(eq(svc.owner_team, "identity-team"));
  }
  CHECK(n >= 3);
  n = 0;
  CHECK(roster_by_stage(&view, ROSTER_DEPRECATED, &sit) == ROSTER_OK);
  while (roster_service_iter_next(&sit, &svc) == 1) {
    ++n;
    CHECK(svc.stage == ROSTER_DEPRECATED);
  }
  CHECK(n >= 2);
  CHECK(roster_by_stage(&view, 42, &sit) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_by_tag(&view, "no-such-tag", 11, &sit) == ROSTER_OK && roster_service_iter_next(&sit, &svc) == 0);

  /* dependencies and dependents */
  roster_dependency_iter* deps = NULL;
  roster_dependency dep;
  int direct = 0, transitive = 0;
  CHECK(roster_dependencies(&view, "api-gateway", 11, NULL, 0, ROSTER_DIRECT, &deps) == ROSTER_OK);
  while (roster_dependency_next(deps, &dep) == 1) {
    ++direct;
    CHECK(dep.resolved && dep.target.version.len > 0 && eq(dep.from.name, "api-gateway"));
  }
  roster_dependency_iter_free(deps);
  CHECK(roster_dependencies(&view, "api-gateway", 11, "1.0.0", 5, ROSTER_TRANSITIVE, &deps) == ROSTER_OK);
  while (roster_dependency_next(deps, &dep) == 1) ++transitive;
  roster_dependency_iter_free(deps);
  CHECK(direct >= 3 && transitive > direct);
  roster_service_list* list = NULL;
  n = 0;
  CHECK(roster_dependents(&view, "user-service", 12, ROSTER_DIRECT, &list) == ROSTER_OK);
  while (roster_service_list_next(list, &svc) == 1) ++n;
  roster_service_list_free(list);
  CHECK(n >= 2);

  /* NULL arguments */
  CHECK(roster_service_get(&view, NULL, 0, &svc) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_service_get(&view, "x", 1, NULL) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_view_generation(&view, NULL) == ROSTER_E_INVALID_ARGUMENT);

  roster_view_end(&view);
  /* an ended view is closed, and ending it again is harmless */
  CHECK(roster_service_get(&view, "user-service", 12, &svc) == ROSTER_E_CLOSED);
  CHECK(roster_view_generation(&view, &generation) == ROSTER_E_CLOSED);
  roster_view_end(&view);
}

/* In an arena that is not federated: one unnamed registry, and no registry to ask by name. */
static void test_unfederated_registries(roster_client* client) {
  roster_view view;
  CHECK(roster_view_begin(client, &view) == ROSTER_OK);
  roster_registry registries[ROSTER_MAX_REGISTRIES];
  size_t count = 99;
  CHECK(roster_view_registries(&view, registries, ROSTER_MAX_REGISTRIES, &count) == ROSTER_OK && count == 1);
  CHECK(eq(registries[0].name, "") && registries[0].revision > 0 && registries[0].staleness_ms < 600000);
  roster_string where[ROSTER_MAX_REGISTRIES];
  CHECK(roster_where(&view, "user-service", 12, where, ROSTER_MAX_REGISTRIES, &count) == ROSTER_OK && count == 1);
  CHECK(eq(where[0], ""));
  roster_service svc;
  roster_string registry;
  CHECK(roster_service_get(&view, "user-service", 12, &svc) == ROSTER_OK);
  CHECK(roster_service_registry(&view, &svc, &registry) == ROSTER_OK && eq(registry, ""));
  CHECK(roster_service_get_in(&view, "local", 5, "user-service", 12, &svc) == ROSTER_E_NOT_FOUND);
  CHECK(strstr(roster_last_error(), "not federated") != NULL);
  CHECK(roster_service_get_in(&view, "", 0, "user-service", 12, &svc) == ROSTER_E_NOT_FOUND);
  roster_view_end(&view);
}

static size_t count_instances(roster_instance_iter* it, const char* zone) {
  roster_instance inst;
  size_t n = 0;
  while (roster_instances_next(it, &inst) == 1) n += !zone || eq(inst.zone, zone);
  return n;
}

/* An arena of registries "local" (REGISTRY.json) and "eu" (EU_REGISTRY.json): user-service in both
   (2.1.0 locally, 3.0.0 in eu), billing only in eu, depending on eu's user-service. */
static void test_federated(roster_client* client) {
  roster_view view;
  CHECK(roster_view_begin(client, &view) == ROSTER_OK);

  roster_registry registries[ROSTER_MAX_REGISTRIES];
  size_t count = 0;
  CHECK(roster_view_registries(&view, registries, ROSTER_MAX_REGISTRIES, &count) == ROSTER_OK && count == 2);
  CHECK(eq(registries[0].name, "local") && eq(registries[1].name, "eu"));
  CHECK(eq(registries[0].store, "fixture-local") && eq(registries[1].store, "fixture-eu"));
  CHECK(registries[0].revision > 0 && registries[1].revision > 0 && registries[1].reserved[0] == 0);
  CHECK(registries[0].staleness_ms < 60000 && registries[1].staleness_ms < 60000);
  /* a short array: the count says how many there are */
  CHECK(roster_view_registries(&view, registries, 1, &count) == ROSTER_OK && count == 2);
  CHECK(roster_view_registries(&view, NULL, 0, &count) == ROSTER_OK && count == 2);

  /* plain names: the first registry that has the name serves it */
  roster_service svc;
  roster_string registry, where[ROSTER_MAX_REGISTRIES];
  CHECK(roster_service_get(&view, "user-service", 12, &svc) == ROSTER_OK && eq(svc.version, "2.1.0"));
  CHECK(roster_service_registry(&view, &svc, &registry) == ROSTER_OK && eq(registry, "local"));
  CHECK(roster_service_get(&view, "billing", 7, &svc) == ROSTER_OK && eq(svc.version, "1.2.0"));
  CHECK(roster_service_registry(&view, &svc, &registry) == ROSTER_OK && eq(registry, "eu"));
  CHECK(roster_where(&view, "user-service", 12, where, ROSTER_MAX_REGISTRIES, &count) == ROSTER_OK && count == 2);
  CHECK(eq(where[0], "local") && eq(where[1], "eu"));
  CHECK(roster_where(&view, "billing", 7, where, ROSTER_MAX_REGISTRIES, &count) == ROSTER_OK && count == 1);
  CHECK(eq(where[0], "eu"));
  CHECK(roster_where(&view, "no-such-service", 15, where, ROSTER_MAX_REGISTRIES, &count) == ROSTER_OK && count == 0);

  /* lookups in one registry */
  CHECK(roster_service_get_in(&view, "eu", 2, "user-service", 12, &svc) == ROSTER_OK);
  CHECK(eq(svc.version, "3.0.0") && eq(svc.owner_team, "eu-identity-team"));
  CHECK(roster_service_registry(&view, &svc, &registry) == ROSTER_OK && eq(registry, "eu"));
  CHECK(roster_service_get_in(&view, "local", 5, "user-service", 12, &svc) == ROSTER_OK && eq(svc.version, "2.1.0"));
  CHECK(roster_service_get_version_in(&view, "local", 5, "user-service", 12, "1.0.0", 5, &svc) == ROSTER_OK);
  CHECK(roster_service_registry(&view, &svc, &registry) == ROSTER_OK && eq(registry, "local"));
  CHECK(roster_service_get_version_in(&view, "eu", 2, "user-service", 12, "1.0.0", 5, &svc) == ROSTER_E_NOT_FOUND);
  CHECK(strstr(roster_last_error(), "in registry \"eu\"") != NULL);
  CHECK(roster_service_get_in(&view, "local", 5, "billing", 7, &svc) == ROSTER_E_NOT_FOUND);

  roster_instance_iter it;
  CHECK(roster_instances_begin_in(&view, "eu", 2, "user-service", 12, NULL, 0, ROSTER_ALL, &it) == ROSTER_OK);
  CHECK(count_instances(&it, "fra-1") == 1);
  CHECK(roster_instances_begin_in(&view, "eu", 2, "user-service", 12, "3.0.0", 5, ROSTER_HEALTHY, &it) == ROSTER_OK);
  CHECK(count_instances(&it, NULL) == 1);
  CHECK(roster_instances_begin_in(&view, "local", 5, "user-service", 12, NULL, 0, ROSTER_ALL, &it) == ROSTER_OK);
  CHECK(count_instances(&it, "fra-1") == 0);
  CHECK(roster_instances_begin_in(&view, "eu", 2, "user-service", 12, NULL, 0, 7, &it) == ROSTER_E_INVALID_ARGUMENT);

  /* dependencies resolve within the registry of the version that declares them */
  roster_dependency_iter* deps = NULL;
  roster_dependency dep;
  CHECK(roster_dependencies_in(&view, "eu", 2, "billing", 7, NULL, 0, ROSTER_DIRECT, &deps) == ROSTER_OK);
  CHECK(roster_dependency_next(deps, &dep) == 1 && dep.resolved && eq(dep.target.version, "3.0.0"));
  CHECK(roster_service_registry(&view, &dep.target, &registry) == ROSTER_OK && eq(registry, "eu"));
  CHECK(roster_dependency_next(deps, &dep) == 0);
  roster_dependency_iter_free(deps);
  CHECK(roster_dependencies_in(&view, "eu", 2, "billing", 7, "1.2.0", 5, ROSTER_TRANSITIVE, &deps) == ROSTER_OK);
  CHECK(roster_dependency_next(deps, &dep) == 1 && eq(dep.service, "user-service"));
  roster_dependency_iter_free(deps);
  roster_service_list* list = NULL;
  CHECK(roster_dependents_in(&view, "eu", 2, "user-service", 12, ROSTER_DIRECT, &list) == ROSTER_OK);
  CHECK(roster_service_list_next(list, &svc) == 1 && eq(svc.name, "billing"));
  CHECK(roster_service_list_next(list, &svc) == 0);
  roster_service_list_free(list);
  size_t local_dependents = 0;
  CHECK(roster_dependents_in(&view, "local", 5, "user-service", 12, ROSTER_DIRECT, &list) == ROSTER_OK);
  while (roster_service_list_next(list, &svc) == 1) local_dependents += !eq(svc.name, "billing");
  roster_service_list_free(list);
  CHECK(local_dependents >= 2);

  /* a registry the arena does not mirror is not found, whatever the lookup */
  CHECK(roster_service_get_in(&view, "us", 2, "user-service", 12, &svc) == ROSTER_E_NOT_FOUND);
  CHECK(strstr(roster_last_error(), "\"us\"") != NULL && strstr(roster_last_error(), "local, eu") != NULL);
  CHECK(roster_service_get_version_in(&view, "us", 2, "user-service", 12, "3.0.0", 5, &svc) == ROSTER_E_NOT_FOUND);
  CHECK(roster_instances_begin_in(&view, "us", 2, "user-service", 12, NULL, 0, ROSTER_ALL, &it) == ROSTER_E_NOT_FOUND);
  deps = (roster_dependency_iter*)1;
  CHECK(roster_dependencies_in(&view, "us", 2, "billing", 7, NULL, 0, ROSTER_DIRECT, &deps) == ROSTER_E_NOT_FOUND);
  CHECK(deps == NULL);
  CHECK(roster_dependents_in(&view, "e", 1, "user-service", 12, ROSTER_DIRECT, &list) == ROSTER_E_NOT_FOUND);

  /* NULL arguments */
  CHECK(roster_view_registries(&view, NULL, 2, &count) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_view_registries(&view, registries, 2, NULL) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_where(&view, NULL, 0, where, 2, &count) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_where(&view, "billing", 7, NULL, 2, &count) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_service_registry(&view, NULL, &registry) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_service_registry(&view, &svc, NULL) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_service_get_in(&view, NULL, 0, "billing", 7, &svc) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_service_get_in(&view, "eu", 2, NULL, 0, &svc) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_service_get_in(&view, "eu", 2, "billing", 7, NULL) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_service_get_version_in(&view, "eu", 2, "billing", 7, NULL, 0, &svc) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_instances_begin_in(&view, "eu", 2, "billing", 7, NULL, 0, ROSTER_ALL, NULL) ==
        ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_dependencies_in(&view, NULL, 0, "billing", 7, NULL, 0, ROSTER_DIRECT, &deps) ==
        ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_dependents_in(&view, "eu", 2, "billing", 7, ROSTER_DIRECT, NULL) == ROSTER_E_INVALID_ARGUMENT);

  /* a registry its agent has not heard from for two minutes is reported stale; the other is not */
  command("touch eu 120000");
  for (int i = 0; i < 250 && registries[1].staleness_ms < 120000; ++i) {
    sleep_ms(20);
    CHECK(roster_view_registries(&view, registries, ROSTER_MAX_REGISTRIES, &count) == ROSTER_OK);
  }
  CHECK(registries[1].staleness_ms >= 120000 && registries[1].staleness_ms < 180000);
  CHECK(registries[0].staleness_ms < 60000);
  roster_view_end(&view);
  /* an ended view */
  CHECK(roster_view_registries(&view, registries, 2, &count) == ROSTER_E_CLOSED);
  CHECK(roster_where(&view, "billing", 7, where, 2, &count) == ROSTER_E_CLOSED);
  CHECK(roster_service_get_in(&view, "eu", 2, "billing", 7, &svc) == ROSTER_E_CLOSED);
}

static void test_changes(roster_client* client) {
  roster_view view;
  roster_service svc;
  CHECK(roster_view_begin(client, &view) == ROSTER_OK);
  uint64_t generation;
  roster_view_generation(&view, &generation);
  CHECK(roster_wait_for_change(client, generation, 20) == ROSTER_E_TIMEOUT);
  command("remove legacy-api 1.0.0");
  CHECK(roster_wait_for_change(client, generation, 5000) == ROSTER_OK);
  /* the open view still sees its generation; a new one sees the change */
  CHECK(roster_service_get_version(&view, "legacy-api", 10, "1.0.0", 5, &svc) == ROSTER_OK);
  roster_view newer;
  CHECK(roster_view_begin(client, &newer) == ROSTER_OK);
  CHECK(roster_service_get_version(&newer, "legacy-api", 10, "1.0.0", 5, &svc) == ROSTER_E_NOT_FOUND);
  roster_view_end(&newer);
  roster_view_end(&view);
}

static void test_eviction(roster_client* client) {
  /* The fixture revokes pins older than 200 ms while it keeps publishing. */
  roster_view view;
  roster_service svc;
  CHECK(roster_view_begin(client, &view) == ROSTER_OK);
  command_and_wait(client, "churn 1");
  sleep_ms(400);
  command_and_wait(client, "churn 1");
  command_and_wait(client, "churn 1");
  CHECK(roster_service_get(&view, "user-service", 12, &svc) == ROSTER_E_EVICTED);
  CHECK(strstr(roster_last_error(), "revoked") != NULL);
  roster_view_end(&view);
  CHECK(roster_view_begin(client, &view) == ROSTER_OK);
  CHECK(roster_service_get(&view, "user-service", 12, &svc) == ROSTER_OK);
  roster_view_end(&view);
}

static void test_open_errors(void) {
  roster_client* client = (roster_client*)1;
  CHECK(roster_open("c-abi-no-such-arena", &client) == ROSTER_E_NO_ARENA && client == NULL);
  CHECK(strstr(roster_last_error(), "roster-agent") != NULL);
  CHECK(roster_open(NULL, &client) == ROSTER_E_INVALID_ARGUMENT);
  CHECK(roster_open("x", NULL) == ROSTER_E_INVALID_ARGUMENT);

  /* a segment of another layout version */
  char name[64], path[96];
  snprintf(name, sizeof name, "c-abi-layout-%d", (int)getpid());
  snprintf(path, sizeof path, "/roster.%s.data", name);
  int fd = shm_open(path, O_CREAT | O_RDWR | O_EXCL, 0600);
  CHECK(fd >= 0);
  unsigned char header[4096] = {0};
  const uint64_t magic = 0x3147455352545352ull; /* "RSTRSEG1" */
  const uint32_t layout = 999;
  memcpy(header, &magic, 8);
  memcpy(header + 8, &layout, 4);
  CHECK(write(fd, header, sizeof header) == (ssize_t)sizeof header);
  close(fd);
  CHECK(roster_open(name, &client) == ROSTER_E_LAYOUT);
  CHECK(strstr(roster_last_error(), "layout version 999") != NULL);
  shm_unlink(path);

  /* a closed client */
  roster_view view;
  CHECK(roster_view_begin(NULL, &view) == ROSTER_E_CLOSED);
  CHECK(roster_service_get(&view, "x", 1, NULL) == ROSTER_E_CLOSED);
  CHECK(roster_wait_for_change(NULL, 0, 1) == ROSTER_E_CLOSED);
  roster_close(NULL);

  for (int code = 0; code >= -11; --code) CHECK(roster_strerror(code) != NULL && roster_strerror(code)[0] != '\0');
}

/* Starts arena_fixture on arena `name` (extra: more arguments); it becomes the one command() drives. */
static FILE* start_fixture(const char* fixture_path, const char* name, const char* registry, const char* extra) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s' %s '%s' %s > /dev/null", fixture_path, name, registry, extra);
  fixture = popen(cmd, "w");
  if (!fixture) perror("popen");
  return fixture;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: c_abi_test FIXTURE REGISTRY.json EU_REGISTRY.json\n");
    return 2;
  }
  char name[64], extra[1024];
  snprintf(name, sizeof name, "c-abi-%d", (int)getpid());
  if (!start_fixture(argv[1], name, argv[2], "200")) return 2;
  roster_client* client = open_when_ready(name);
  CHECK(client != NULL);
  if (client) {
    test_lookups(client);
    test_unfederated_registries(client);
    test_changes(client);
    test_eviction(client);
    roster_close(&client);
    CHECK(client == NULL);
  }
  test_open_errors();
  command("quit");
  pclose(fixture);

  snprintf(name, sizeof name, "c-abi-fed-%d", (int)getpid());
  snprintf(extra, sizeof extra, "--federate 'eu=%s'", argv[3]);
  if (!start_fixture(argv[1], name, argv[2], extra)) return 2;
  client = open_when_ready(name);
  CHECK(client != NULL);
  if (client) {
    test_federated(client);
    roster_close(&client);
  }
  command("quit");
  pclose(fixture);
  printf("c_abi_test: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
