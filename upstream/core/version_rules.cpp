#include "roster/upstream/version_rules.hpp"

#include "roster/wire/names.hpp"

namespace roster::upstream {

namespace {

std::string name_at(const wire::ServiceVersion& v) { return v.name()->str() + "@" + v.version()->str(); }

struct Times {
  int64_t created_at_ms, updated_at_ms;
};

std::vector<uint8_t> rewrite(const wire::ServiceVersion& v, wire::LifecycleStage stage, const model::LifecycleDates& dates,
                             std::string_view reason, Times times) {
  wire::ServiceVersionT t;
  v.UnPackTo(&t);
  t.stage = stage;
  t.deprecated_at_ms = dates.deprecated_at_ms;
  t.sunset_at_ms = dates.sunset_at_ms;
  t.retired_at_ms = dates.retired_at_ms;
  t.deprecation_reason = std::string(reason);
  t.created_at_ms = times.created_at_ms;
  t.updated_at_ms = times.updated_at_ms;
  flatbuffers::FlatBufferBuilder fbb(1024);
  fbb.ForceDefaults(true);  // keeps `revision` in the buffer, stamped in place at commit
  fbb.Finish(wire::ServiceVersion::Pack(fbb, &t));
  return {fbb.GetBufferPointer(), fbb.GetBufferPointer() + fbb.GetSize()};
}

std::string_view reason_of(const wire::ServiceVersion& v) {
  return v.deprecation_reason() ? v.deprecation_reason()->string_view() : std::string_view();
}

}  // namespace

wire::LifecycleStage stage_of(const wire::ServiceVersion& v) { return v.stage(); }

model::LifecycleDates dates_of(const wire::ServiceVersion& v) {
  return {v.deprecated_at_ms(), v.sunset_at_ms(), v.retired_at_ms()};
}

Result<std::vector<uint8_t>> settle_lifecycle(const wire::ServiceVersion& candidate,
                                                              const wire::ServiceVersion* existing, bool import,
                                                              int64_t now_ms, const model::LifecyclePolicy& policy) {
  const wire::LifecycleStage stage = stage_of(candidate);
  model::LifecycleDates dates;
  std::string_view reason = reason_of(candidate);
  if (existing) {
    const wire::LifecycleStage from = stage_of(*existing);
    dates = dates_of(*existing);
    if (reason.empty()) reason = reason_of(*existing);
    if (stage != from) {
      if (auto allowed = model::check_transition(from, stage); !allowed)
        return fail(ErrorKind::Conflict, "invalid_transition", name_at(candidate) + ": " + allowed.error().message,
                    "lifecycle_stage");
      dates = model::dates_after_transition(from, stage, dates, now_ms, policy);
    }
  } else if (import) {
    // An imported version keeps its stage and dates; those its stage implies but lacks are now.
    dates = dates_of(candidate);
    if (stage >= wire::LifecycleStage::Deprecated && !dates.deprecated_at_ms) dates.deprecated_at_ms = now_ms;
    if (stage == wire::LifecycleStage::Deprecated && !dates.sunset_at_ms)
      dates.sunset_at_ms = dates.deprecated_at_ms + policy.sunset_after_days * model::kDayMs;
    if (stage >= wire::LifecycleStage::Sunset && !dates.sunset_at_ms) dates.sunset_at_ms = now_ms;
    if (stage == wire::LifecycleStage::Retired && !dates.retired_at_ms) dates.retired_at_ms = now_ms;
  } else if (auto allowed = model::check_initial_stage(stage); !allowed) {
    return fail(ErrorKind::Conflict, "invalid_transition", name_at(candidate) + ": " + allowed.error().message,
                "lifecycle_stage");
  }
  Times times{now_ms, now_ms};
  if (existing && existing->created_at_ms())
    times.created_at_ms = existing->created_at_ms();
  else if (import && !existing && candidate.created_at_ms())
    times = {candidate.created_at_ms(), candidate.updated_at_ms() ? candidate.updated_at_ms() : now_ms};
  return rewrite(candidate, stage, dates, reason, times);
}

std::vector<uint8_t> moved(const wire::ServiceVersion& v, wire::LifecycleStage to, std::string_view reason, int64_t now_ms,
                           const model::LifecyclePolicy& policy) {
  const auto dates = model::dates_after_transition(stage_of(v), to, dates_of(v), now_ms, policy);
  return rewrite(v, to, dates, reason.empty() ? reason_of(v) : reason, {v.created_at_ms() ? v.created_at_ms() : now_ms, now_ms});
}

Result<void> check_dependencies(const model::DependencyGraph& graph, const wire::ServiceVersion& v,
                                std::vector<std::string>& warnings) {
  if (!v.dependencies()) return {};
  std::optional<Error> refusal;
  for (flatbuffers::uoffset_t i = 0; i < v.dependencies()->size(); ++i) {
    auto* d = v.dependencies()->Get(i);
    const std::string what = name_at(v) + ": dependency " + d->service()->str() + " " + d->range()->str();
    const auto r = graph.resolve(d->service()->string_view(), d->range()->string_view());
    using Status = model::ResolutionStatus;
    switch (r.status) {
      case Status::OnlyRetired:
        if (!refusal)
          refusal = Error{ErrorKind::Rejected, "retired_dependency",
                          what + " can only resolve to a retired version; depend on a live version instead",
                          "dependencies[" + std::to_string(i) + "]"};
        break;
      case Status::NoSuchService:
      case Status::NoMatch:
        warnings.push_back(what + " does not resolve to any registered version yet");
        break;
      case Status::OnlyUnreleased:
        warnings.push_back(what + " matches only proposed or development versions, which are never chosen;" +
                           " it resolves once one of them reaches beta or stable");
        break;
      case Status::Resolved:
        if (r.stage == wire::LifecycleStage::Deprecated || r.stage == wire::LifecycleStage::Sunset)
          warnings.push_back(what + " resolves to " + r.target.to_string() + ", which is " +
                             std::string(wire::to_string(r.stage)));
        break;
      default:
        break;
    }
  }
  if (refusal) return fail(*refusal);
  return {};
}

}  // namespace roster::upstream
