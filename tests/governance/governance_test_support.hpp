// What the governance tests share.
#pragma once

#include <gtest/gtest.h>

#include <string_view>
#include <utility>

#include <rapidjson/document.h>

#include "roster/governance/json_document.hpp"

namespace roster::governance {

// `text` parsed; a test failure, and a null document, when it is not JSON.
inline rapidjson::Document json(std::string_view text) {
  auto parsed = parse_json(text);
  if (!parsed) {
    ADD_FAILURE() << parsed.error().message << " in " << text;
    return {};
  }
  return std::move(*parsed);
}

}  // namespace roster::governance
