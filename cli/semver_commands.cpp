// rosterctl semver sort | satisfies | max
#include <algorithm>
#include <iostream>

#include "commands.hpp"
#include "roster/semver.hpp"
#include "roster/wire/json_writer.hpp"

namespace roster::cli {
namespace {

using semver::Range;
using semver::Version;

// Parses every argument; on the first invalid one prints why and returns false.
bool parse_versions(const std::vector<std::string>& texts, std::vector<Version>& out) {
  for (auto& text : texts) {
    auto v = Version::parse(text);
    if (!v) {
      std::cerr << "rosterctl: invalid version " << v.error().message << "\n";
      return false;
    }
    out.push_back(std::move(*v));
  }
  return true;
}

std::optional<Range> parse_range(const std::string& text) {
  auto r = Range::parse(text);
  if (!r) {
    std::cerr << "rosterctl: invalid range " << r.error().message << "\n";
    return std::nullopt;
  }
  return std::move(*r);
}

}  // namespace

void add_semver_commands(CLI::App& app, int& exit_code) {
  auto* group = app.add_subcommand("semver", "SemVer 2.0.0 versions and npm-style ranges");
  group->require_subcommand(1);

  struct Options {
    std::vector<std::string> versions;
    std::string version, range;
    bool include_prerelease = false;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();

  auto* sort = group->add_subcommand("sort", "Print versions in ascending precedence, one per line");
  sort->add_option("versions", opts->versions, "Versions to sort")->required();
  sort->add_flag("--json", opts->json, "Print a JSON array");
  sort->callback([opts, &exit_code] {
    std::vector<Version> versions;
    if (!parse_versions(opts->versions, versions)) return void(exit_code = kUsage);
    // Stable, so versions equal by precedence (differing only in build metadata) keep their order.
    std::vector<size_t> order(versions.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return versions[a] < versions[b]; });
    if (opts->json) {
      std::cout << "[";
      for (size_t i = 0; i < order.size(); ++i) std::cout << (i ? ", " : "") << '"' << opts->versions[order[i]] << '"';
      std::cout << "]\n";
    } else {
      for (size_t i : order) std::cout << opts->versions[i] << "\n";
    }
  });

  auto* satisfies = group->add_subcommand("satisfies", "Exit 0 if VERSION satisfies RANGE, 1 if not, 2 if invalid");
  satisfies->add_option("version", opts->version, "A version")->required();
  satisfies->add_option("range", opts->range, "An npm-style range, e.g. \"^1.2.0 || >=3.0.0\"")->required();
  satisfies->add_flag("--include-prerelease", opts->include_prerelease, "Let pre-releases match any range");
  satisfies->add_flag("--json", opts->json, "Print {\"version\", \"range\", \"satisfies\"}");
  satisfies->callback([opts, &exit_code] {
    std::vector<Version> v;
    if (!parse_versions({opts->version}, v)) return void(exit_code = kUsage);
    auto range = parse_range(opts->range);
    if (!range) return void(exit_code = kUsage);
    const bool yes = range->satisfies(v[0], opts->include_prerelease);
    if (opts->json) {
      std::string out;
      wire::JsonWriter(out).begin_object().key("version").string(opts->version).key("range").string(opts->range)
          .key("satisfies").boolean(yes).end_object();
      std::cout << out << "\n";
    } else {
      std::cout << (yes ? "yes" : "no") << "\n";
    }
    exit_code = yes ? kOk : kNo;
  });

  auto* max = group->add_subcommand("max", "Print the highest VERSION that satisfies RANGE (exit 1 if none)");
  max->add_option("range", opts->range, "An npm-style range")->required();
  max->add_option("versions", opts->versions, "Candidate versions")->required();
  max->add_flag("--include-prerelease", opts->include_prerelease, "Let pre-releases match any range");
  max->add_flag("--json", opts->json, "Print {\"range\", \"max\"} (max: null when none satisfies it)");
  max->callback([opts, &exit_code] {
    auto range = parse_range(opts->range);
    if (!range) return void(exit_code = kUsage);
    std::vector<Version> versions;
    if (!parse_versions(opts->versions, versions)) return void(exit_code = kUsage);
    const Version* best = range->max_satisfying(versions, opts->include_prerelease);
    if (opts->json) {
      std::string out;
      wire::JsonWriter w(out);
      w.begin_object().key("range").string(opts->range).key("max");
      if (best)
        w.string(opts->versions[static_cast<size_t>(best - versions.data())]);
      else
        w.null();
      w.end_object();
      std::cout << out << "\n";
      if (!best) exit_code = kNo;
      return;
    }
    if (!best) {
      std::cerr << "rosterctl: no version satisfies \"" << opts->range << "\"\n";
      return void(exit_code = kNo);
    }
    std::cout << opts->versions[static_cast<size_t>(best - versions.data())] << "\n";
  });
}

}  // namespace roster::cli
