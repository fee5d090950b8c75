// SemVer 2.0.0 versions and npm-style ranges.
//
// Precedence follows semver.org section 11: numeric core, then pre-release identifiers
// (numeric < alphanumeric, numeric compared as numbers, a shorter list is lower when equal so
// far), build metadata ignored. Ranges follow node-semver (non-loose): comparators, `^`, `~`,
// x-ranges (`1.x`, `1.2.*`, `*`, ``), hyphen ranges, space = AND, `||` = OR; a pre-release
// version satisfies a range only if some comparator in the same AND-set has a pre-release on the
// same major.minor.patch (unless include_prerelease is set).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "roster/base/result.hpp"

namespace roster::semver {

// One dot-separated pre-release identifier: numeric (no leading zeros) or alphanumeric.
struct Identifier {
  bool numeric = false;
  uint64_t number = 0;  // when numeric
  std::string text;     // always the identifier as written
  friend std::strong_ordering operator<=>(const Identifier& a, const Identifier& b);
  friend bool operator==(const Identifier& a, const Identifier& b) { return (a <=> b) == 0; }
};

struct Version {
  uint64_t major = 0, minor = 0, patch = 0;
  std::vector<Identifier> prerelease;
  std::string build;  // kept for printing; ignored by precedence

  bool is_prerelease() const { return !prerelease.empty(); }
  std::string to_string() const;

  // Strict SemVer 2.0.0 (no leading `v`, no leading zeros, no whitespace). On failure the error
  // (invalid_version) says what is wrong, e.g. "\"1.02.3\": leading zero in minor version".
  static Result<Version> parse(std::string_view text);

  // Precedence; build metadata is ignored, so 1.0.0+a == 1.0.0+b.
  friend std::strong_ordering operator<=>(const Version& a, const Version& b);
  friend bool operator==(const Version& a, const Version& b) { return (a <=> b) == 0; }
};

// Kind of change between two versions, by the first differing component.
enum class ChangeKind { None, Major, Minor, Patch, Prerelease };
ChangeKind change_kind(const Version& from, const Version& to);
std::string_view to_string(ChangeKind kind);

struct Comparator {
  enum class Op { Eq, Lt, Le, Gt, Ge };
  Op op = Op::Ge;
  Version version;
  bool test(const Version& v) const;
};

class Range {
 public:
  // Parses an npm-style range. On failure the error (invalid_range) says what and where.
  static Result<Range> parse(std::string_view text);

  // With include_prerelease, pre-releases match like other versions (node-semver's option of
  // that name, which also starts `1.x`-style lower bounds at -0).
  bool satisfies(const Version& v, bool include_prerelease = false) const;
  // The highest version in `versions` that satisfies the range, or nullptr.
  const Version* max_satisfying(std::span<const Version> versions, bool include_prerelease = false) const;

  const std::string& text() const { return text_; }
  // Normalized form, node-semver's `range.range`: ">=1.2.0 <2.0.0-0||>=3.0.0 <3.1.0-0", or "*"
  // for a range that matches every stable version.
  std::string to_string() const;

 private:
  std::string text_;
  std::vector<std::vector<Comparator>> sets_;  // OR of AND-sets; an empty AND-set matches all
  // The same range desugared as node-semver does with includePrerelease: lower bounds filled in
  // for partials (and a hyphen range's) end in `-0`, so `2.x` admits 2.0.0-pre.
  std::vector<std::vector<Comparator>> prerelease_sets_;
};

}  // namespace roster::semver
