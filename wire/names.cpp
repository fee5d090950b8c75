#include "wire/names.hpp"

#include <array>
#include <utility>

namespace roster::wire {
namespace {

template <typename Enum, size_t N>
std::optional<Enum> find(const std::array<std::pair<std::string_view, Enum>, N>& table, std::string_view name) {
  for (auto& [n, e] : table)
    if (n == name) return e;
  return std::nullopt;
}

template <typename Enum, size_t N>
std::string_view name_of(const std::array<std::pair<std::string_view, Enum>, N>& table, Enum value) {
  for (auto& [n, e] : table)
    if (e == value) return n;
  return "unknown";
}

constexpr std::array<std::pair<std::string_view, LifecycleStage>, 7> kStages{{
    {"proposed", LifecycleStage::Proposed},
    {"development", LifecycleStage::Development},
    {"beta", LifecycleStage::Beta},
    {"stable", LifecycleStage::Stable},
    {"deprecated", LifecycleStage::Deprecated},
    {"sunset", LifecycleStage::Sunset},
    {"retired", LifecycleStage::Retired},
}};

constexpr std::array<std::pair<std::string_view, Health>, 4> kHealth{{
    {"up", Health::Up},
    {"down", Health::Down},
    {"starting", Health::Starting},
    {"out_of_service", Health::OutOfService},
}};

constexpr std::array<std::pair<std::string_view, SchemaFormat>, 3> kFormats{{
    {"none", SchemaFormat::None},
    {"openapi", SchemaFormat::OpenApi},
    {"json_schema", SchemaFormat::JsonSchema},
}};

}  // namespace

std::string_view to_string(LifecycleStage stage) { return name_of(kStages, stage); }
std::optional<LifecycleStage> parse_lifecycle_stage(std::string_view name) { return find(kStages, name); }
std::string_view to_string(Health health) { return name_of(kHealth, health); }
std::optional<Health> parse_health(std::string_view name) { return find(kHealth, name); }
std::string_view to_string(SchemaFormat format) { return name_of(kFormats, format); }
std::optional<SchemaFormat> parse_schema_format(std::string_view name) {
  auto f = find(kFormats, name);
  return f == SchemaFormat::None ? std::nullopt : f;
}

}  // namespace roster::wire
