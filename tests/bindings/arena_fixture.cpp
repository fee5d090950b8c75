// A test arena fed from registry files, driven over stdin, for the C and Python binding tests:
//   arena_fixture NAME REGISTRY.json [MAX_PIN_AGE_MS] [--federate REGISTRY=FILE]...
//                 [--prefer SERVICE=REGISTRY]...
// With --federate the arena is federated, as an agent run with --federate makes it: REGISTRY.json
// fills registry "local", each --federate one more registry, in the order given; --prefer is the
// agent's.
// Commands, one per line: `load FILE` (upsert every record of FILE into the first registry),
// `load-in REGISTRY FILE` (into that one), `remove SERVICE VERSION` (from the first registry),
// `churn N` (N batches that re-register one instance of the last file loaded, in its registry),
// `touch REGISTRY AGE_MS` (its upstream last heard from AGE_MS ago), `quit`. Each command prints
// `ok GEN` or `error MESSAGE`. EOF or quit removes the arena's segments.
#include <algorithm>
#include <iostream>
#include <sstream>

#include "roster/shm/batch_resolver.hpp"
#include "roster/shm/writer.hpp"
#include "roster/base/files.hpp"
#include "roster/wire/json_decoder.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: arena_fixture NAME REGISTRY.json [MAX_PIN_AGE_MS] [--federate REGISTRY=FILE]...\n";
    return 2;
  }
  roster::shm::ArenaOptions options;
  options.name = argv[1];
  options.segment_bytes = 32u << 20;
  // Every batch scans the readers' pins, as the eviction tests expect (the agent's upkeep timer,
  // which frees what waits between deferred reclaims, has no counterpart here).
  options.reclaim_interval = std::chrono::microseconds(0);
  std::vector<std::string> files{argv[2]};  // each registry's first file, in the arena's order
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--federate" || arg == "--prefer") && i + 1 < argc) {
      const std::string pair = argv[++i];
      const auto eq = pair.find('=');
      if (eq == std::string::npos) {
        std::cerr << "arena_fixture: " << arg << " " << pair << ": expected NAME=VALUE\n";
        return 2;
      }
      if (arg == "--prefer") {
        options.preferred[pair.substr(0, eq)] = pair.substr(eq + 1);
        continue;
      }
      if (options.registries.empty()) options.registries.push_back("local");
      options.registries.push_back(pair.substr(0, eq));
      files.push_back(pair.substr(eq + 1));
    } else {
      options.max_pin_age = std::chrono::milliseconds(std::stoll(arg));
    }
  }
  auto writer_owner = roster::shm::ArenaWriter::create(options).value();
  roster::shm::ArenaWriter& writer = *writer_owner;
  // What the server of each registry would send with each batch: dependencies resolve within one.
  std::vector<roster::shm::BatchResolver> resolvers(files.size());
  roster::wire::JsonDecoder decoder;
  roster::wire::DecodedDocument current;  // the last file loaded, into registry current_registry
  uint32_t current_registry = 0;

  auto registry_index = [&](const std::string& name) -> uint32_t {
    const auto at = std::find(options.registries.begin(), options.registries.end(), name);
    if (at == options.registries.end()) throw std::runtime_error("no registry \"" + name + "\"");
    return static_cast<uint32_t>(at - options.registries.begin());
  };
  auto load = [&](const std::string& file, uint32_t registry) {
    current = decoder.decode(roster::base::read_file(file).value());
    if (!current.ok()) throw std::runtime_error(current.errors[0].to_string());
    current_registry = registry;
    roster::shm::Batch batch;
    batch.revision = writer.generation() + 100;
    batch.registry = registry;
    for (size_t i = 0; i < current.services.size(); ++i) batch.upsert_versions.push_back(current.services[i]);
    for (size_t i = 0; i < current.instances.size(); ++i) batch.upsert_instances.push_back(current.instances[i]);
    for (size_t i = 0; i < current.contracts.size(); ++i) batch.upsert_contracts.push_back(current.contracts[i]);
    resolvers[registry].apply(writer, batch).value();
  };

  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  int rc = 0;
  try {
    // Each registry's store before its first batch, which publishes both.
    for (uint32_t r = 0; r < files.size(); ++r) {
      if (!options.registries.empty()) writer.set_store("fixture-" + options.registries[r], r).value();
      load(files[r], r);
      writer.touch_upstream(now_ms(), r);
    }
    std::cout << "ok " << writer.generation() << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream in(line);
      std::string command;
      in >> command;
      try {
        if (command == "quit") break;
        if (command == "load") {
          std::string file;
          in >> file;
          load(file, 0);
        } else if (command == "load-in") {
          std::string registry, file;
          in >> registry >> file;
          load(file, registry_index(registry));
        } else if (command == "touch") {
          std::string registry;
          int64_t age_ms = 0;
          in >> registry >> age_ms;
          writer.touch_upstream(now_ms() - age_ms, registry_index(registry));
          std::cout << "ok " << writer.generation() << std::endl;
          continue;  // the others' contact times stay as they were
        } else if (command == "remove") {
          roster::shm::Batch batch;
          roster::shm::VersionKey key;
          in >> key.service >> key.version;
          batch.remove_versions.push_back(key);
          resolvers[0].apply(writer, batch).value();
        } else if (command == "churn") {
          int n = 1;
          in >> n;
          for (int i = 0; i < n; ++i) {
            roster::shm::Batch batch;
            batch.registry = current_registry;
            if (!current.instances.empty()) batch.upsert_instances.push_back(current.instances[0]);
            resolvers[current_registry].apply(writer, batch).value();
          }
        } else {
          throw std::runtime_error("unknown command \"" + command + "\"");
        }
        for (uint32_t r = 0; r < files.size(); ++r) writer.touch_upstream(now_ms(), r);
        std::cout << "ok " << writer.generation() << std::endl;
      } catch (const std::exception& e) {
        std::cout << "error " << e.what() << std::endl;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "arena_fixture: " << e.what() << "\n";
    rc = 1;
  }
  writer.remove_segments();
  return rc;
}
