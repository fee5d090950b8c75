// What roster-server and roster-agent share on their command lines: --version, --log-level,
// --log-format (text or json lines), and a config
// file (--config FILE, TOML or INI) read strictly. Its keys are the long flag names, at the top
// level or under a section named after the program ([roster-server], [roster-agent]: one file may
// hold both); snake_case spells the same key (cache_file = cache-file). An unknown key (with the
// nearest known one), another section, or a file that cannot be read is refused, naming it.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "roster/base/log.hpp"

namespace roster {

// Adds --config, --version and the log options (parsed into `log`) to `app`, the command line
// of `program`.
void add_daemon_options(CLI::App& app, const std::string& program, log::LogOptions& log);

// Parses the command line (and the config file). nullopt: go on; otherwise the exit code to end
// with at once: 0 after --help or --version, 2 for a bad flag or config file (said on stderr).
std::optional<int> parse_daemon_options(CLI::App& app, int argc, char** argv);

}  // namespace roster
