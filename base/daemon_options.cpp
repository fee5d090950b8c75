#include "roster/base/daemon_options.hpp"

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include "roster/base/nearest.hpp"
#include "roster/base/version.hpp"

namespace roster {

namespace {

constexpr const char* kDaemons[] = {"roster-server", "roster-agent"};

// TOML/INI as CLI11 reads it, with roster's rules on top (see the header).
class StrictConfig : public CLI::ConfigTOML {
 public:
  StrictConfig(const CLI::App& app, std::string program) : app_(app), program_(std::move(program)) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> out;
    for (CLI::ConfigItem& item : CLI::ConfigTOML::from_config(input)) {
      const std::string section = CLI::detail::join(item.parents, ".");
      if (!section.empty()) {
        if (std::find(std::begin(kDaemons), std::end(kDaemons), section) == std::end(kDaemons))
          throw CLI::ConfigError("section [" + section + "] is not read: " + program_ + " reads keys at the top level and under [" +
                                 program_ + "]");
        if (section != program_) continue;  // the other daemon's part of a shared file
        item.parents.clear();
      }
      if (item.name == "++" || item.name == "--") continue;  // a section's start and end
      const std::string written = item.name;
      std::replace(item.name.begin(), item.name.end(), '_', '-');
      if (!app_.get_option_no_throw("--" + item.name))
        throw CLI::ConfigError("unknown key \"" + written + "\"" + suggestion(item.name));
      out.push_back(std::move(item));
    }
    return out;
  }

 private:
  std::string suggestion(const std::string& key) const {
    std::vector<std::string> names;
    for (const CLI::Option* option : app_.get_options())
      for (const std::string& name : option->get_lnames()) names.push_back(name);
    const std::string best = nearest(key, names);
    return best.empty() ? "" : " (did you mean \"" + best + "\"?)";
  }

  const CLI::App& app_;
  std::string program_;
};

}  // namespace

void add_daemon_options(CLI::App& app, const std::string& program, log::LogOptions& log) {
  app.name(program);
  static const std::map<std::string, spdlog::level::level_enum> kLevels{
      {"debug", spdlog::level::debug}, {"info", spdlog::level::info}, {"warn", spdlog::level::warn},
      {"error", spdlog::level::err}};
  app.add_option_function<std::string>(
         "--log-level", [&log](const std::string& level) { log.level = kLevels.at(level); },
         "Least severe log lines written: debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->default_str("info");
  app.add_option_function<std::string>(
         "--log-format", [&log](const std::string& format) { log.json = format == "json"; },
         "Log lines as text or json (one object per line: time, level, program, message)")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");
  app.set_config("--config", "", "Read options from a TOML/INI file: keys named like the flags (docs in README)");
  app.config_formatter(std::make_shared<StrictConfig>(app, program));
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.set_version_flag("--version", program + " " + kVersion);
}

std::optional<int> parse_daemon_options(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    CLI::Option* config = app.get_config_ptr();
    const bool from_file = dynamic_cast<const CLI::ConfigError*>(&e) || dynamic_cast<const CLI::FileError*>(&e);
    std::cerr << app.get_name() << ": ";
    if (from_file && config && config->count() > 0) std::cerr << "--config " << config->as<std::string>() << ": ";
    std::cerr << e.what() << "\n";
    return 2;
  }
}

}  // namespace roster
