// Fuzz harness: the governance rules the HTTP API runs on client bodies (upstream/http/
// governance_routes.cpp, upstream/core/schema_rules.cpp and registry.cpp): parse_json, the
// JSON Schema and OpenAPI checks, the OpenAPI diff, the compatibility modes, Pact parsing and
// verification, and schema compilation and validation.
//
// Input: one options byte (bits 0-2: the compatibility mode, bit 7: lenient), then document A,
// optionally a NUL byte and document B (JSON text never holds a raw NUL). Two-document rules take
// A as the older version (or the pact, or the schema) and B as the newer one (or the provider's
// OpenAPI document, or the instance). Nesting past parse_json's limit must be an error, never a
// stack overflow.
#include <cstring>
#include <optional>

#include "fuzz_support.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/governance/json_schema.hpp"
#include "roster/governance/openapi_check.hpp"
#include "roster/governance/openapi_diff.hpp"
#include "roster/governance/pact.hpp"
#include "roster/governance/schema_compat.hpp"

namespace {

using namespace roster;
using namespace roster::governance;

struct Parsed {
  rapidjson::Document doc;
  bool openapi = false;
  bool valid = false;  // an object without schema problems, as the routes require
};

std::optional<Parsed> parse(std::string_view text) {
  auto doc = parse_json(text);
  if (!doc) {
    FUZZ_CHECK(doc.error().code == "invalid_json");
    return std::nullopt;
  }
  Parsed p{std::move(*doc)};
  // As the routes do (detect_format + schema_problems in upstream/core/schema_rules.cpp).
  p.openapi = member(p.doc, "openapi") != nullptr;
  const auto problems = p.openapi ? check_openapi(p.doc) : check_json_schema(p.doc, p.doc);
  p.valid = p.doc.IsObject() && problems.empty();
  (void)to_json_text(p.doc);
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t options = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t nul = body.find('\0');
  const std::string_view text_a = body.substr(0, nul);
  const std::optional<std::string_view> text_b =
      nul == std::string_view::npos ? std::nullopt : std::optional<std::string_view>(body.substr(nul + 1));

  const auto mode = static_cast<CompatibilityMode>((options & 7) % 7);
  const CompatibilityOptions compat{.lenient = (options & 0x80) != 0};
  (void)parse_compatibility_mode(text_a.substr(0, 32));

  auto a = parse(text_a);
  std::optional<Parsed> b;
  if (text_b) b = parse(*text_b);

  if (a) {
    // PUT /v1/contracts/...: the pact is parsed, then verified against a provider's document.
    auto pact = parse_pact(a->doc);
    if (pact && b && b->valid && b->openapi) {
      auto verification = verify_pact(*pact, b->doc);
      FUZZ_CHECK(verification.ok() == verification.failures.empty());
    }
    // Schemas compile once and validate many instances (contract verification does this).
    if (a->valid && !a->openapi && (options & 0x40)) {
      if (auto compiled = CompiledSchema::compile(a->doc)) (void)compiled->validate(b ? b->doc : a->doc);
    }
  }
  if (a && b) {
    // POST /v1/schemas/diff; the evolution report diffs stored versions. Any shape yields a result.
    auto diff = diff_openapi(a->doc, b->doc);
    FUZZ_CHECK(diff.breaking() == needs_major_bump(diff.findings));
    // POST /v1/schemas/compat: both documents valid and of the same format.
    if (a->valid && b->valid && a->openapi == b->openapi) {
      if (a->openapi) {
        const OpenApiVersionRef history[] = {{"old", &a->doc}};
        (void)check_openapi_compatibility(mode, history, {"new", &b->doc}, compat);
      } else {
        const SchemaVersionRef history[] = {{"old", &a->doc, ""}};
        (void)check_compatibility(mode, history, {"new", &b->doc, ""}, compat);
        (void)reader_incompatibilities(a->doc, a->doc, b->doc, b->doc, compat);
      }
    }
  }
  return 0;
}
