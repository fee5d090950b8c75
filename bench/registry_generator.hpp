// Deterministic registries of any size for benchmarks and scale tests: the same options always
// give the same document, byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace roster::bench {

struct GeneratorOptions {
  size_t services = 1000;
  size_t versions_per_service = 1;
  size_t instances_per_version = 10;
  size_t dependencies_per_version = 3;  // on other services, as npm-style ranges
  bool schemas = true;                  // a small OpenAPI document per version
  uint64_t seed = 42;
  size_t first_service = 0;  // names start at service_name(first_service): chunks of one big registry
};

// The i-th service's name (stable for a given index).
std::string service_name(size_t index);
// The index a name of service_name() was made from.
size_t service_index(std::string_view name);

// A registry document in the format of docs/registry-format.md.
std::string generate_registry_json(const GeneratorOptions& options);

// Service names in a shuffled order (for lookups with random keys), deterministic per seed.
std::vector<std::string> shuffled_service_names(size_t services, uint64_t seed);

}  // namespace roster::bench
