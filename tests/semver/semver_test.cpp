// Tests for model/semver: SemVer 2.0.0 parsing and precedence (semver.org), npm-style ranges
// (cases from node-semver's test/fixtures range-parse, range-include and range-exclude, minus
// loose mode and leading-`v` ones), and the registry helpers built on them.
#include "roster/semver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace roster::semver {
namespace {

// The parse error's message, "" on success.
template <typename T>
std::string error_of(const Result<T>& r) {
  return r ? std::string() : r.error().message;
}

Version V(std::string_view text) {
  auto v = Version::parse(text);
  EXPECT_TRUE(v.has_value()) << error_of(v);
  return v ? *v : Version{};
}

Range R(std::string_view text) {
  auto r = Range::parse(text);
  EXPECT_TRUE(r.has_value()) << error_of(r);
  return r ? *r : *Range::parse("<0.0.0-0");
}

// ---------------------------------------------------------------------------------------------
// Version::parse: valid strings (semver.org's regex test list and more) round-trip exactly.

class ValidVersion : public ::testing::TestWithParam<const char*> {};

TEST_P(ValidVersion, ParsesAndRoundTrips) {
  auto v = Version::parse(GetParam());
  ASSERT_TRUE(v.has_value()) << error_of(v);
  EXPECT_EQ(v->to_string(), GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    SemverOrg, ValidVersion,
    ::testing::Values("0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid",
                      "1.0.0-alpha", "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.beta.1", "1.0.0-alpha.1",
                      "1.0.0-alpha0.valid", "1.0.0-alpha.0valid",
                      "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "1.0.0-rc.1+build.1",
                      "2.0.0-rc.1+build.123", "1.2.3-beta", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123", "1.0.0",
                      "2.0.0", "1.1.7", "2.0.0+build.1848", "2.0.1-alpha.1227", "1.0.0-alpha+beta",
                      "1.2.3----RC-SNAPSHOT.12.9.1--.12+788", "1.2.3----R-S.12.9.1--.12+meta",
                      "1.2.3----RC-SNAPSHOT.12.9.1--.12", "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
                      "999999999999999999.999999999999999999.99999999999999999", "1.0.0-0A.is.legal"));

INSTANTIATE_TEST_SUITE_P(
    EdgeCases, ValidVersion,
    ::testing::Values("0.0.0", "0.0.0-0", "18446744073709551615.18446744073709551615.18446744073709551615",
                      "1.0.0-18446744073709551615", "1.0.0+007",  // build identifiers may have leading zeros
                      "1.0.0-00a",                                // alphanumeric, so not a leading zero
                      "1.0.0--", "1.0.0-x.7.z.92", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85",
                      "1.0.0+21AF26D3----117B344092BD"));

TEST(VersionParse, Components) {
  Version v = V("1.22.333-alpha.1.0a+build.007");
  EXPECT_EQ(v.major, 1u);
  EXPECT_EQ(v.minor, 22u);
  EXPECT_EQ(v.patch, 333u);
  ASSERT_EQ(v.prerelease.size(), 3u);
  EXPECT_FALSE(v.prerelease[0].numeric);
  EXPECT_EQ(v.prerelease[0].text, "alpha");
  EXPECT_TRUE(v.prerelease[1].numeric);
  EXPECT_EQ(v.prerelease[1].number, 1u);
  EXPECT_EQ(v.prerelease[1].text, "1");
  EXPECT_FALSE(v.prerelease[2].numeric);  // digits then letters is alphanumeric
  EXPECT_EQ(v.prerelease[2].text, "0a");
  EXPECT_EQ(v.build, "build.007");
  EXPECT_TRUE(v.is_prerelease());
  EXPECT_FALSE(V("1.2.3+build").is_prerelease());

  Version max = V("18446744073709551615.0.0-18446744073709551615");
  EXPECT_EQ(max.major, 18446744073709551615u);
  EXPECT_EQ(max.prerelease.at(0).number, 18446744073709551615u);
}

TEST(VersionParse, ErrorIsOptional) {
  EXPECT_FALSE(Version::parse("1.2").has_value());
  EXPECT_FALSE(Range::parse(">=").has_value());
}

TEST(VersionParse, ToStringOfHandBuiltVersion) {
  Version v;
  v.major = 3;
  v.prerelease = {Identifier{true, 7, ""}, Identifier{false, 0, "rc"}};
  v.build = "b1";
  EXPECT_EQ(v.to_string(), "3.0.0-7.rc+b1");
}

// ---------------------------------------------------------------------------------------------
// Version::parse: invalid strings, and what the error says.

struct InvalidVersionCase {
  const char* text;
  const char* phrase;  // must appear in the error
};
std::ostream& operator<<(std::ostream& os, const InvalidVersionCase& c) { return os << '"' << c.text << '"'; }

class InvalidVersion : public ::testing::TestWithParam<InvalidVersionCase> {};

TEST_P(InvalidVersion, IsRejectedWithReason) {
  auto v = Version::parse(GetParam().text);
  EXPECT_FALSE(v.has_value());
  const std::string error = error_of(v);
  EXPECT_EQ(v.error().code, "invalid_version");
  EXPECT_NE(error.find(GetParam().phrase), std::string::npos) << "error was: " << error;
}

INSTANTIATE_TEST_SUITE_P(
    SemverOrg, InvalidVersion,
    ::testing::Values(
        InvalidVersionCase{"1", "expected MAJOR.MINOR.PATCH"}, InvalidVersionCase{"1.2", "expected MAJOR.MINOR.PATCH"},
        InvalidVersionCase{"1.2.3-0123", "leading zero in numeric pre-release identifier \"0123\""},
        InvalidVersionCase{"1.2.3-0123.0123", "leading zero in numeric pre-release identifier"},
        InvalidVersionCase{"1.1.2+.123", "empty build identifier"},
        InvalidVersionCase{"+invalid", "major version must be a number, found '+'"},
        InvalidVersionCase{"-invalid", "major version must be a number, found '-'"},
        InvalidVersionCase{"-invalid+invalid", "major version must be a number"},
        InvalidVersionCase{"-invalid.01", "major version must be a number"},
        InvalidVersionCase{"alpha", "major version must be a number, found 'a'"},
        InvalidVersionCase{"alpha.beta", "major version must be a number"},
        InvalidVersionCase{"alpha.beta.1", "major version must be a number"},
        InvalidVersionCase{"alpha.1", "major version must be a number"},
        InvalidVersionCase{"alpha+beta", "major version must be a number"},
        InvalidVersionCase{"alpha_beta", "major version must be a number"},
        InvalidVersionCase{"alpha.", "major version must be a number"},
        InvalidVersionCase{"alpha..", "major version must be a number"},
        InvalidVersionCase{"beta", "major version must be a number"},
        InvalidVersionCase{"1.0.0-alpha_beta", "invalid character '_' in pre-release"},
        InvalidVersionCase{"-alpha.", "major version must be a number"},
        InvalidVersionCase{"1.0.0-alpha..", "empty pre-release identifier"},
        InvalidVersionCase{"1.0.0-alpha..1", "empty pre-release identifier"},
        InvalidVersionCase{"1.0.0-alpha...1", "empty pre-release identifier"},
        InvalidVersionCase{"1.0.0-alpha.......1", "empty pre-release identifier"},
        InvalidVersionCase{"01.1.1", "leading zero in major version"},
        InvalidVersionCase{"1.01.1", "leading zero in minor version"},
        InvalidVersionCase{"1.1.01", "leading zero in patch version"},
        InvalidVersionCase{"1.2.3.DEV", "unexpected '.' after patch version"},
        InvalidVersionCase{"1.2-SNAPSHOT", "expected MAJOR.MINOR.PATCH"},
        InvalidVersionCase{"1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788", "unexpected '.' after patch version"},
        InvalidVersionCase{"1.2-RC-SNAPSHOT", "expected MAJOR.MINOR.PATCH"},
        InvalidVersionCase{"-1.0.3-gamma+b7718", "major version must be a number"},
        InvalidVersionCase{"+justmeta", "major version must be a number"},
        InvalidVersionCase{"9.8.7+meta+meta", "invalid character '+' in build metadata"},
        InvalidVersionCase{"9.8.7-whatever+meta+meta", "invalid character '+' in build metadata"},
        InvalidVersionCase{"99999999999999999999999.999999999999999999.99999999999999999", "major version is too large"},
        InvalidVersionCase{"99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1-------"
                           "-------------------------..12",
                           "major version is too large"}));

INSTANTIATE_TEST_SUITE_P(
    EdgeCases, InvalidVersion,
    ::testing::Values(
        InvalidVersionCase{"", "expected MAJOR.MINOR.PATCH"}, InvalidVersionCase{"1.2.", "empty patch version"},
        InvalidVersionCase{"1..3", "empty minor version"}, InvalidVersionCase{".1.2", "empty major version"},
        InvalidVersionCase{"1.2.3-", "empty pre-release identifier"},
        InvalidVersionCase{"1.2.3+", "empty build identifier"},
        InvalidVersionCase{"1.2.3-a+", "empty build identifier"},
        InvalidVersionCase{"1.2.3-a.", "empty pre-release identifier"},
        InvalidVersionCase{"1.2.3-01", "leading zero in numeric pre-release identifier \"01\""},
        InvalidVersionCase{"1.2.3-00", "leading zero in numeric pre-release identifier"},
        InvalidVersionCase{"00.0.0", "leading zero in major version"},
        InvalidVersionCase{"v1.2.3", "leading 'v' is not allowed"},
        InvalidVersionCase{"V1.2.3", "leading 'v' is not allowed"},
        InvalidVersionCase{"=1.2.3", "major version must be a number, found '='"},
        InvalidVersionCase{" 1.2.3", "found whitespace"}, InvalidVersionCase{"1.2.3 ", "unexpected whitespace"},
        InvalidVersionCase{"1.2.3\n", "unexpected whitespace"},
        InvalidVersionCase{"1.2.3-a b", "invalid character whitespace in pre-release"},
        InvalidVersionCase{"1.2.3-\xc3\xa9", "empty pre-release identifier"},
        InvalidVersionCase{"1.2.3-a\xc3\xa9", "invalid character byte 0xc3 in pre-release"},
        InvalidVersionCase{"1.2.x", "patch version must be a number, found 'x'"},
        InvalidVersionCase{"1.2.*", "patch version must be a number"},
        InvalidVersionCase{"1.2.3a", "unexpected 'a' after patch version"},
        InvalidVersionCase{"1a.2.3", "unexpected 'a' after major version"},
        InvalidVersionCase{"1.2.3_4", "unexpected '_' after patch version"},
        InvalidVersionCase{"18446744073709551616.0.0", "major version is too large"},
        InvalidVersionCase{"0.18446744073709551616.0", "minor version is too large"},
        InvalidVersionCase{"0.0.99999999999999999999", "patch version is too large"},
        InvalidVersionCase{"1.0.0-18446744073709551616", "numeric pre-release identifier \"18446744073709551616\" is too large"}));

TEST(VersionParse, ErrorQuotesTheInput) {
 EXPECT_EQ(error_of(Version::parse("1.02.3")), "\"1.02.3\": leading zero in minor version");
  EXPECT_EQ(error_of(Version::parse("1.2")), "\"1.2\": expected MAJOR.MINOR.PATCH");
  EXPECT_EQ(error_of(Version::parse("1.2.3-")), "\"1.2.3-\": empty pre-release identifier");
  EXPECT_EQ(error_of(Version::parse("1.2.3-\"\n")), "\"1.2.3-\\\"\\x0a\": empty pre-release identifier");  // stays one line
}

// ---------------------------------------------------------------------------------------------
// Precedence (semver.org section 11).

void ExpectAscending(const std::vector<const char*>& texts) {
  for (size_t i = 0; i < texts.size(); ++i) {
    for (size_t j = 0; j < texts.size(); ++j) {
      const Version a = V(texts[i]), b = V(texts[j]);
      EXPECT_EQ(a <=> b, i <=> j) << texts[i] << " vs " << texts[j];
      EXPECT_EQ(a == b, i == j) << texts[i] << " vs " << texts[j];
    }
  }
}

TEST(Precedence, SpecCoreExample) { ExpectAscending({"1.0.0", "2.0.0", "2.1.0", "2.1.1"}); }

TEST(Precedence, SpecPrereleaseBelowRelease) { ExpectAscending({"1.0.0-alpha", "1.0.0"}); }

TEST(Precedence, SpecPrereleaseExample) {
  ExpectAscending({"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
                   "1.0.0-rc.1", "1.0.0"});
}

TEST(Precedence, NumbersAreComparedNumerically) {
  ExpectAscending({"0.0.9", "0.0.10", "0.9.0", "0.10.0", "9.0.0", "10.0.0", "18446744073709551615.0.0"});
  ExpectAscending({"1.0.0-2", "1.0.0-10", "1.0.0-rc.9", "1.0.0-rc.10", "1.0.0-rc.18446744073709551615"});
}

TEST(Precedence, IdentifierRules) {
  // Numeric below alphanumeric; ASCII order for alphanumerics; a longer list wins a tie.
  ExpectAscending({"1.0.0-0", "1.0.0-999", "1.0.0-0a", "1.0.0-A", "1.0.0-Z", "1.0.0-a", "1.0.0-a.0", "1.0.0-a.a",
                   "1.0.0-a.a.a", "1.0.0-a-", "1.0.0-b"});
  ExpectAscending({"1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta-2"});
  // 0.0.0-0 is the lowest possible version.
  ExpectAscending({"0.0.0-0", "0.0.0-0.0", "0.0.0-1", "0.0.0", "0.0.1-0"});
}

TEST(Precedence, BuildMetadataIsIgnored) {
  EXPECT_EQ(V("1.0.0+a"), V("1.0.0+b"));
  EXPECT_EQ(V("1.0.0+a") <=> V("1.0.0"), std::strong_ordering::equal);
  EXPECT_EQ(V("1.0.0-rc.1+x"), V("1.0.0-rc.1+y.z"));
  EXPECT_LT(V("1.0.0-rc.1+zzz"), V("1.0.0+aaa"));
  EXPECT_NE(V("1.0.0+a").to_string(), V("1.0.0+b").to_string());
}

TEST(Precedence, IdentifierOrdering) {
  const Identifier two{true, 2, "2"}, ten{true, 10, "10"}, a{false, 0, "a"}, b{false, 0, "b"}, big{false, 0, "B"};
  EXPECT_LT(two, ten);
  EXPECT_LT(ten, a);  // numeric < alphanumeric, whatever the digits
  EXPECT_LT(a, b);
  EXPECT_LT(big, a);  // ASCII: upper case first
  EXPECT_EQ(two, (Identifier{true, 2, "2"}));
  EXPECT_NE(two, (Identifier{false, 0, "2x"}));
}

TEST(Precedence, SortingAShuffledListIsNotStringOrder) {
  const std::vector<const char*> ascending = {
      "0.0.0-0",      "0.0.0",        "0.0.1",      "0.1.0",         "0.9.0",         "0.10.0",
      "1.0.0-0",      "1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
      "1.0.0-beta.11", "1.0.0-rc.1",  "1.0.0-rc.9", "1.0.0-rc.10",   "1.0.0",         "1.0.1",
      "1.2.0",        "1.9.0",        "1.10.0",     "1.10.1",        "2.0.0-rc.1",    "2.0.0",
      "9.9.9",        "10.0.0",       "100.0.0",    "18446744073709551615.0.0"};
  std::vector<Version> versions;
  for (const char* t : ascending) versions.push_back(V(t));
  std::mt19937 rng(20240501);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(versions.begin(), versions.end(), rng);
    std::sort(versions.begin(), versions.end());
    std::vector<std::string> got;
    for (const Version& v : versions) got.push_back(v.to_string());
    ASSERT_EQ(got, std::vector<std::string>(ascending.begin(), ascending.end()));
  }
}

// ---------------------------------------------------------------------------------------------
// change_kind.

struct ChangeCase {
  const char* from;
  const char* to;
  ChangeKind kind;
  const char* name;
};
std::ostream& operator<<(std::ostream& os, const ChangeCase& c) { return os << c.from << " -> " << c.to; }

class Change : public ::testing::TestWithParam<ChangeCase> {};

TEST_P(Change, KindAndName) {
  EXPECT_EQ(change_kind(V(GetParam().from), V(GetParam().to)), GetParam().kind);
  EXPECT_EQ(to_string(change_kind(V(GetParam().from), V(GetParam().to))), GetParam().name);
}

INSTANTIATE_TEST_SUITE_P(
    All, Change,
    ::testing::Values(ChangeCase{"1.2.3", "2.0.0", ChangeKind::Major, "major"},
                      ChangeCase{"2.0.0", "1.9.9", ChangeKind::Major, "major"},  // downgrades too
                      ChangeCase{"1.2.3", "2.2.3", ChangeKind::Major, "major"},
                      ChangeCase{"1.2.3-rc.1", "2.0.0", ChangeKind::Major, "major"},
                      ChangeCase{"1.2.3", "1.3.0", ChangeKind::Minor, "minor"},
                      ChangeCase{"1.2.3", "1.3.3-beta", ChangeKind::Minor, "minor"},
                      ChangeCase{"1.2.3", "1.2.4", ChangeKind::Patch, "patch"},
                      ChangeCase{"1.2.3-alpha", "1.2.4-alpha", ChangeKind::Patch, "patch"},
                      ChangeCase{"1.2.3-alpha", "1.2.3-beta", ChangeKind::Prerelease, "prerelease"},
                      ChangeCase{"1.2.3-alpha", "1.2.3", ChangeKind::Prerelease, "prerelease"},
                      ChangeCase{"1.2.3", "1.2.3-alpha", ChangeKind::Prerelease, "prerelease"},
                      ChangeCase{"1.2.3-alpha", "1.2.3-alpha.1", ChangeKind::Prerelease, "prerelease"},
                      ChangeCase{"1.2.3", "1.2.3", ChangeKind::None, "none"},
                      ChangeCase{"1.2.3+a", "1.2.3+b", ChangeKind::None, "none"},
                      ChangeCase{"1.2.3-rc.1+a", "1.2.3-rc.1", ChangeKind::None, "none"}));

// ---------------------------------------------------------------------------------------------
// Range::to_string: the normalized form, node-semver's `range.range` (`*` when it is empty).

struct NormalizeCase {
  const char* range;
  const char* normalized;
};
std::ostream& operator<<(std::ostream& os, const NormalizeCase& c) { return os << '"' << c.range << '"'; }

class Normalize : public ::testing::TestWithParam<NormalizeCase> {};

TEST_P(Normalize, ToString) {
  const Range r = R(GetParam().range);
  EXPECT_EQ(r.to_string(), GetParam().normalized);
  EXPECT_EQ(r.text(), GetParam().range);
  // The normalized form means the same thing (node-semver's "parsing both yields same result").
  EXPECT_EQ(R(r.to_string()).to_string(), r.to_string());
}

// node-semver test/fixtures/range-parse.js (non-loose entries).
INSTANTIATE_TEST_SUITE_P(
    NodeSemverFixtures, Normalize,
    ::testing::Values(
        NormalizeCase{"1.0.0 - 2.0.0", ">=1.0.0 <=2.0.0"}, NormalizeCase{"1 - 2", ">=1.0.0 <3.0.0-0"},
        NormalizeCase{"1.0 - 2.0", ">=1.0.0 <2.1.0-0"}, NormalizeCase{"1.0.0", "1.0.0"}, NormalizeCase{">=*", "*"},
        NormalizeCase{"", "*"}, NormalizeCase{"*", "*"}, NormalizeCase{">=1.0.0", ">=1.0.0"},
        NormalizeCase{">1.0.0", ">1.0.0"}, NormalizeCase{"<=2.0.0", "<=2.0.0"}, NormalizeCase{"1", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"<2.0.0", "<2.0.0"}, NormalizeCase{">= 1.0.0", ">=1.0.0"}, NormalizeCase{">=  1.0.0", ">=1.0.0"},
        NormalizeCase{">=   1.0.0", ">=1.0.0"}, NormalizeCase{"> 1.0.0", ">1.0.0"}, NormalizeCase{">  1.0.0", ">1.0.0"},
        NormalizeCase{"<=   2.0.0", "<=2.0.0"}, NormalizeCase{"<= 2.0.0", "<=2.0.0"},
        NormalizeCase{"<=  2.0.0", "<=2.0.0"}, NormalizeCase{"<    2.0.0", "<2.0.0"},
        NormalizeCase{"<\t2.0.0", "<2.0.0"}, NormalizeCase{">=0.1.97", ">=0.1.97"},
        NormalizeCase{"0.1.20 || 1.2.4", "0.1.20||1.2.4"}, NormalizeCase{">=0.2.3 || <0.0.1", ">=0.2.3||<0.0.1"},
        NormalizeCase{"||", "*"}, NormalizeCase{"2.x.x", ">=2.0.0 <3.0.0-0"},
        NormalizeCase{"1.2.x", ">=1.2.0 <1.3.0-0"},
        NormalizeCase{"1.2.x || 2.x", ">=1.2.0 <1.3.0-0||>=2.0.0 <3.0.0-0"}, NormalizeCase{"x", "*"},
        NormalizeCase{"2.*.*", ">=2.0.0 <3.0.0-0"}, NormalizeCase{"1.2.*", ">=1.2.0 <1.3.0-0"},
        NormalizeCase{"1.2.* || 2.*", ">=1.2.0 <1.3.0-0||>=2.0.0 <3.0.0-0"}, NormalizeCase{"2", ">=2.0.0 <3.0.0-0"},
        NormalizeCase{"2.3", ">=2.3.0 <2.4.0-0"}, NormalizeCase{"~2.4", ">=2.4.0 <2.5.0-0"},
        NormalizeCase{"~>3.2.1", ">=3.2.1 <3.3.0-0"}, NormalizeCase{"~1", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"~>1", ">=1.0.0 <2.0.0-0"}, NormalizeCase{"~> 1", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"~1.0", ">=1.0.0 <1.1.0-0"}, NormalizeCase{"~ 1.0", ">=1.0.0 <1.1.0-0"},
        NormalizeCase{"^0", "<1.0.0-0"}, NormalizeCase{"^ 1", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"^0.1", ">=0.1.0 <0.2.0-0"}, NormalizeCase{"^1.0", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"^1.2", ">=1.2.0 <2.0.0-0"}, NormalizeCase{"^0.0.1", ">=0.0.1 <0.0.2-0"},
        NormalizeCase{"^0.0.1-beta", ">=0.0.1-beta <0.0.2-0"}, NormalizeCase{"^0.1.2", ">=0.1.2 <0.2.0-0"},
        NormalizeCase{"^1.2.3", ">=1.2.3 <2.0.0-0"}, NormalizeCase{"^1.2.3-beta.4", ">=1.2.3-beta.4 <2.0.0-0"},
        NormalizeCase{"<1", "<1.0.0-0"}, NormalizeCase{"< 1", "<1.0.0-0"}, NormalizeCase{">=1", ">=1.0.0"},
        NormalizeCase{">= 1", ">=1.0.0"}, NormalizeCase{"<1.2", "<1.2.0-0"}, NormalizeCase{"< 1.2", "<1.2.0-0"},
        NormalizeCase{"^ 1.2 ^ 1", ">=1.2.0 <2.0.0-0 >=1.0.0"}, NormalizeCase{"1.2 - 3.4.5", ">=1.2.0 <=3.4.5"},
        NormalizeCase{"1.2.3 - 3.4", ">=1.2.3 <3.5.0-0"}, NormalizeCase{"1.2 - 3.4", ">=1.2.0 <3.5.0-0"},
        NormalizeCase{">1", ">=2.0.0"}, NormalizeCase{">1.2", ">=1.3.0"}, NormalizeCase{">X", "<0.0.0-0"},
        NormalizeCase{"<X", "<0.0.0-0"}, NormalizeCase{"<x <* || >* 2.x", "<0.0.0-0"},
        NormalizeCase{">x 2.x || * || <x", "*"}));

// The forms listed in node-semver's README, and the clean-ups its parseRange does.
INSTANTIATE_TEST_SUITE_P(
    ReadmeForms, Normalize,
    ::testing::Values(
        NormalizeCase{"1.2.3", "1.2.3"}, NormalizeCase{"=1.2.3", "1.2.3"}, NormalizeCase{"= 1.2.3", "1.2.3"},
        NormalizeCase{"1.2.3+build.5", "1.2.3"}, NormalizeCase{">=1.2.3-rc.1+b", ">=1.2.3-rc.1"},
        NormalizeCase{">=1.2.7 <1.3.0", ">=1.2.7 <1.3.0"},
        NormalizeCase{"1.2.7 || >=1.2.9 <2.0.0", "1.2.7||>=1.2.9 <2.0.0"},
        NormalizeCase{"1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"}, NormalizeCase{"1.2 - 2.3.4", ">=1.2.0 <=2.3.4"},
        NormalizeCase{"1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"}, NormalizeCase{"1.2.3 - 2", ">=1.2.3 <3.0.0-0"},
        NormalizeCase{"1.2.3-beta.1 - 2.0.0-rc.1+b", ">=1.2.3-beta.1 <=2.0.0-rc.1"},
        NormalizeCase{"* - 2", "<3.0.0-0"}, NormalizeCase{"1.2.3 - *", ">=1.2.3"}, NormalizeCase{"* - x", "*"},
        NormalizeCase{"0 - 1", "<2.0.0-0"},  // >=0.0.0 is dropped as `*`
        NormalizeCase{"X", "*"}, NormalizeCase{"1.x", ">=1.0.0 <2.0.0-0"}, NormalizeCase{"1.X", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"1.x.x", ">=1.0.0 <2.0.0-0"}, NormalizeCase{"1.x+build", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"1.2+build", ">=1.2.0 <1.3.0-0"}, NormalizeCase{"x+b", "*"}, NormalizeCase{"^1+b", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"1.2.x-beta+b", ">=1.2.0 <1.3.0-0"}, NormalizeCase{"0.x", "<1.0.0-0"},
        NormalizeCase{"0.0.x", "<0.1.0-0"}, NormalizeCase{"=1.2.x", ">=1.2.0 <1.3.0-0"},
        NormalizeCase{"~1.2.3", ">=1.2.3 <1.3.0-0"}, NormalizeCase{"~1.2", ">=1.2.0 <1.3.0-0"},
        NormalizeCase{"~1.2.x", ">=1.2.0 <1.3.0-0"}, NormalizeCase{"~1.x", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"~0.2.3", ">=0.2.3 <0.3.0-0"}, NormalizeCase{"~0.2", ">=0.2.0 <0.3.0-0"},
        NormalizeCase{"~0", "<1.0.0-0"}, NormalizeCase{"~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0"},
        NormalizeCase{"~>1.2", ">=1.2.0 <1.3.0-0"}, NormalizeCase{"~*", "*"}, NormalizeCase{"~>x", "*"},
        NormalizeCase{"^1.2.x", ">=1.2.0 <2.0.0-0"}, NormalizeCase{"^0.2.3", ">=0.2.3 <0.3.0-0"},
        NormalizeCase{"^0.0.3", ">=0.0.3 <0.0.4-0"}, NormalizeCase{"^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0"},
        NormalizeCase{"^0.0.3-beta", ">=0.0.3-beta <0.0.4-0"}, NormalizeCase{"^0.2.3-beta", ">=0.2.3-beta <0.3.0-0"},
        NormalizeCase{"^0.0.x", "<0.1.0-0"}, NormalizeCase{"^0.0", "<0.1.0-0"}, NormalizeCase{"^1.x", ">=1.0.0 <2.0.0-0"},
        NormalizeCase{"^0.x", "<1.0.0-0"}, NormalizeCase{"^0.0.0", "<0.0.1-0"}, NormalizeCase{"^*", "*"},
        NormalizeCase{">1.2.3", ">1.2.3"}, NormalizeCase{">1.x", ">=2.0.0"}, NormalizeCase{">=1.2", ">=1.2.0"},
        NormalizeCase{"<=1.2", "<1.3.0-0"}, NormalizeCase{"<=1", "<2.0.0-0"}, NormalizeCase{"<=7.x", "<8.0.0-0"},
        NormalizeCase{">*", "<0.0.0-0"}, NormalizeCase{"<*", "<0.0.0-0"}, NormalizeCase{"<=*", "*"},
        NormalizeCase{"=*", "*"}, NormalizeCase{">=0.0.0", "*"}, NormalizeCase{">=0.0.0 <1.0.0", "<1.0.0"},
        NormalizeCase{">=0.0.0-0", ">=0.0.0-0"},  // only the exact `>=0.0.0` is `*` without include_prerelease
        NormalizeCase{"1.2.3 || || x", "*"}, NormalizeCase{"1.2.3 || *", "*"}, NormalizeCase{"* || >*", "*"},
        NormalizeCase{">* || 1.2.3", "1.2.3"}, NormalizeCase{">* || <*", "<0.0.0-0"},
        NormalizeCase{"<0.0.0-0 >=1.0.0 || 2.x", ">=2.0.0 <3.0.0-0"},
        NormalizeCase{"2.x >*", "<0.0.0-0"}, NormalizeCase{">=1.0.0 <0.0.0-0 || 2.x", ">=2.0.0 <3.0.0-0"},
        NormalizeCase{"1.2.3 =1.2.3 1.2.3+b", "1.2.3"}, NormalizeCase{">=1.2.3 >=1.2.3 <2", ">=1.2.3 <2.0.0-0"},
        NormalizeCase{">=1.2.3 <1.0.0", ">=1.2.3 <1.0.0"},  // unsatisfiable, but kept as written
        NormalizeCase{"  1.2.3\t||\n2.0.0  ", "1.2.3||2.0.0"}, NormalizeCase{"1.2.3||2.0.0", "1.2.3||2.0.0"},
        NormalizeCase{">=18446744073709551615.0.0", ">=18446744073709551615.0.0"},
        NormalizeCase{"^18446744073709551614.1.2", ">=18446744073709551614.1.2 <18446744073709551615.0.0-0"}));

// ---------------------------------------------------------------------------------------------
// Range::satisfies.

struct MatchCase {
  const char* range;
  const char* version;
  bool include_prerelease = false;
};
std::ostream& operator<<(std::ostream& os, const MatchCase& c) {
  return os << '"' << c.range << "\" " << c.version << (c.include_prerelease ? " (include_prerelease)" : "");
}

class Includes : public ::testing::TestWithParam<MatchCase> {};
class Excludes : public ::testing::TestWithParam<MatchCase> {};

TEST_P(Includes, Satisfies) {
  const Range r = R(GetParam().range);
  EXPECT_TRUE(r.satisfies(V(GetParam().version), GetParam().include_prerelease)) << "normalized: " << r.to_string();
}

TEST_P(Excludes, DoesNotSatisfy) {
  const Range r = R(GetParam().range);
  EXPECT_FALSE(r.satisfies(V(GetParam().version), GetParam().include_prerelease)) << "normalized: " << r.to_string();
}

// node-semver test/fixtures/range-include.js (non-loose entries; `~v0.5.4-pre` needs a `v`).
INSTANTIATE_TEST_SUITE_P(
    NodeSemverFixtures, Includes,
    ::testing::Values(
        MatchCase{"1.0.0 - 2.0.0", "1.2.3"}, MatchCase{"^1.2.3+build", "1.2.3"}, MatchCase{"^1.2.3+build", "1.3.0"},
        MatchCase{"1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3"},
        MatchCase{"1.2.3-pre+asdf - 2.4.3-pre+asdf", "1.2.3-pre.2"},
        MatchCase{"1.2.3-pre+asdf - 2.4.3-pre+asdf", "2.4.3-alpha"}, MatchCase{"1.2.3+asdf - 2.4.3+asdf", "1.2.3"},
        MatchCase{"1.0.0", "1.0.0"}, MatchCase{">=*", "0.2.4"}, MatchCase{"", "1.0.0"}, MatchCase{"*", "1.2.3"},
        MatchCase{">=1.0.0", "1.0.0"}, MatchCase{">=1.0.0", "1.0.1"}, MatchCase{">=1.0.0", "1.1.0"},
        MatchCase{">1.0.0", "1.0.1"}, MatchCase{">1.0.0", "1.1.0"}, MatchCase{"<=2.0.0", "2.0.0"},
        MatchCase{"<=2.0.0", "1.9999.9999"}, MatchCase{"<=2.0.0", "0.2.9"}, MatchCase{"<2.0.0", "1.9999.9999"},
        MatchCase{"<2.0.0", "0.2.9"}, MatchCase{">= 1.0.0", "1.0.0"}, MatchCase{">=  1.0.0", "1.0.1"},
        MatchCase{">=   1.0.0", "1.1.0"}, MatchCase{"> 1.0.0", "1.0.1"}, MatchCase{">  1.0.0", "1.1.0"},
        MatchCase{"<=   2.0.0", "2.0.0"}, MatchCase{"<= 2.0.0", "1.9999.9999"}, MatchCase{"<=  2.0.0", "0.2.9"},
        MatchCase{"<    2.0.0", "1.9999.9999"}, MatchCase{"<\t2.0.0", "0.2.9"}, MatchCase{">=0.1.97", "0.1.97"},
        MatchCase{"0.1.20 || 1.2.4", "1.2.4"}, MatchCase{">=0.2.3 || <0.0.1", "0.0.0"},
        MatchCase{">=0.2.3 || <0.0.1", "0.2.3"}, MatchCase{">=0.2.3 || <0.0.1", "0.2.4"}, MatchCase{"||", "1.3.4"},
        MatchCase{"2.x.x", "2.1.3"}, MatchCase{"1.2.x", "1.2.3"}, MatchCase{"1.2.x || 2.x", "2.1.3"},
        MatchCase{"1.2.x || 2.x", "1.2.3"}, MatchCase{"x", "1.2.3"}, MatchCase{"2.*.*", "2.1.3"},
        MatchCase{"1.2.*", "1.2.3"}, MatchCase{"1.2.* || 2.*", "2.1.3"}, MatchCase{"1.2.* || 2.*", "1.2.3"},
        MatchCase{"*", "1.2.3"}, MatchCase{"2", "2.1.2"}, MatchCase{"2.3", "2.3.1"}, MatchCase{"~0.0.1", "0.0.1"},
        MatchCase{"~0.0.1", "0.0.2"}, MatchCase{"~x", "0.0.9"}, MatchCase{"~2", "2.0.9"}, MatchCase{"~2.4", "2.4.0"},
        MatchCase{"~2.4", "2.4.5"}, MatchCase{"~>3.2.1", "3.2.2"}, MatchCase{"~1", "1.2.3"},
        MatchCase{"~>1", "1.2.3"}, MatchCase{"~> 1", "1.2.3"}, MatchCase{"~1.0", "1.0.2"},
        MatchCase{"~ 1.0", "1.0.2"}, MatchCase{"~ 1.0.3", "1.0.12"}, MatchCase{">=1", "1.0.0"},
        MatchCase{">= 1", "1.0.0"}, MatchCase{"<1.2", "1.1.1"}, MatchCase{"< 1.2", "1.1.1"},
        MatchCase{"~0.5.4-pre", "0.5.5"}, MatchCase{"~0.5.4-pre", "0.5.4"}, MatchCase{"=0.7.x", "0.7.2"},
        MatchCase{"<=0.7.x", "0.7.2"}, MatchCase{">=0.7.x", "0.7.2"}, MatchCase{"<=0.7.x", "0.6.2"},
        MatchCase{"~1.2.1 >=1.2.3", "1.2.3"}, MatchCase{"~1.2.1 =1.2.3", "1.2.3"}, MatchCase{"~1.2.1 1.2.3", "1.2.3"},
        MatchCase{"~1.2.1 >=1.2.3 1.2.3", "1.2.3"}, MatchCase{"~1.2.1 1.2.3 >=1.2.3", "1.2.3"},
        MatchCase{">=1.2.1 1.2.3", "1.2.3"}, MatchCase{"1.2.3 >=1.2.1", "1.2.3"}, MatchCase{">=1.2.3 >=1.2.1", "1.2.3"},
        MatchCase{">=1.2.1 >=1.2.3", "1.2.3"}, MatchCase{">=1.2", "1.2.8"}, MatchCase{"^1.2.3", "1.8.1"},
        MatchCase{"^0.1.2", "0.1.2"}, MatchCase{"^0.1", "0.1.2"}, MatchCase{"^0.0.1", "0.0.1"},
        MatchCase{"^1.2", "1.4.2"}, MatchCase{"^1.2 ^1", "1.4.2"}, MatchCase{"^1.2.3-alpha", "1.2.3-pre"},
        MatchCase{"^1.2.0-alpha", "1.2.0-pre"}, MatchCase{"^0.0.1-alpha", "0.0.1-beta"},
        MatchCase{"^0.0.1-alpha", "0.0.1"}, MatchCase{"^0.1.1-alpha", "0.1.1-beta"}, MatchCase{"^x", "1.2.3"},
        MatchCase{"x - 1.0.0", "0.9.7"}, MatchCase{"x - 1.x", "0.9.7"}, MatchCase{"1.0.0 - x", "1.9.7"},
        MatchCase{"1.x - x", "1.9.7"}, MatchCase{"<=7.x", "7.9.9"},
        MatchCase{"2.x", "2.0.0-pre.0", true}, MatchCase{"2.x", "2.1.0-pre.0", true},
        MatchCase{"*", "1.0.0-rc1", true}, MatchCase{"^1.0.0-0", "1.0.1-rc1", true},
        MatchCase{"^1.0.0-rc2", "1.0.1-rc1", true}, MatchCase{"^1.0.0", "1.0.1-rc1", true},
        MatchCase{"^1.0.0", "1.1.0-rc1", true}));

// node-semver test/fixtures/range-exclude.js (non-loose entries; invalid versions can't be built).
INSTANTIATE_TEST_SUITE_P(
    NodeSemverFixtures, Excludes,
    ::testing::Values(
        MatchCase{"1.0.0 - 2.0.0", "2.2.3"}, MatchCase{"1.2.3+asdf - 2.4.3+asdf", "1.2.3-pre.2"},
        MatchCase{"1.2.3+asdf - 2.4.3+asdf", "2.4.3-alpha"}, MatchCase{"^1.2.3+build", "2.0.0"},
        MatchCase{"^1.2.3+build", "1.2.0"}, MatchCase{"^1.2.3", "1.2.3-pre"}, MatchCase{"^1.2", "1.2.0-pre"},
        MatchCase{">1.2", "1.3.0-beta"}, MatchCase{"<=1.2.3", "1.2.3-beta"}, MatchCase{"^1.2.3", "1.2.3-beta"},
        MatchCase{"=0.7.x", "0.7.0-asdf"}, MatchCase{">=0.7.x", "0.7.0-asdf"}, MatchCase{"1.0.0", "1.0.1"},
        MatchCase{">=1.0.0", "0.0.0"}, MatchCase{">=1.0.0", "0.0.1"}, MatchCase{">=1.0.0", "0.1.0"},
        MatchCase{">1.0.0", "0.0.1"}, MatchCase{">1.0.0", "0.1.0"}, MatchCase{"<=2.0.0", "3.0.0"},
        MatchCase{"<=2.0.0", "2.9999.9999"}, MatchCase{"<=2.0.0", "2.2.9"}, MatchCase{"<2.0.0", "2.9999.9999"},
        MatchCase{"<2.0.0", "2.2.9"}, MatchCase{">=0.1.97", "0.1.93"}, MatchCase{"0.1.20 || 1.2.4", "1.2.3"},
        MatchCase{">=0.2.3 || <0.0.1", "0.0.3"}, MatchCase{">=0.2.3 || <0.0.1", "0.2.2"},
        MatchCase{"2.x.x", "1.1.3"}, MatchCase{"2.x.x", "3.1.3"}, MatchCase{"1.2.x", "1.3.3"},
        MatchCase{"1.2.x || 2.x", "3.1.3"}, MatchCase{"1.2.x || 2.x", "1.1.3"}, MatchCase{"2.*.*", "1.1.3"},
        MatchCase{"2.*.*", "3.1.3"}, MatchCase{"1.2.*", "1.3.3"}, MatchCase{"1.2.* || 2.*", "3.1.3"},
        MatchCase{"1.2.* || 2.*", "1.1.3"}, MatchCase{"2", "1.1.2"}, MatchCase{"2.3", "2.4.1"},
        MatchCase{"~0.0.1", "0.1.0-alpha"}, MatchCase{"~0.0.1", "0.1.0"}, MatchCase{"~2.4", "2.5.0"},
        MatchCase{"~2.4", "2.3.9"}, MatchCase{"~>3.2.1", "3.3.2"}, MatchCase{"~>3.2.1", "3.2.0"},
        MatchCase{"~1", "0.2.3"}, MatchCase{"~>1", "2.2.3"}, MatchCase{"~1.0", "1.1.0"}, MatchCase{"<1", "1.0.0"},
        MatchCase{">=1.2", "1.1.1"}, MatchCase{"~0.5.4-beta", "0.5.4-alpha"}, MatchCase{"=0.7.x", "0.8.2"},
        MatchCase{">=0.7.x", "0.6.2"}, MatchCase{"<0.7.x", "0.7.2"}, MatchCase{"<1.2.3", "1.2.3-beta"},
        MatchCase{"=1.2.3", "1.2.3-beta"}, MatchCase{">1.2", "1.2.8"}, MatchCase{"^0.0.1", "0.0.2-alpha"},
        MatchCase{"^0.0.1", "0.0.2"}, MatchCase{"^1.2.3", "2.0.0-alpha"}, MatchCase{"^1.2.3", "1.2.2"},
        MatchCase{"^1.2", "1.1.9"}, MatchCase{"2.x", "3.0.0-pre.0", true}, MatchCase{"^1.0.0", "1.0.0-rc1", true},
        MatchCase{"^1.2.3-rc2", "2.0.0", true}, MatchCase{"^1.0.0", "2.0.0-rc1", true},
        MatchCase{"^1.0.0", "2.0.0-rc1"}));

// Each README form at its edges: the first and last versions in, the neighbours out.
INSTANTIATE_TEST_SUITE_P(
    Edges, Includes,
    ::testing::Values(
        MatchCase{"1.2.3 - 2.3.4", "1.2.3"}, MatchCase{"1.2.3 - 2.3.4", "2.3.4"}, MatchCase{"1.2 - 2.3.4", "1.2.0"},
        MatchCase{"1.2.3 - 2.3", "2.3.999"}, MatchCase{"1.2.3 - 2", "2.999.999"}, MatchCase{"1.x", "1.0.0"},
        MatchCase{"1.x", "1.999.0"}, MatchCase{"1.2.x", "1.2.0"}, MatchCase{"1", "1.5.0"}, MatchCase{"1.2", "1.2.99"},
        MatchCase{"1.x.x", "1.0.0"}, MatchCase{"~1.2.3", "1.2.3"}, MatchCase{"~1.2.3", "1.2.99"},
        MatchCase{"~1.2", "1.2.0"}, MatchCase{"~1", "1.99.0"}, MatchCase{"~0.2.3", "0.2.9"},
        MatchCase{"~1.2.3-beta.2", "1.2.3-beta.2"}, MatchCase{"~1.2.3-beta.2", "1.2.3-beta.4"},
        MatchCase{"~1.2.3-beta.2", "1.2.3"}, MatchCase{"~1.2.3-beta.2", "1.2.9"}, MatchCase{"^1.2.3", "1.2.3"},
        MatchCase{"^1.2.3", "1.99.99"}, MatchCase{"^0.2.3", "0.2.3"}, MatchCase{"^0.2.3", "0.2.99"},
        MatchCase{"^0.0.3", "0.0.3"}, MatchCase{"^1.2.3-beta.2", "1.2.3-beta.2"},
        MatchCase{"^1.2.3-beta.2", "1.2.3-beta.4"}, MatchCase{"^1.2.3-beta.2", "1.2.3-beta.11"},
        MatchCase{"^1.2.3-beta.2", "1.2.3-rc.1"}, MatchCase{"^1.2.3-beta.2", "1.9.0"},
        MatchCase{"^0.0.x", "0.0.0"}, MatchCase{"^0.0.x", "0.0.99"}, MatchCase{"^0.0", "0.0.5"},
        MatchCase{"^1.x", "1.0.0"}, MatchCase{"^1.x", "1.99.0"}, MatchCase{"^0.x", "0.0.0"}, MatchCase{"^0.x", "0.99.0"},
        MatchCase{">1", "2.0.0"}, MatchCase{"<1.2", "1.1.999"}, MatchCase{">=1.2", "1.2.0"}, MatchCase{"<=1.2", "1.2.999"},
        MatchCase{">=*", "0.0.0"}, MatchCase{"*", "0.0.0"}, MatchCase{"1.2.3 || || x", "7.0.0"},
        MatchCase{"~>1.2", "1.2.5"}, MatchCase{"1.2.3+build", "1.2.3+other"}, MatchCase{"=1.2.3", "1.2.3"},
        MatchCase{">=18446744073709551615.0.0", "18446744073709551615.1.0"},
        // Pre-releases: admitted when the same AND-set names one on the same major.minor.patch.
        MatchCase{">1.2.3-alpha.3", "1.2.3-alpha.7"}, MatchCase{">1.2.3-alpha.3", "3.4.5"},
        MatchCase{"1.2.3-beta", "1.2.3-beta+build"}, MatchCase{">=1.2.3-beta.1 <1.2.4-rc.1", "1.2.4-alpha"},
        MatchCase{"<1.2.3-rc.1", "1.2.3-beta"}, MatchCase{"^1.2.3 || ^1.3.0-beta", "1.3.0-beta.2"},
        MatchCase{"1.2.3-beta.1 - 1.2.3-beta.5", "1.2.3-beta.3"}, MatchCase{"1.2.3 - 2.0.0-rc.2", "2.0.0-rc.1"},
        MatchCase{"^0.0.3-beta", "0.0.3-beta.2"}, MatchCase{">=0.0.0-0", "0.0.0-alpha"},
        // include_prerelease: pre-releases match like normal versions, and partial lower bounds
        // start at -0, as node-semver's includePrerelease desugaring does.
        MatchCase{"^1.2.3", "1.3.0-beta", true}, MatchCase{"^1.2.3", "1.2.4-beta", true},
        MatchCase{"1.2.x", "1.2.0-alpha", true}, MatchCase{"1", "1.0.0-alpha", true},
        MatchCase{">=1.2", "1.2.0-alpha", true}, MatchCase{">1", "2.0.0-alpha", true},
        MatchCase{"<1.2", "1.1.9-beta", true}, MatchCase{"^0.2", "0.2.0-beta", true},
        MatchCase{"~1.2", "1.2.0-beta", true}, MatchCase{"~1", "1.0.0-beta", true},
        MatchCase{"^0.2.3", "0.2.4-beta", true}, MatchCase{"^0.0.3", "0.0.3", true},
        MatchCase{"1.0.0 - 2.0.0", "1.0.0-beta", true}, MatchCase{"1.0.0 - 2.0.0", "2.0.0-beta", true},
        MatchCase{"1.2 - 2", "1.2.0-alpha", true}, MatchCase{"x", "0.0.0-0", true},
        MatchCase{">=0.0.0", "0.0.1-alpha", true}, MatchCase{"1.2.3-beta || *", "1.2.3-beta", true}, MatchCase{"~1.2.3", "1.2.4-beta", true}));

INSTANTIATE_TEST_SUITE_P(
    Edges, Excludes,
    ::testing::Values(
        MatchCase{"1.2.3 - 2.3.4", "1.2.2"}, MatchCase{"1.2.3 - 2.3.4", "2.3.5"}, MatchCase{"1.2 - 2.3.4", "1.1.9"},
        MatchCase{"1.2.3 - 2.3", "2.4.0"}, MatchCase{"1.2.3 - 2.3", "2.4.0-0"}, MatchCase{"1.2.3 - 2", "3.0.0"},
        MatchCase{"1.2.3 - 2", "3.0.0-alpha"}, MatchCase{"1.x", "0.9.9"}, MatchCase{"1.x", "2.0.0"},
        MatchCase{"1.x", "2.0.0-0"}, MatchCase{"1.2.x", "1.3.0"}, MatchCase{"1.2.x", "1.1.9"},
        MatchCase{"1.2", "1.3.0"}, MatchCase{"1.x.x", "2.0.0"}, MatchCase{"~1.2.3", "1.2.2"},
        MatchCase{"~1.2.3", "1.3.0"}, MatchCase{"~1.2", "1.3.0"}, MatchCase{"~1", "2.0.0"}, MatchCase{"~0.2.3", "0.3.0"},
        MatchCase{"~0.2.3", "0.2.2"}, MatchCase{"~1.2.3-beta.2", "1.2.3-beta.1"},
        MatchCase{"~1.2.3-beta.2", "1.2.4-beta"}, MatchCase{"~1.2.3-beta.2", "1.3.0"}, MatchCase{"^1.2.3", "2.0.0"},
        MatchCase{"^0.2.3", "0.3.0"}, MatchCase{"^0.2.3", "0.2.2"}, MatchCase{"^0.0.3", "0.0.4"},
        MatchCase{"^0.0.3", "0.0.2"}, MatchCase{"^1.2.3-beta.2", "1.2.3-beta.1"},
        MatchCase{"^1.2.3-beta.2", "1.2.3-alpha.9"}, MatchCase{"^1.2.3-beta.2", "2.0.0"}, MatchCase{"^0.0.x", "0.1.0"},
        MatchCase{"^0.0", "0.1.0"}, MatchCase{"^1.x", "2.0.0"}, MatchCase{"^1.x", "0.9.0"}, MatchCase{"^0.x", "1.0.0"},
        MatchCase{">1", "1.9.9"}, MatchCase{"<1.2", "1.2.0"}, MatchCase{">=1.2", "1.1.9"}, MatchCase{"<=1.2", "1.3.0"},
        MatchCase{">*", "0.0.0"}, MatchCase{">*", "1.2.3"}, MatchCase{"<*", "1.2.3"}, MatchCase{">* || <*", "1.0.0"},
        MatchCase{">=1.2.3 <1.0.0", "1.1.0"}, MatchCase{"=1.2.3", "1.2.4"},
        // Pre-release rule: no comparator of the set names a pre-release on that tuple.
        MatchCase{"^1.2.3", "1.3.0-beta"}, MatchCase{"^1.2.3", "1.2.4-beta"}, MatchCase{"^1.2.3-beta.2", "1.2.4-beta"},
        MatchCase{"^1.2.3-beta.2", "1.3.0-rc.1"}, MatchCase{">=1.2.3-beta <3", "2.2.3-beta"},
        MatchCase{">=1.2.3-beta", "1.3.3-beta"}, MatchCase{"~1.2.3-beta.2", "1.2.5-beta"},
        MatchCase{">1.2.3-alpha.3", "3.4.5-alpha.9"}, MatchCase{"1.2.3-beta", "1.2.3-beta.1"},
        MatchCase{"*", "1.0.0-beta"}, MatchCase{"", "1.0.0-beta"}, MatchCase{"x", "0.0.0-0"},
        MatchCase{">=0.0.0", "0.0.1-alpha"}, MatchCase{">=1.0.0", "1.5.0-beta"}, MatchCase{"<2", "1.5.0-beta"},
        MatchCase{"<1.2.3-rc.1", "1.2.2-beta"}, MatchCase{"^1.2.3 || ^1.3.0-beta", "1.4.0-beta"},
        MatchCase{">=1.2.3-beta.1 <1.2.4-rc.1", "1.2.4-rc.1"}, MatchCase{"1.2.3-beta.1 - 1.2.3-beta.5", "1.2.3-beta.6"},
        MatchCase{"1.2.3 - 2.0.0-rc.2", "1.5.0-rc.1"},
        // The set that names the pre-release must also pass on its own; another set doesn't help.
        MatchCase{">=1.2.3-beta <1.2.3-beta.5 || >=1.0.0", "1.2.3-rc.1"},
        // node-semver collapses a range with a match-all set to `*`, which admits no pre-release.
        MatchCase{"1.2.3-beta || *", "1.2.3-beta"},
        // include_prerelease does not lower bounds node-semver leaves alone.
        MatchCase{"^1.2.3", "1.2.3-beta", true}, MatchCase{"^0.2.3", "0.2.3-beta", true},
        MatchCase{"^0.0.3", "0.0.3-beta", true}, MatchCase{"~1.2.0", "1.2.0-beta", true},
        MatchCase{"~1.2.3", "1.2.3-beta", true}, MatchCase{"1.2.3", "1.2.3-beta", true},
        MatchCase{"1.0.0 - 2.0.0", "2.0.1-0", true}, MatchCase{"1.2.x", "1.3.0-0", true},
        MatchCase{"<1.2", "1.2.0-0", true}, MatchCase{">*", "0.0.0-0", true}, MatchCase{"<=1.2", "1.3.0-alpha", true}));

TEST(Satisfies, DefaultConstructedRangeMatchesNothing) {
  EXPECT_FALSE(Range{}.satisfies(V("1.0.0")));
}

// ---------------------------------------------------------------------------------------------
// Invalid ranges: rejected, with the offending part and its offset in the error.

struct InvalidRangeCase {
  const char* range;
  std::vector<const char*> phrases;  // each must appear in the error
};
std::ostream& operator<<(std::ostream& os, const InvalidRangeCase& c) { return os << '"' << c.range << '"'; }

class InvalidRange : public ::testing::TestWithParam<InvalidRangeCase> {};

TEST_P(InvalidRange, IsRejectedWithPlace) {
  auto r = Range::parse(GetParam().range);
  EXPECT_FALSE(r.has_value());
  const std::string error = error_of(r);
  for (const char* phrase : GetParam().phrases)
    EXPECT_NE(error.find(phrase), std::string::npos) << "missing \"" << phrase << "\" in: " << error;
}

INSTANTIATE_TEST_SUITE_P(
    All, InvalidRange,
    ::testing::Values(
        InvalidRangeCase{">=1.2.3.4", {"invalid version \"1.2.3.4\" at offset 2", "unexpected '.' after patch version"}},
        InvalidRangeCase{"^a.b", {"invalid version \"a.b\" at offset 1", "major version must be a number or x, X, *"}},
        InvalidRangeCase{"1.2.3 -", {"unexpected \"-\" at offset 6", "hyphen range"}},
        InvalidRangeCase{"- 1.2.3", {"unexpected \"-\" at offset 0"}},
        InvalidRangeCase{"1.2.3 - 2.3.4 - 5", {"unexpected \"-\" at offset 6"}},
        InvalidRangeCase{"1.2.3 -2.0.0", {"invalid version \"-2.0.0\" at offset 6"}},
        InvalidRangeCase{"1.2.3- 2.0.0", {"invalid version \"1.2.3-\" at offset 0", "empty pre-release identifier"}},
        InvalidRangeCase{">=", {"operator \">=\" at offset 0 has no version"}},
        InvalidRangeCase{"1.2.3 || >=", {"operator \">=\" at offset 9 has no version"}},
        InvalidRangeCase{"1.2.3 ^", {"operator \"^\" at offset 6 has no version"}},
        InvalidRangeCase{"~>", {"operator \"~>\" at offset 0 has no version"}},
        InvalidRangeCase{"~", {"operator \"~\" at offset 0 has no version"}},
        InvalidRangeCase{"01.2.3", {"invalid version \"01.2.3\" at offset 0", "leading zero in major version"}},
        InvalidRangeCase{">01.02.03", {"at offset 1", "leading zero in major version"}},
        InvalidRangeCase{"^1.02", {"at offset 1", "leading zero in minor version"}},
        InvalidRangeCase{"~1.2.3beta", {"at offset 1", "unexpected 'b' after patch version"}},
        InvalidRangeCase{">=1.2.3<2.0.0", {"invalid version \"1.2.3<2.0.0\" at offset 2", "unexpected '<'"}},
        InvalidRangeCase{"1.2.3 | 2.0.0", {"invalid version \"|\" at offset 6"}},
        InvalidRangeCase{"1.2.3 ||| 2.0.0", {"invalid version \"|\" at offset 8"}},
        InvalidRangeCase{"v1.2.3", {"at offset 0", "leading 'v' is not allowed"}},
        InvalidRangeCase{"~v0.5.4-pre", {"at offset 1", "leading 'v' is not allowed"}},
        InvalidRangeCase{"==1.2.3", {"invalid version \"=1.2.3\" at offset 1"}},
        InvalidRangeCase{"1.2-beta", {"a pre-release needs a full MAJOR.MINOR.PATCH"}},
        InvalidRangeCase{"^1.x-beta", {"a pre-release needs a full MAJOR.MINOR.PATCH"}},
        InvalidRangeCase{"1.x.3", {"invalid version \"1.x.3\" at offset 0", "patch version follows a wildcard"}},
        InvalidRangeCase{"x.1", {"minor version follows a wildcard"}},
        InvalidRangeCase{"*.0", {"minor version follows a wildcard"}},
        InvalidRangeCase{">=x.1", {"at offset 2", "minor version follows a wildcard"}},
        InvalidRangeCase{"~1.x.3", {"patch version follows a wildcard"}},
        InvalidRangeCase{"x.1 - 2", {"minor version follows a wildcard"}},
        InvalidRangeCase{"1.2.", {"empty patch version"}}, InvalidRangeCase{"*.", {"empty minor version"}},
        InvalidRangeCase{"1..2", {"empty minor version"}}, InvalidRangeCase{"1.xx", {"unexpected 'x' after minor version"}},
        InvalidRangeCase{"1.2.3-01", {"leading zero in numeric pre-release identifier"}},
        InvalidRangeCase{"1.2.3+", {"empty build identifier"}},
        InvalidRangeCase{"1.2.3-alpha_beta", {"invalid character '_' in pre-release"}},
        InvalidRangeCase{">=1.2.3 foo", {"invalid version \"foo\" at offset 8"}},
        InvalidRangeCase{"1.2.3 || 2.0.0 || 3.0-rc", {"invalid version \"3.0-rc\" at offset 18"}},
        InvalidRangeCase{"18446744073709551616", {"major version is too large"}},
        InvalidRangeCase{"^18446744073709551615.0.0",
                         {"term \"^18446744073709551615.0.0\" at offset 0", "major version + 1"}},
        InvalidRangeCase{"1.2.3 || ~1.18446744073709551615", {"at offset 9", "minor version + 1"}},
        InvalidRangeCase{"^0.0.18446744073709551615", {"patch version + 1"}},
        InvalidRangeCase{">18446744073709551615", {"major version + 1"}},
        InvalidRangeCase{"<=18446744073709551615", {"major version + 1"}}));

TEST(InvalidRange, ErrorQuotesTheRange) {
  EXPECT_EQ(error_of(Range::parse("^a.b")), "\"^a.b\": invalid version \"a.b\" at offset 1: major version must be a number or x, X, *, found 'a'");
}

// ---------------------------------------------------------------------------------------------
// Comparator::test on its own: plain precedence, no pre-release rule.

TEST(ComparatorTest, Operators) {
  using Op = Comparator::Op;
  const Version v = V("1.2.3");
  EXPECT_TRUE((Comparator{Op::Eq, V("1.2.3+b")}.test(v)));
  EXPECT_FALSE((Comparator{Op::Eq, V("1.2.4")}.test(v)));
  EXPECT_TRUE((Comparator{Op::Lt, V("1.2.4")}.test(v)));
  EXPECT_FALSE((Comparator{Op::Lt, V("1.2.3")}.test(v)));
  EXPECT_TRUE((Comparator{Op::Le, V("1.2.3")}.test(v)));
  EXPECT_TRUE((Comparator{Op::Gt, V("1.2.3-rc.1")}.test(v)));
  EXPECT_FALSE((Comparator{Op::Gt, V("1.2.3")}.test(v)));
  EXPECT_TRUE((Comparator{Op::Ge, V("1.2.3")}.test(v)));
  EXPECT_TRUE((Comparator{Op::Lt, V("2.0.0")}.test(V("1.5.0-beta"))));
}

// ---------------------------------------------------------------------------------------------
// max_satisfying.

std::vector<Version> Versions(std::initializer_list<const char*> texts) {
  std::vector<Version> out;
  for (const char* t : texts) out.push_back(V(t));
  return out;
}

std::string Text(const Version* v) { return v ? v->to_string() : "(none)"; }

TEST(MaxSatisfying, NodeSemverFixtures) {
  EXPECT_EQ(Text(R("1.2").max_satisfying(Versions({"1.2.3", "1.2.4"}))), "1.2.4");
  EXPECT_EQ(Text(R("1.2").max_satisfying(Versions({"1.2.4", "1.2.3"}))), "1.2.4");
  EXPECT_EQ(Text(R("~1.2.3").max_satisfying(Versions({"1.2.3", "1.2.4", "1.2.5", "1.2.6"}))), "1.2.6");
  EXPECT_EQ(Text(R("~2.0.0").max_satisfying(
                Versions({"1.1.0", "1.2.0", "1.2.1", "1.3.0", "2.0.0-b1", "2.0.0-b2", "2.0.0-b3", "2.0.0", "2.1.0"}))),
            "2.0.0");
}

TEST(MaxSatisfying, PicksHighestByPrecedence) {
  const auto versions = Versions({"1.2.3", "1.10.0", "1.9.0", "2.0.0", "1.11.0-beta", "0.9.0"});
  EXPECT_EQ(Text(R("^1.2.3").max_satisfying(versions)), "1.10.0");
  EXPECT_EQ(Text(R("^1.2.3").max_satisfying(versions, true)), "1.11.0-beta");
  EXPECT_EQ(Text(R("~1.9").max_satisfying(versions)), "1.9.0");
  EXPECT_EQ(Text(R("<1").max_satisfying(versions)), "0.9.0");
  EXPECT_EQ(Text(R("*").max_satisfying(versions)), "2.0.0");
  EXPECT_EQ(Text(R(">=1.11.0-alpha <2").max_satisfying(versions)), "1.11.0-beta");
  EXPECT_EQ(R(">=3").max_satisfying(versions), nullptr);
  EXPECT_EQ(R("*").max_satisfying({}), nullptr);
}

TEST(MaxSatisfying, ReturnsPointerIntoInputAndFirstOfTies) {
  const auto versions = Versions({"1.0.0", "1.2.0+a", "1.1.0", "1.2.0+b"});
  const Version* best = R("^1").max_satisfying(versions);
  EXPECT_EQ(best, &versions[1]);
}

}  // namespace
}  // namespace roster::semver
