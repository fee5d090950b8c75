// The registries of a federated arena (docs/federation.md) as rosterctl's --shm reads show them:
// checking a --registry, the names one registry holds, `rosterctl where`, and status's table.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "roster/client.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::cli {

// True when `registry` is empty (the plain names) or one the arena mirrors; otherwise says which
// it mirrors and returns false.
bool known_registry(const View& view, std::string_view arena, std::string_view registry);

// The service names with a version in `registry` ("" : in any), sorted.
std::vector<std::string> arena_service_names(const View& view, std::string_view registry);

// When `registry` ("": any) has no version of `name`: says so, naming the registries that have
// it or else the nearest name, and returns true. Returns false when it has one.
bool explain_unknown_service(const View& view, std::string_view arena, std::string_view registry,
                             std::string_view name);

// Each registry's name, revision, store and staleness: a JSON array, or a table for people.
void write_registries(wire::JsonWriter& w, const View& view);
void print_registries(const View& view);

// Staleness as people read it: "12 ms", or "never heard from upstream".
std::string staleness_text(std::chrono::milliseconds staleness);

}  // namespace roster::cli
