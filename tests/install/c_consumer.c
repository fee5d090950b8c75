/* An SDK user's C program, built against an installed roster only (pkg-config, or
 * find_package(roster) + roster::c): looks services up in a live arena.   c_consumer ARENA */
#include <stdio.h>
#include <string.h>

#include <roster/roster.h>

static int failed;

#define EXPECT(cond)                                                                     \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      ++failed;                                                                          \
      fprintf(stderr, "c_consumer: %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              roster_last_error());                                                      \
    }                                                                                    \
  } while (0)

static int eq(roster_string s, const char* text) { return s.len == strlen(text) && memcmp(s.data, text, s.len) == 0; }

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: c_consumer ARENA\n");
    return 2;
  }
  roster_client* client = NULL;
  if (roster_open(argv[1], &client) != ROSTER_OK) {
    fprintf(stderr, "c_consumer: %s\n", roster_last_error());
    return 1;
  }
  roster_view view;
  EXPECT(roster_view_begin(client, &view) == ROSTER_OK);

  roster_service svc;
  EXPECT(roster_service_get(&view, "user-service", 12, &svc) == ROSTER_OK);
  EXPECT(eq(svc.version, "2.1.0") && eq(svc.owner_team, "identity-team") && svc.stage == ROSTER_STABLE);
  EXPECT(roster_service_get(&view, "no-such-service", 15, &svc) == ROSTER_E_NOT_FOUND);

  roster_instance_iter it;
  roster_instance inst;
  int healthy = 0;
  EXPECT(roster_instances_begin(&view, "user-service", 12, NULL, 0, ROSTER_HEALTHY, &it) == ROSTER_OK);
  while (roster_instances_next(&it, &inst) == 1) {
    EXPECT(inst.health == ROSTER_UP && inst.port > 0 && inst.address.len > 0);
    if (healthy++ == 0)
      printf("c_consumer: user-service@2.1.0 at %.*s:%u\n", (int)inst.address.len, inst.address.data, (unsigned)inst.port);
  }
  EXPECT(healthy > 0);

  roster_view_end(&view);
  roster_close(&client);
  printf("c_consumer: %s, %d healthy instances\n", failed ? "FAILED" : "ok", healthy);
  return failed ? 1 : 0;
}
