// rosterctl: the command line for people and CI.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"
#include "roster/base/nearest.hpp"
#include "roster/base/version.hpp"

namespace {

// After a parse error: when an argument is a mistyped command ("lifecyle"), name the nearest one.
void suggest_command(const CLI::App& app, int argc, char** argv) {
  const CLI::App* at = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') continue;
    std::vector<std::string> names;
    for (const CLI::App* sub : at->get_subcommands({})) names.push_back(sub->get_name());
    if (names.empty()) return;
    if (std::find(names.begin(), names.end(), arg) != names.end()) {
      at = at->get_subcommand(arg);
      continue;
    }
    if (const std::string best = roster::nearest(arg, names); !best.empty())
      std::cerr << "rosterctl: unknown command \"" << arg << "\"; did you mean \"" << best << "\"?\n";
    return;
  }
}

// Some CLI11 versions print a bool flag's default after it in help ("--json{false}"): noise, as
// every flag is off unless given. Cleared on every flag of every command.
void clear_flag_defaults(CLI::App& app) {
  for (CLI::Option* opt : app.get_options({}))
    if (opt->get_expected_max() == 0) opt->default_str("");
  for (CLI::App* sub : app.get_subcommands({})) clear_flag_defaults(*sub);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rosterctl: the roster service registry's command line", "rosterctl"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.set_version_flag("--version", std::string("rosterctl ") + roster::kVersion);
  int exit_code = roster::cli::kOk;
  roster::cli::add_semver_commands(app, exit_code);
  roster::cli::add_registry_commands(app, exit_code);
  roster::cli::add_server_commands(app, exit_code);
  roster::cli::add_backup_commands(app, exit_code);
  roster::cli::add_deps_commands(app, exit_code);
  roster::cli::add_lifecycle_commands(app, exit_code);
  roster::cli::add_deploy_commands(app, exit_code);
  roster::cli::add_schema_commands(app, exit_code);
  roster::cli::add_contract_commands(app, exit_code);
  roster::cli::add_watch_command(app, exit_code);
  roster::cli::add_instance_commands(app, exit_code);
  roster::cli::add_where_command(app, exit_code);
  roster::cli::add_completion_command(app);
  clear_flag_defaults(app);
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
    suggest_command(app, argc, argv);
    return roster::cli::kUsage;
  }
  return exit_code;
}
