// Which of a service's versions "latest" and a dependency range choose. This is the one rule: the
// server's routes (VersionIndex), the dependency graph and the agent's arena (NodeBuilder) all
// call choose_version(), so the three can never disagree. docs/lifecycle.md explains it to users.
//
// Among the versions that fit (a range admits them; for "latest", every version that is not a
// pre-release), the best tier that has one wins, and within a tier the highest precedence:
//   1. stable
//   2. deprecated, sunset   still chosen when no stable version fits (the server warns)
//   3. beta                 only when nothing released fits: a service without a stable version yet
//   never: proposed, development (not ready to be depended on), retired (gone)
// Asking for every stage (`?prerelease=true`, Latest::IncludingPrereleases) instead chooses the
// highest version that is not retired.
#pragma once

#include <cstdint>
#include <iterator>

#include "roster/wire/roster_generated.h"

namespace roster::model {

enum class ChoiceTier : uint8_t { Stable, Winding, Beta, Unreleased, Retired, NothingFits };

constexpr ChoiceTier choice_tier(wire::LifecycleStage stage) {
  switch (stage) {
    case wire::LifecycleStage::Stable: return ChoiceTier::Stable;
    case wire::LifecycleStage::Deprecated:
    case wire::LifecycleStage::Sunset: return ChoiceTier::Winding;
    case wire::LifecycleStage::Beta: return ChoiceTier::Beta;
    case wire::LifecycleStage::Proposed:
    case wire::LifecycleStage::Development: return ChoiceTier::Unreleased;
    case wire::LifecycleStage::Retired: return ChoiceTier::Retired;
  }
  return ChoiceTier::Retired;  // a stage this build does not know is never chosen
}

// Whether a version in `tier` can be chosen at all.
constexpr bool choosable(ChoiceTier tier) { return tier <= ChoiceTier::Beta; }

// The tier a version counts in; asking for every stage puts every live version in the first.
constexpr ChoiceTier choice_tier(wire::LifecycleStage stage, bool every_stage) {
  const ChoiceTier tier = choice_tier(stage);
  return every_stage && tier != ChoiceTier::Retired ? ChoiceTier::Stable : tier;
}

// What choose_version found. `tier` is the chosen version's; when none was chosen, the best tier
// among the versions that fit (Unreleased or Retired), or NothingFits.
template <class It>
struct Choice {
  It chosen;  // `last` when none
  ChoiceTier tier = ChoiceTier::NothingFits;
};

// Chooses among [first, last), which holds one service's versions in ascending precedence.
// stage_of(*it) gives a version's stage, fits(*it) whether it is a candidate at all.
template <class It, class StageOf, class Fits>
Choice<It> choose_version(It first, It last, StageOf stage_of, Fits fits, bool every_stage = false) {
  Choice<It> best{last};
  for (It it = last; it != first;) {
    --it;  // highest precedence first: the first fit of a tier is that tier's choice
    const ChoiceTier tier = choice_tier(stage_of(*it), every_stage);
    if (tier >= best.tier || !fits(*it)) continue;
    best.tier = tier;
    best.chosen = choosable(tier) ? it : last;
    if (tier == ChoiceTier::Stable) break;  // nothing can beat it
  }
  return best;
}

// What "latest" means among [first, last): every version without a pre-release tag fits (as for the
// range "*"), or with `every_stage` every version. version_of(*it) gives a semver::Version.
template <class It, class StageOf, class VersionOf>
Choice<It> choose_latest(It first, It last, StageOf stage_of, VersionOf version_of, bool every_stage) {
  return choose_version(
      first, last, stage_of, [&](const auto& v) { return every_stage || !version_of(v).is_prerelease(); }, every_stage);
}

// Whether a version of tier `a` is chosen over one of tier `b` when both fit; `a_higher`: `a` has
// the higher precedence. (The order choose_version applies, for callers that keep a choice and
// only ask whether a changed version takes it over.)
constexpr bool preferred(ChoiceTier a, bool a_higher, ChoiceTier b) {
  return choosable(a) && (a < b || (a == b && a_higher));
}

}  // namespace roster::model
