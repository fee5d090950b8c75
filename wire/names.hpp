// The JSON names of the data model's enums, both ways.
#pragma once

#include <optional>
#include <string_view>

#include "roster/wire/roster_generated.h"

namespace roster::wire {

std::string_view to_string(LifecycleStage stage);
std::optional<LifecycleStage> parse_lifecycle_stage(std::string_view name);
std::string_view to_string(Health health);
std::optional<Health> parse_health(std::string_view name);
std::string_view to_string(SchemaFormat format);
std::optional<SchemaFormat> parse_schema_format(std::string_view name);  // openapi, json_schema

}  // namespace roster::wire
