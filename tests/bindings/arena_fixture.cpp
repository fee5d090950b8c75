// A test arena fed from registry files, driven over stdin, for the C and Python binding tests:
//   arena_fixture NAME REGISTRY.json [MAX_PIN_AGE_MS]
// Commands, one per line: `load FILE` (upsert every record of FILE), `remove SERVICE VERSION`,
// `churn N` (N batches that re-register one instance), `quit`. Each command prints `ok GEN` or
// `error MESSAGE`. EOF or quit removes the arena's segments.
#include <iostream>
#include <sstream>

#include "roster/shm/batch_resolver.hpp"
#include "roster/shm/writer.hpp"
#include "roster/base/files.hpp"
#include "roster/wire/json_decoder.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: arena_fixture NAME REGISTRY.json [MAX_PIN_AGE_MS]\n";
    return 2;
  }
  roster::shm::ArenaOptions options;
  options.name = argv[1];
  options.segment_bytes = 32u << 20;
  if (argc > 3) options.max_pin_age = std::chrono::milliseconds(std::stoll(argv[3]));
  auto writer_owner = roster::shm::ArenaWriter::create(options).value();
  roster::shm::ArenaWriter& writer = *writer_owner;
  roster::shm::BatchResolver writer_resolver;  // what the server would send with each batch
  roster::wire::JsonDecoder decoder;
  roster::wire::DecodedDocument current;

  auto load = [&](const std::string& file) {
    current = decoder.decode(roster::base::read_file(file).value());
    if (!current.ok()) throw std::runtime_error(current.errors[0].to_string());
    roster::shm::Batch batch;
    batch.revision = writer.generation() + 100;
    for (size_t i = 0; i < current.services.size(); ++i) batch.upsert_versions.push_back(current.services[i]);
    for (size_t i = 0; i < current.instances.size(); ++i) batch.upsert_instances.push_back(current.instances[i]);
    for (size_t i = 0; i < current.contracts.size(); ++i) batch.upsert_contracts.push_back(current.contracts[i]);
    writer_resolver.apply(writer, batch).value();
  };

  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  int rc = 0;
  try {
    load(argv[2]);
    writer.touch_upstream(now_ms());
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
          load(file);
        } else if (command == "remove") {
          roster::shm::Batch batch;
          roster::shm::VersionKey key;
          in >> key.service >> key.version;
          batch.remove_versions.push_back(key);
          writer_resolver.apply(writer, batch).value();
        } else if (command == "churn") {
          int n = 1;
          in >> n;
          for (int i = 0; i < n; ++i) {
            roster::shm::Batch batch;
            if (!current.instances.empty()) batch.upsert_instances.push_back(current.instances[0]);
            writer_resolver.apply(writer, batch).value();
          }
        } else {
          throw std::runtime_error("unknown command \"" + command + "\"");
        }
        writer.touch_upstream(now_ms());
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
