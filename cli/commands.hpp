// rosterctl's command groups. Each add_* registers its subcommands on the app; a command's
// callback sets the process exit code through `exit_code`.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace roster::cli {

// Exit codes shared by every command: 0 ok / yes, 1 a negative answer or invalid input document,
// 2 bad usage or an argument that cannot be used (invalid version, unreadable file).
enum ExitCode { kOk = 0, kNo = 1, kUsage = 2 };

void add_semver_commands(CLI::App& app, int& exit_code);
void add_registry_commands(CLI::App& app, int& exit_code);
void add_server_commands(CLI::App& app, int& exit_code);
void add_deps_commands(CLI::App& app, int& exit_code);
void add_lifecycle_commands(CLI::App& app, int& exit_code);
void add_schema_commands(CLI::App& app, int& exit_code);
void add_contract_commands(CLI::App& app, int& exit_code);
void add_deploy_commands(CLI::App& app, int& exit_code);
void add_backup_commands(CLI::App& app, int& exit_code);
void add_watch_command(CLI::App& app, int& exit_code);
void add_instance_commands(CLI::App& app, int& exit_code);
void add_where_command(CLI::App& app, int& exit_code);
// Last: it reads the whole command tree built by the others.
void add_completion_command(CLI::App& app);

struct ServerOptions;
// DELETE an instance (`id`), or a version with its instances; shared by `deregister` and
// `instance deregister`. Returns the exit code.
int deregister(const ServerOptions& o, const std::string& name, const std::string& version, const std::string& id,
               bool force);

}  // namespace roster::cli
