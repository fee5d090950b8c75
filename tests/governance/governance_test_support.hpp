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

// `text` parsed without parse_json's depth limit: the DOM a program could build by hand, for
// testing that each walker's own depth limit holds when the parser's is bypassed.
inline rapidjson::Document deep_json(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  EXPECT_FALSE(doc.HasParseError()) << "not JSON: " << text.substr(0, 80);
  return doc;
}

}  // namespace roster::governance
