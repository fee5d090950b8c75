// roster-gen: writes a deterministic generated registry, e.g.
//   roster-gen --services 100000 -o /tmp/registry-100k.json
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "registry_generator.hpp"

int main(int argc, char** argv) {
  roster::bench::GeneratorOptions o;
  std::string output = "-";
  CLI::App app{"roster-gen: generate a registry JSON document of any size"};
  app.add_option("--services", o.services, "Number of services")->capture_default_str();
  app.add_option("--versions", o.versions_per_service, "Versions per service")->capture_default_str();
  app.add_option("--instances", o.instances_per_version, "Instances per version")->capture_default_str();
  app.add_option("--dependencies", o.dependencies_per_version, "Dependencies per version")->capture_default_str();
  app.add_option("--seed", o.seed, "Random seed")->capture_default_str();
  bool no_schemas = false;
  app.add_flag("--no-schemas", no_schemas, "Leave out the OpenAPI documents");
  app.add_option("-o,--output", output, "Output file, - for stdout")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.schemas = !no_schemas;
  const std::string json = roster::bench::generate_registry_json(o);
  if (output == "-") {
    std::cout << json << "\n";
  } else {
    std::ofstream(output) << json << "\n";
  }
  return 0;
}
