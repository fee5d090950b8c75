// The JSON names of the data model's enums, both ways. Header-only: readers (the Python module,
// SDK users) name stages and health without linking the codec.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <utility>

#include "roster/wire/roster_generated.h"

namespace roster::wire {

namespace names_detail {

template <typename Enum, size_t N>
constexpr std::optional<Enum> find(const std::array<std::pair<std::string_view, Enum>, N>& table, std::string_view name) {
  for (auto& [n, e] : table)
    if (n == name) return e;
  return std::nullopt;
}

template <typename Enum, size_t N>
constexpr std::string_view name_of(const std::array<std::pair<std::string_view, Enum>, N>& table, Enum value) {
  for (auto& [n, e] : table)
    if (e == value) return n;
  return "unknown";
}

inline constexpr std::array<std::pair<std::string_view, LifecycleStage>, 7> kStages{{
    {"proposed", LifecycleStage::Proposed},
    {"development", LifecycleStage::Development},
    {"beta", LifecycleStage::Beta},
    {"stable", LifecycleStage::Stable},
    {"deprecated", LifecycleStage::Deprecated},
    {"sunset", LifecycleStage::Sunset},
    {"retired", LifecycleStage::Retired},
}};

inline constexpr std::array<std::pair<std::string_view, Health>, 4> kHealth{{
    {"up", Health::Up},
    {"down", Health::Down},
    {"starting", Health::Starting},
    {"out_of_service", Health::OutOfService},
}};

inline constexpr std::array<std::pair<std::string_view, SchemaFormat>, 3> kFormats{{
    {"none", SchemaFormat::None},
    {"openapi", SchemaFormat::OpenApi},
    {"json_schema", SchemaFormat::JsonSchema},
}};

// The spelling of the settings API (GET /v1/services/{name}/compatibility).
inline constexpr std::array<std::pair<std::string_view, CompatibilityMode>, 7> kCompatibility{{
    {"BACKWARD", CompatibilityMode::Backward},
    {"BACKWARD_TRANSITIVE", CompatibilityMode::BackwardTransitive},
    {"FORWARD", CompatibilityMode::Forward},
    {"FORWARD_TRANSITIVE", CompatibilityMode::ForwardTransitive},
    {"FULL", CompatibilityMode::Full},
    {"FULL_TRANSITIVE", CompatibilityMode::FullTransitive},
    {"NONE", CompatibilityMode::None},
}};

}  // namespace names_detail

constexpr std::string_view to_string(LifecycleStage stage) { return names_detail::name_of(names_detail::kStages, stage); }
constexpr std::optional<LifecycleStage> parse_lifecycle_stage(std::string_view name) {
  return names_detail::find(names_detail::kStages, name);
}
constexpr std::string_view to_string(Health health) { return names_detail::name_of(names_detail::kHealth, health); }
constexpr std::optional<Health> parse_health(std::string_view name) { return names_detail::find(names_detail::kHealth, name); }
constexpr std::string_view to_string(SchemaFormat format) { return names_detail::name_of(names_detail::kFormats, format); }
// openapi or json_schema ("none" is not a format one can declare).
constexpr std::optional<SchemaFormat> parse_schema_format(std::string_view name) {
  auto f = names_detail::find(names_detail::kFormats, name);
  return f == SchemaFormat::None ? std::nullopt : f;
}

constexpr std::string_view to_string(CompatibilityMode mode) {
  return names_detail::name_of(names_detail::kCompatibility, mode);
}
constexpr std::optional<CompatibilityMode> parse_compatibility_mode(std::string_view name) {
  return names_detail::find(names_detail::kCompatibility, name);
}

}  // namespace roster::wire
