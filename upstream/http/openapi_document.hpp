// docs/openapi.json as compiled into roster-server (cmake/EmbedFile.cmake generates its definition).
#pragma once

#include <string_view>

namespace roster::upstream {

extern const std::string_view kOpenApiDocument;

}  // namespace roster::upstream
