// rosterctl: the command line for people and CI.
#include <iostream>

#include "commands.hpp"
#include "roster/base/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{"rosterctl: the roster service registry's command line", "rosterctl"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.set_version_flag("--version", std::string("rosterctl ") + roster::kVersion);
  int exit_code = roster::cli::kOk;
  roster::cli::add_semver_commands(app, exit_code);
  roster::cli::add_registry_commands(app, exit_code);
  roster::cli::add_server_commands(app, exit_code);
  roster::cli::add_deps_commands(app, exit_code);
  roster::cli::add_lifecycle_commands(app, exit_code);
  roster::cli::add_deploy_commands(app, exit_code);
  roster::cli::add_schema_commands(app, exit_code);
  roster::cli::add_contract_commands(app, exit_code);
  if (argc == 1) {  // alone: what it can do, rather than "a subcommand is required"
    std::cout << app.help();
    return roster::cli::kUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return roster::cli::kUsage;
  }
  return exit_code;
}
