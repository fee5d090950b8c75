/* What a proxy does on every request: resolve a service's healthy instances from the local
 * roster arena and pick one by weight. No syscall, no allocation, no copy per pick.
 *
 *   proxy_pick ARENA SERVICE [PICKS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "roster/roster.h"

#define MAX_CANDIDATES 256

typedef struct {
  roster_string address;
  uint16_t port;
  uint32_t cumulative_weight;
} candidate;

/* Weighted random choice over the healthy instances; returns the count of candidates. */
static int pick(const roster_view* view, const char* service, uint32_t* seed, candidate* chosen) {
  candidate c[MAX_CANDIDATES];
  int n = 0;
  uint32_t total = 0;
  roster_instance_iter it;
  roster_instance inst;
  if (roster_instances_begin(view, service, strlen(service), NULL, 0, ROSTER_HEALTHY, &it) != ROSTER_OK) return -1;
  while (n < MAX_CANDIDATES && roster_instances_next(&it, &inst) == 1) {
    if (inst.weight == 0) continue;
    total += inst.weight;
    c[n].address = inst.address;
    c[n].port = inst.port;
    c[n].cumulative_weight = total;
    ++n;
  }
  if (n == 0) return 0;
  *seed = *seed * 1103515245u + 12345u;
  const uint32_t r = (*seed >> 8) % total;
  for (int i = 0; i < n; ++i)
    if (r < c[i].cumulative_weight) {
      *chosen = c[i];
      break;
    }
  return n;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: proxy_pick ARENA SERVICE [PICKS]\n");
    return 2;
  }
  const long picks = argc > 3 ? atol(argv[3]) : 1000000;
  roster_client* client;
  int rc = roster_open(argv[1], &client);
  if (rc != ROSTER_OK) {
    fprintf(stderr, "proxy_pick: %s: %s\n", roster_strerror(rc), roster_last_error());
    return 1;
  }
  uint32_t seed = 42;
  long counts[MAX_CANDIDATES] = {0};
  roster_string names[MAX_CANDIDATES];
  uint16_t ports[MAX_CANDIDATES];
  int distinct = 0;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < picks; ++i) {
    roster_view view; /* one View per request: it pins the newest generation */
    if (roster_view_begin(client, &view) != ROSTER_OK) break;
    candidate chosen = {{NULL, 0}, 0, 0};
    int n = pick(&view, argv[2], &seed, &chosen);
    if (n <= 0) {
      roster_view_end(&view);
      fprintf(stderr, "proxy_pick: no healthy instance of %s\n", argv[2]);
      roster_close(&client);
      return 1;
    }
    int k = 0;
    while (k < distinct && !(ports[k] == chosen.port && names[k].len == chosen.address.len &&
                             memcmp(names[k].data, chosen.address.data, chosen.address.len) == 0))
      ++k;
    if (k == distinct && distinct < MAX_CANDIDATES) names[distinct] = chosen.address, ports[distinct++] = chosen.port;
    ++counts[k];
    roster_view_end(&view);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  const double ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (double)picks;
  printf("%ld picks of %s, %.0f ns each (view + healthy instances + weighted choice):\n", picks, argv[2], ns);
  /* Addresses point into the arena: print them only while it is mapped. */
  for (int k = 0; k < distinct; ++k)
    printf("  %.*s:%u  %5.1f%%\n", (int)names[k].len, names[k].data, ports[k], 100.0 * counts[k] / picks);
  roster_close(&client);
  return 0;
}
