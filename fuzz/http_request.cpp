// Fuzz harness: what roster-server and roster-agent read from an HTTP client before any handler
// runs: net::HttpRequestParser fed the bytes in fuzz-chosen pieces (see Pieces in
// fuzz_support.hpp), then, for each request, net::parse_target (path, segments, query: the
// percent-decoding the route table works on) and the lookups handlers make (query_param,
// query_params, header).
//
// Input: byte 0 (low 4 bits: the number of split sizes that follow; bit 4: small limits, 256
// header bytes and 64 body bytes, instead of the server's defaults), the split sizes, the bytes.
// Checked: a refusal is final (every later next() returns it again) and carries a 4xx/5xx status
// and a code; a request that parsed has a method, a target, version 10 or 11 and a body within
// the limit; a target parse_target accepts has a path starting with '/', and each of its query
// parameters can be looked up by name.
#include <variant>

#include "fuzz_support.hpp"
#include "roster/net/http_request_parser.hpp"

namespace {

using namespace roster;

void use(net::HttpRequest& request, const net::HttpParserLimits& limits) {
  FUZZ_CHECK(!request.method.empty());
  FUZZ_CHECK(!request.target.empty());
  FUZZ_CHECK(request.version == 10 || request.version == 11);
  FUZZ_CHECK(request.body.size() <= limits.max_body_bytes);
  for (const auto& [name, value] : request.headers) (void)name.size(), (void)value.size();
  for (const char* name : {"Content-Type", "Authorization", "Expect", "Host", "X-Nope"}) (void)request.header(name);
  if (!net::parse_target(request)) return;  // answered 400, the connection goes on
  FUZZ_CHECK(!request.path.empty() && request.path[0] == '/');
  FUZZ_CHECK(request.target.find(request.path) != std::string::npos);
  for (const auto& segment : request.segments) (void)segment.size();
  for (const auto& [name, value] : request.query) {
    auto first = request.query_param(name);
    FUZZ_CHECK(first.has_value());
    FUZZ_CHECK(!request.query_params(name).empty());
  }
  for (const char* name : {"version", "dry_run", "healthy", "stage", "team", "tag", ""}) {
    (void)request.query_param(name);
    (void)request.query_params(name);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  net::HttpParserLimits limits;
  if (data[0] & 0x10) limits = {.max_header_bytes = 256, .max_body_bytes = 64};
  fuzz::Input in(data, size);
  const fuzz::Pieces pieces(in);
  net::HttpRequestParser parser(limits);
  std::optional<net::HttpRefusal> refusal;
  pieces.each([&](std::span<const uint8_t> piece) {
    parser.feed(piece);
    for (int guard = 0; guard < 100000; ++guard) {
      auto parsed = parser.next();
      if (std::holds_alternative<net::HttpNeedMore>(parsed)) return;
      if (auto* r = std::get_if<net::HttpRefusal>(&parsed)) {
        FUZZ_CHECK(r->status >= 400 && r->status < 600);
        FUZZ_CHECK(!r->code.empty());
        FUZZ_CHECK(parser.refused());
        if (refusal) FUZZ_CHECK(refusal->status == r->status && refusal->code == r->code);
        refusal = *r;
        return;
      }
      FUZZ_CHECK(!refusal);
      if (auto* request = std::get_if<net::HttpRequest>(&parsed)) use(*request, limits);
      // HttpContinueWanted: the server answers 100 Continue and goes on reading.
    }
    FUZZ_CHECK(false && "next() never asked for more input");
  });
  if (refusal) {
    auto again = parser.next();
    auto* r = std::get_if<net::HttpRefusal>(&again);
    FUZZ_CHECK(r && r->status == refusal->status && r->code == refusal->code);
  }
  (void)parser.idle();
  (void)parser.in_header();
  (void)parser.buffered();
  return 0;
}
