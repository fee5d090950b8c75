// docs/lifecycle.md's order for "latest" and dependency resolution, written out apart from the
// code under test (roster/model/version_choice.hpp), for the tests that check the graph and the
// arena against it.
#pragma once

#include "roster/wire/roster_generated.h"

namespace roster::testing {

// 0 stable, 1 deprecated or sunset, 2 beta: chosen in that order, then by precedence.
// 3 proposed or development, 4 retired: never chosen.
inline int oracle_tier(wire::LifecycleStage stage) {
  switch (stage) {
    case wire::LifecycleStage::Stable: return 0;
    case wire::LifecycleStage::Deprecated:
    case wire::LifecycleStage::Sunset: return 1;
    case wire::LifecycleStage::Beta: return 2;
    case wire::LifecycleStage::Proposed:
    case wire::LifecycleStage::Development: return 3;
    default: return 4;
  }
}

}  // namespace roster::testing
