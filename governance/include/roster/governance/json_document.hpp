// JSON documents for the schema rules (OpenAPI, JSON Schema, Pact): a RapidJSON DOM, which is
// also what valijson validates. The hot-path codec uses simdjson (wire/); these rules need a
// DOM they can walk, compare and hand to valijson, and RapidJSON is valijson's own adapter.
#pragma once

#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "roster/base/result.hpp"

namespace roster::governance {

// How deeply arrays and objects may nest in a document the schema rules read (as the registry
// decoder allows): deeper input is refused before anything parses or walks it recursively.
inline constexpr size_t kMaxJsonDepth = 256;

// Parses UTF-8 JSON text strictly: one value, nothing after it, valid encoding, at most
// kMaxJsonDepth levels. On failure an Error {Invalid, "invalid_json", "line L, column C
// (offset N): what went wrong"}.
Result<rapidjson::Document> parse_json(std::string_view text);

// JSON Pointer (RFC 6901) helpers: a reference token escaped (~ → ~0, / → ~1), and appended.
std::string pointer_escape(std::string_view token);
std::string pointer_append(std::string_view pointer, std::string_view token);
std::string pointer_append(std::string_view pointer, size_t index);

// The value a local reference ("#/components/schemas/User", with ~0 ~1 and %XX escapes) names
// inside `root`; nullptr when it does not resolve or is not local.
const rapidjson::Value* resolve_local_ref(const rapidjson::Value& root, std::string_view ref);

// The JSON Pointer a local reference's URI fragment spells, %XX decoded ("/a%20b" -> "/a b"): follow_refs reports
// fragments, findings carry pointers. A malformed escape leaves the text as written.
std::string fragment_to_pointer(std::string_view fragment);

// Follows `value`'s "$ref" chain (if any) inside `root` and returns the value it ends at, or
// nullptr when a reference does not resolve or the chain loops. `pointer`, when given, is
// updated to the final target's location ("#/..." without the '#').
const rapidjson::Value* follow_refs(const rapidjson::Value& root, const rapidjson::Value& value,
                                    std::string* pointer = nullptr);

// Member lookup that tolerates non-objects: nullptr unless `object` is an object holding `key`.
const rapidjson::Value* member(const rapidjson::Value& object, std::string_view key);

// True when `value` nests more than `limit` levels of arrays and objects (recursive walks check
// this first, so hostile input cannot exhaust the stack).
bool deeper_than(const rapidjson::Value& value, int limit);

// The value as compact JSON text (for messages and hashing).
std::string to_json_text(const rapidjson::Value& value);

}  // namespace roster::governance
