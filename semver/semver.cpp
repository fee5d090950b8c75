#include "roster/semver.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>
#include <utility>

namespace roster::semver {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_identifier_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}
// ASCII whitespace, as node-semver's `\s` sees it in practice.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_wildcard(char c) { return c == 'x' || c == 'X' || c == '*'; }

constexpr char kHex[] = "0123456789abcdef";

// `"text"`, with quotes, backslashes and control bytes escaped so an error stays one line.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// How an offending character is named in an error: 'c', or a description for the invisible.
std::string describe(char c) {
  if (is_space(c)) return "whitespace";
  const auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
  return std::string("'") + c + "'";
}

std::string identifier_text(const Identifier& id) {
  // Identifiers built by hand may leave `text` empty; the number is then authoritative.
  return id.numeric && id.text.empty() ? std::to_string(id.number) : id.text;
}

// M.m.p[-pre] without build metadata: how node-semver prints a comparator's version.
std::string core_and_prerelease(const Version& v) {
  std::string out = std::to_string(v.major) + '.' + std::to_string(v.minor) + '.' + std::to_string(v.patch);
  for (size_t i = 0; i < v.prerelease.size(); ++i) {
    out += i == 0 ? '-' : '.';
    out += identifier_text(v.prerelease[i]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The one version scanner, shared by Version::parse (strict) and ranges (partials, wildcards).

const char* const kComponentName[3] = {"major", "minor", "patch"};

// A version as written in a range: `concrete` leading numbers, then wildcards (a missing or
// x/X/* component; no number may follow one). A strict version is the case concrete == 3.
struct Partial {
  int concrete = 0;
  uint64_t number[3] = {0, 0, 0};
  std::vector<Identifier> prerelease;  // dropped unless concrete == 3, as node-semver does
  std::string build;

  Version version() const {
    Version v;
    v.major = number[0];
    v.minor = number[1];
    v.patch = number[2];
    v.prerelease = prerelease;
    v.build = build;
    return v;
  }
};

struct ScanError {
  std::string message;
};

// Reads a run of digits at s[i] as a number without leading zeros; `what` names it in errors.
std::optional<uint64_t> scan_number(std::string_view s, size_t& i, const std::string& what, ScanError& err) {
  const size_t start = i;
  uint64_t value = 0;
  bool overflow = false;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    const auto digit = static_cast<uint64_t>(s[i] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) overflow = true;
    value = value * 10 + digit;
  }
  if (i - start > 1 && s[start] == '0') {
    err.message = "leading zero in " + what;
    return std::nullopt;
  }
  if (overflow) {
    err.message = what + " is too large (the maximum is 18446744073709551615)";
    return std::nullopt;
  }
  return value;
}

// Dot-separated identifiers of [0-9A-Za-z-] after `-` or `+`, ending at the first other byte.
bool scan_identifiers(std::string_view s, size_t& i, bool prerelease, Partial& out, ScanError& err) {
  const char* const kind = prerelease ? "pre-release" : "build";
  while (true) {
    const size_t start = i;
    while (i < s.size() && is_identifier_char(s[i])) ++i;
    const std::string_view id = s.substr(start, i - start);
    if (id.empty()) {
      err.message = std::string("empty ") + kind + " identifier";
      return false;
    }
    if (prerelease) {
      Identifier ident;
      ident.text = std::string(id);
      ident.numeric = std::all_of(id.begin(), id.end(), is_digit);
      if (ident.numeric) {
        size_t j = start;
        auto n = scan_number(s, j, "numeric pre-release identifier " + quoted(id), err);
        if (!n) return false;
        ident.number = *n;
      }
      out.prerelease.push_back(std::move(ident));
    } else {
      // Build identifiers may have leading zeros (semver.org item 10).
      if (!out.build.empty()) out.build += '.';
      out.build += id;
    }
    if (i == s.size() || s[i] != '.') return true;
    ++i;
  }
}

// Scans all of `s`. Strict mode is SemVer 2.0.0. With wildcards (range syntax, as node-semver
// reads it) a component may be x, X or * and trailing components may be left out; a pre-release
// then needs all three components, while build metadata, ignored in ranges, may follow any.
std::optional<Partial> scan_version(std::string_view s, bool wildcards, ScanError& err) {
  Partial out;
  size_t i = 0;
  int components = 0;
  if (s.empty()) {
    err.message = wildcards ? "empty version" : "empty string, expected MAJOR.MINOR.PATCH";
    return std::nullopt;
  }
  for (int c = 0; c < 3; ++c, ++components) {
    const std::string name = std::string(kComponentName[c]) + " version";
    if (c > 0) {
      if (wildcards && (i == s.size() || s[i] == '+')) break;  // `1`, `1.2`, `1.2+build`
      if (i == s.size() || s[i] == '-' || s[i] == '+') {
        err.message = wildcards ? "a pre-release needs a full MAJOR.MINOR.PATCH" : "expected MAJOR.MINOR.PATCH";
        return std::nullopt;
      }
      if (s[i] != '.') {
        err.message = "unexpected " + describe(s[i]) + " after " + kComponentName[c - 1] + " version";
        return std::nullopt;
      }
      ++i;
    }
    if (wildcards && i < s.size() && is_wildcard(s[i])) {
      ++i;
      continue;
    }
    if (i == s.size() || s[i] == '.') {
      err.message = "empty " + name;
      return std::nullopt;
    }
    if (!is_digit(s[i])) {
      if (c == 0 && (s[i] == 'v' || s[i] == 'V')) {
        err.message = "leading 'v' is not allowed";
      } else {
        err.message = name + " must be a number" + (wildcards ? " or x, X, *" : "") + ", found " + describe(s[i]);
      }
      return std::nullopt;
    }
    // node-semver rejects `1.x.3` and `x.1`: what would the 3 mean?
    if (out.concrete < c) {
      err.message = name + " follows a wildcard; use x, X or * there too";
      return std::nullopt;
    }
    auto n = scan_number(s, i, name, err);
    if (!n) return std::nullopt;
    out.number[c] = *n;
    out.concrete = c + 1;
  }
  std::string problem = "unexpected ", where = " after patch version";
  if (components == 3 && i < s.size() && s[i] == '-') {
    ++i;
    if (!scan_identifiers(s, i, true, out, err)) return std::nullopt;
    problem = "invalid character ";
    where = " in pre-release";
  }
  if (i < s.size() && s[i] == '+') {
    ++i;
    if (!scan_identifiers(s, i, false, out, err)) return std::nullopt;
    problem = "invalid character ";
    where = " in build metadata";
  }
  if (i < s.size()) {  // only reached after a full MAJOR.MINOR.PATCH
    err.message = problem + describe(s[i]) + where;
    return std::nullopt;
  }
  if (out.concrete < 3) out.prerelease.clear();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Ranges. Parsing is two steps: syntax into Terms (once), then desugaring into comparators the
// way node-semver does, once for each include_prerelease setting since that changes the result.

using Op = Comparator::Op;
using ComparatorSet = std::vector<Comparator>;

struct Term {
  enum class Kind { Primitive, Tilde, Caret, Hyphen };
  Kind kind = Kind::Primitive;
  Op op = Op::Eq;         // Primitive only; `=` and no operator are the same
  Partial version, to;    // `to` for Hyphen only
  std::string_view text;  // the whole term as written, for errors
  size_t offset = 0;
};

Version make_version(uint64_t major, uint64_t minor, uint64_t patch, bool dash0 = false) {
  Version v;
  v.major = major;
  v.minor = minor;
  v.patch = patch;
  if (dash0) v.prerelease.push_back(Identifier{true, 0, "0"});
  return v;
}

// Desugars one term, appending comparators; `*` (match all) appends nothing.
class Desugarer {
 public:
  Desugarer(bool include_prerelease, ComparatorSet& out) : include_prerelease_(include_prerelease), out_(out) {}

  // False if a bound would need a number above uint64's maximum (e.g. `^18446744073709551615`).
  bool add(const Term& t, std::string& error) {
    overflow_ = nullptr;
    switch (t.kind) {
      case Term::Kind::Primitive: primitive(t.op, t.version); break;
      case Term::Kind::Tilde: tilde(t.version); break;
      case Term::Kind::Caret: caret(t.version); break;
      case Term::Kind::Hyphen: hyphen(t.version, t.to); break;
    }
    if (overflow_ == nullptr) return true;
    error = "term " + quoted(t.text) + " at offset " + std::to_string(t.offset) + " needs " + overflow_ +
            " version + 1, above the maximum 18446744073709551615";
    return false;
  }

 private:
  // n + 1, remembering which component overflowed (add() then rejects the term).
  uint64_t next(uint64_t n, const char* component) {
    if (n == std::numeric_limits<uint64_t>::max()) overflow_ = component;
    return n + 1;
  }
  void emit(Op op, Version v) { out_.push_back(Comparator{op, std::move(v)}); }
  // `<` upper bounds always end in -0 so that pre-releases of the next version are excluded.
  void below(uint64_t M, uint64_t m, uint64_t p) { emit(Op::Lt, make_version(M, m, p, true)); }
  // Lower bounds filled in for a partial (`1.2` → 1.2.0) get -0 with include_prerelease, so
  // that `1.2.x` admits 1.2.0-beta then.
  void at_least(uint64_t M, uint64_t m, uint64_t p) { emit(Op::Ge, make_version(M, m, p, include_prerelease_)); }

  // Exact or partial version after <, <=, >, >=, = or nothing (node-semver's replaceXRange).
  void primitive(Op op, const Partial& v) {
    const uint64_t M = v.number[0], m = v.number[1];
    switch (v.concrete) {
      case 0:  // `*`, `>=*`, `<=*` match all; `>*` and `<*` nothing
        if (op == Op::Lt || op == Op::Gt) emit(Op::Lt, make_version(0, 0, 0, true));
        return;
      case 1:
      case 2: {
        // `1` spans [1.0.0, 2.0.0) and `1.2` spans [1.2.0, 1.3.0); the end is computed only
        // where it is used, since it can overflow.
        const bool major_only = v.concrete == 1;
        const uint64_t start_minor = major_only ? 0 : m;
        auto below_end = [&] {
          if (major_only) below(next(M, "major"), 0, 0);
          else below(M, next(m, "minor"), 0);
        };
        switch (op) {
          case Op::Eq:  // `1` = `1.x` = `>=1.0.0 <2.0.0-0`
            at_least(M, start_minor, 0);
            below_end();
            return;
          case Op::Gt:  // `>1` = `>=2.0.0`, `>1.2` = `>=1.3.0`
            if (major_only) at_least(next(M, "major"), 0, 0);
            else at_least(M, next(m, "minor"), 0);
            return;
          case Op::Ge:  // `>=1.2` = `>=1.2.0`
            at_least(M, start_minor, 0);
            return;
          case Op::Le:  // `<=1.2` = `<1.3.0-0`: every 1.2.x passes
            below_end();
            return;
          case Op::Lt:  // `<1.2` = `<1.2.0-0`: no 1.2.0 pre-release either
            below(M, start_minor, 0);
            return;
        }
        return;
      }
      default: {
        Version exact = v.version();
        exact.build.clear();
        emit(op, std::move(exact));
      }
    }
  }

  // `~1.2.3` = `>=1.2.3 <1.3.0-0`; `~1.2` = `1.2.x`; `~1` = `1.x`.
  void tilde(const Partial& v) {
    const uint64_t M = v.number[0], m = v.number[1];
    switch (v.concrete) {
      case 0:
        return;
      case 1:
        at_least(M, 0, 0);
        below(next(M, "major"), 0, 0);
        return;
      case 2:
        at_least(M, m, 0);
        break;
      default: {
        Version low = v.version();
        low.build.clear();
        emit(Op::Ge, std::move(low));
      }
    }
    below(M, next(m, "minor"), 0);
  }

  // `^` allows changes that keep the left-most non-zero component.
  void caret(const Partial& v) {
    const uint64_t M = v.number[0], m = v.number[1], p = v.number[2];
    switch (v.concrete) {
      case 0:
        return;
      case 1:
        at_least(M, 0, 0);
        below(next(M, "major"), 0, 0);
        return;
      case 2:
        at_least(M, m, 0);
        if (M == 0) below(0, next(m, "minor"), 0);
        else below(next(M, "major"), 0, 0);
        return;
      default: {
        Version low = v.version();
        low.build.clear();
        emit(Op::Ge, std::move(low));
        if (M != 0) below(next(M, "major"), 0, 0);
        else if (m != 0) below(0, next(m, "minor"), 0);
        else below(0, 0, next(p, "patch"));
      }
    }
  }

  // `A - B`: a partial A fills zeros; a partial B means "any B.x" (node-semver's hyphenReplace).
  void hyphen(const Partial& from, const Partial& to) {
    if (from.concrete == 3) {
      Version low = from.version();
      low.build.clear();
      if (low.prerelease.empty() && include_prerelease_) low.prerelease.push_back(Identifier{true, 0, "0"});
      emit(Op::Ge, std::move(low));
    } else if (from.concrete > 0) {
      at_least(from.number[0], from.concrete == 2 ? from.number[1] : 0, 0);
    }
    const uint64_t M = to.number[0], m = to.number[1];
    switch (to.concrete) {
      case 0:
        return;
      case 1:
        below(next(M, "major"), 0, 0);
        return;
      case 2:
        below(M, next(m, "minor"), 0);
        return;
      default: {
        // node-semver's includePrerelease form `<M.m.(p+1)-0` admits exactly what `<=M.m.p`
        // does (nothing lies between the two), so it is not reproduced.
        Version high = to.version();
        high.build.clear();
        emit(Op::Le, std::move(high));
      }
    }
  }

  bool include_prerelease_;
  ComparatorSet& out_;
  const char* overflow_ = nullptr;
};

std::string_view op_text(Op op) {
  switch (op) {
    case Op::Eq: return "";
    case Op::Lt: return "<";
    case Op::Le: return "<=";
    case Op::Gt: return ">";
    case Op::Ge: return ">=";
  }
  return "";
}

// node-semver's Comparator.value: operator (none for `=`) and version without build.
std::string comparator_text(const Comparator& c) { return std::string(op_text(c.op)) + core_and_prerelease(c.version); }

bool is_null_set(const ComparatorSet& set) { return !set.empty() && comparator_text(set[0]) == "<0.0.0-0"; }

// node-semver's parseRange clean-up: `>=0.0.0` (`>=0.0.0-0` with include_prerelease) is `*`;
// any `<0.0.0-0` makes the whole set that; duplicates (by printed form) are dropped.
ComparatorSet normalize_set(const ComparatorSet& raw, bool include_prerelease) {
  const std::string match_all = include_prerelease ? ">=0.0.0-0" : ">=0.0.0";
  ComparatorSet out;
  std::unordered_set<std::string> seen;  // a set, since ranges come from untrusted documents
  for (const Comparator& c : raw) {
    std::string text = comparator_text(c);
    if (text == "<0.0.0-0") return {c};
    if (text == match_all || !seen.insert(std::move(text)).second) continue;
    out.push_back(c);
  }
  return out;
}

// node-semver's Range constructor clean-up across `||`: null sets go unless all are null, and
// a match-all set makes the whole range match-all.
void normalize_range(std::vector<ComparatorSet>& sets) {
  if (sets.size() <= 1) return;
  std::vector<ComparatorSet> kept;
  for (auto& set : sets)
    if (!is_null_set(set)) kept.push_back(std::move(set));
  if (kept.empty()) {
    sets.resize(1);  // sets[0] was not moved from: it is a null set
    return;
  }
  for (auto& set : kept) {
    if (set.empty()) {
      sets = {ComparatorSet{}};
      return;
    }
  }
  sets = std::move(kept);
}

struct Word {
  std::string_view text;
  size_t offset;
};

std::vector<Word> split_words(std::string_view s, size_t base) {
  std::vector<Word> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) words.push_back({s.substr(start, i - start), base + start});
  }
  return words;
}

// Parses one version of a term, naming it and its offset in the error.
bool scan_term_version(std::string_view text, size_t offset, Partial& out, std::string& error) {
  ScanError err;
  auto v = scan_version(text, true, err);
  if (!v) {
    error = "invalid version " + quoted(text) + " at offset " + std::to_string(offset) + ": " + err.message;
    return false;
  }
  out = std::move(*v);
  return true;
}

// One AND-set (the text between `||`s) into terms.
bool parse_terms(std::string_view part, size_t base, std::vector<Term>& terms, std::string& error) {
  const std::vector<Word> words = split_words(part, base);
  // A hyphen range is the whole set: `A - B`, with whitespace around the hyphen.
  if (words.size() == 3 && words[1].text == "-") {
    Term t;
    t.kind = Term::Kind::Hyphen;
    t.offset = words[0].offset;
    t.text = part.substr(words[0].offset - base, words[2].offset + words[2].text.size() - words[0].offset);
    if (!scan_term_version(words[0].text, words[0].offset, t.version, error)) return false;
    if (!scan_term_version(words[2].text, words[2].offset, t.to, error)) return false;
    terms.push_back(std::move(t));
    return true;
  }
  struct Prefix {
    std::string_view text;
    Term::Kind kind;
    Op op;
  };
  // Longest first. node-semver reads `~>` as `~`.
  static constexpr Prefix kPrefixes[] = {
      {"~>", Term::Kind::Tilde, Op::Eq},    {"~", Term::Kind::Tilde, Op::Eq},     {"^", Term::Kind::Caret, Op::Eq},
      {">=", Term::Kind::Primitive, Op::Ge}, {"<=", Term::Kind::Primitive, Op::Le}, {">", Term::Kind::Primitive, Op::Gt},
      {"<", Term::Kind::Primitive, Op::Lt},  {"=", Term::Kind::Primitive, Op::Eq},
  };
  for (size_t w = 0; w < words.size(); ++w) {
    const Word& word = words[w];
    if (word.text == "-") {
      error = "unexpected \"-\" at offset " + std::to_string(word.offset) +
              ": a hyphen range is \"VERSION - VERSION\" alone between ||";
      return false;
    }
    Term t;
    t.offset = word.offset;
    std::string_view op;
    for (const Prefix& prefix : kPrefixes) {
      if (word.text.starts_with(prefix.text)) {
        op = prefix.text;
        t.kind = prefix.kind;
        t.op = prefix.op;
        break;
      }
    }
    std::string_view version = word.text.substr(op.size());
    size_t version_offset = word.offset + op.size();
    size_t end = word.offset + word.text.size();
    // `>= 1.2.3`, `~ 1.2`, `^ 1`: the operator may stand apart from its version.
    if (!op.empty() && version.empty()) {
      if (w + 1 == words.size()) {
        error = "operator " + quoted(op) + " at offset " + std::to_string(word.offset) + " has no version";
        return false;
      }
      const Word& next = words[++w];
      version = next.text;
      version_offset = next.offset;
      end = next.offset + next.text.size();
    }
    t.text = part.substr(word.offset - base, end - word.offset);
    if (!scan_term_version(version, version_offset, t.version, error)) return false;
    terms.push_back(std::move(t));
  }
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::strong_ordering operator<=>(const Identifier& a, const Identifier& b) {
  // semver.org 11.4: numeric identifiers sort below alphanumeric ones.
  if (a.numeric != b.numeric) return a.numeric ? std::strong_ordering::less : std::strong_ordering::greater;
  if (a.numeric) return a.number <=> b.number;
  return a.text.compare(b.text) <=> 0;
}

std::strong_ordering operator<=>(const Version& a, const Version& b) {
  if (auto c = a.major <=> b.major; c != 0) return c;
  if (auto c = a.minor <=> b.minor; c != 0) return c;
  if (auto c = a.patch <=> b.patch; c != 0) return c;
  // A pre-release sorts below its release (11.3); otherwise identifier by identifier, with a
  // shorter list lower when all before it are equal (11.4).
  if (a.prerelease.empty() != b.prerelease.empty())
    return a.prerelease.empty() ? std::strong_ordering::greater : std::strong_ordering::less;
  return std::lexicographical_compare_three_way(a.prerelease.begin(), a.prerelease.end(), b.prerelease.begin(),
                                                b.prerelease.end());
}

std::string Version::to_string() const {
  std::string out = core_and_prerelease(*this);
  if (!build.empty()) out += '+' + build;
  return out;
}

Result<Version> Version::parse(std::string_view text) {
  ScanError err;
  auto v = scan_version(text, false, err);
  if (!v) return roster::fail(ErrorKind::Invalid, "invalid_version", quoted(text) + ": " + err.message);
  return v->version();
}

ChangeKind change_kind(const Version& from, const Version& to) {
  if (from.major != to.major) return ChangeKind::Major;
  if (from.minor != to.minor) return ChangeKind::Minor;
  if (from.patch != to.patch) return ChangeKind::Patch;
  if (from.prerelease != to.prerelease) return ChangeKind::Prerelease;
  return ChangeKind::None;
}

std::string_view to_string(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::None: return "none";
    case ChangeKind::Major: return "major";
    case ChangeKind::Minor: return "minor";
    case ChangeKind::Patch: return "patch";
    case ChangeKind::Prerelease: return "prerelease";
  }
  return "none";
}

bool Comparator::test(const Version& v) const {
  switch (op) {
    case Op::Eq: return v == version;
    case Op::Lt: return v < version;
    case Op::Le: return v <= version;
    case Op::Gt: return v > version;
    case Op::Ge: return v >= version;
  }
  return false;
}

Result<Range> Range::parse(std::string_view text) {
  Range range;
  range.text_ = std::string(text);
  std::string why;
  auto fail = [&]() -> Result<Range> {
    return roster::fail(ErrorKind::Invalid, "invalid_range", quoted(text) + ": " + why);
  };
  // `||` splits first; an empty side is `*`, as in node-semver.
  size_t start = 0;
  while (true) {
    const size_t bar = text.find("||", start);
    const size_t end = bar == std::string_view::npos ? text.size() : bar;
    std::vector<Term> terms;
    if (!parse_terms(text.substr(start, end - start), start, terms, why)) return fail();
    for (bool include_prerelease : {false, true}) {
      ComparatorSet raw;
      Desugarer desugar(include_prerelease, raw);
      for (const Term& t : terms)
        if (!desugar.add(t, why)) return fail();
      (include_prerelease ? range.prerelease_sets_ : range.sets_).push_back(normalize_set(raw, include_prerelease));
    }
    if (bar == std::string_view::npos) break;
    start = bar + 2;
  }
  normalize_range(range.sets_);
  normalize_range(range.prerelease_sets_);
  return range;
}

bool Range::satisfies(const Version& v, bool include_prerelease) const {
  for (const ComparatorSet& set : include_prerelease ? prerelease_sets_ : sets_) {
    if (!std::all_of(set.begin(), set.end(), [&](const Comparator& c) { return c.test(v); })) continue;
    if (!v.is_prerelease() || include_prerelease) return true;
    // node-semver's testSet: a pre-release passes only if the set names a pre-release on the
    // same major.minor.patch (`^1.2.3-beta.2` admits 1.2.3-beta.4, not 1.2.4-beta). The `-0`
    // upper bounds node-semver synthesises are counted too, as it does; that changes nothing,
    // since no pre-release of X.Y.Z is below X.Y.Z-0.
    for (const Comparator& c : set) {
      if (c.version.is_prerelease() && c.version.major == v.major && c.version.minor == v.minor &&
          c.version.patch == v.patch)
        return true;
    }
  }
  return false;
}

const Version* Range::max_satisfying(std::span<const Version> versions, bool include_prerelease) const {
  const Version* best = nullptr;
  for (const Version& v : versions)
    if ((best == nullptr || v > *best) && satisfies(v, include_prerelease)) best = &v;
  return best;
}

std::string Range::to_string() const {
  std::string out;
  for (size_t i = 0; i < sets_.size(); ++i) {
    if (i > 0) out += "||";
    for (size_t k = 0; k < sets_[i].size(); ++k) {
      if (k > 0) out += ' ';
      out += comparator_text(sets_[i][k]);
    }
  }
  return out.empty() ? "*" : out;
}

}  // namespace roster::semver
