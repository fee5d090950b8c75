// Fuzz harness: the converters behind `rosterctl import --from eureka|consul|kubernetes FILE`,
// which read files exported from other systems (cli/importers.hpp).
//
// The first byte picks the system (and whether a default team and version are given); the rest is
// the file. Checked beyond "no crash, no sanitizer error":
//   - all or nothing: a result with errors carries no document, and every error names where (a
//     JSON path or the file) and what;
//   - a converted document is one the registry accepts as it is: it decodes without errors into
//     as many versions and instances as the converter counted.
#include <string_view>

#include "fuzz_support.hpp"
#include "importers.hpp"
#include "roster/wire/json_decoder.hpp"

namespace {

using namespace roster;

cli::ImportResult convert(uint8_t system, std::string_view text, const cli::ImportOptions& options) {
  switch (system % 3) {
    case 0: return cli::import_eureka(text, options);
    case 1: return cli::import_consul(text, options);
    default: return cli::import_kubernetes(text, options);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const uint8_t selector = in.byte();
  cli::ImportOptions options;
  if (selector & 0x04) options.owner_team = "platform";
  if (selector & 0x08) options.default_version = "1.0.0";
  const auto rest = in.take(in.left());
  const std::string_view text(reinterpret_cast<const char*>(rest.data()), rest.size());

  const cli::ImportResult result = convert(selector, text, options);
  if (!result.ok()) {
    FUZZ_CHECK(result.document.empty());
    for (const auto& e : result.errors) FUZZ_CHECK(!e.message.empty() && !e.code.empty());
    return 0;
  }
  wire::JsonDecoder decoder;
  const wire::DecodedDocument doc = decoder.decode(result.document);
  FUZZ_CHECK(doc.ok());
  FUZZ_CHECK(doc.services.size() == result.versions);
  FUZZ_CHECK(doc.instances.size() == result.instances);
  return 0;
}
