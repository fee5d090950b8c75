#include "roster/net/http_request_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <limits>
#include <optional>
#include <vector>

namespace roster::net {
namespace http = boost::beast::http;
namespace {

std::string to_std(boost::beast::string_view s) { return {s.data(), s.size()}; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The transfer codings of every Transfer-Encoding field, in order (RFC 9112 section 6.1: a
// list, possibly over several fields; empty elements do not count; parameters are dropped).
std::vector<std::string_view> transfer_codings(const http::request<http::string_body>& message) {
  std::vector<std::string_view> codings;
  for (const auto& field : message) {
    if (field.name() != http::field::transfer_encoding) continue;
    std::string_view rest(field.value().data(), field.value().size());
    while (true) {
      size_t comma = rest.find(',');
      std::string_view element = rest.substr(0, comma);
      element = trim(element.substr(0, element.find(';')));
      if (!element.empty()) codings.push_back(element);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return codings;
}

std::string joined(const std::vector<std::string_view>& codings) {
  std::string out;
  for (auto c : codings) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

bool has_field(const http::request<http::string_body>& message, http::field name) {
  return message.find(name) != message.end();
}

HttpRefusal ambiguous(std::string message) {
  return {400, "ambiguous_framing", std::move(message) + ": the request's length is ambiguous"};
}

}  // namespace

struct HttpRequestParser::Impl {
  HttpParserLimits limits;
  std::vector<uint8_t> buffer;  // [begin, end) not yet taken by Beast
  size_t begin = 0;
  std::optional<http::request_parser<http::string_body>> parser;  // the current request's
  bool framing_checked = false;
  bool continue_given = false;
  std::optional<HttpRefusal> refusal;

  void start_request() {
    parser.emplace();
    parser->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(limits.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    // Beast compares a Content-Length against this as soon as the header is complete, so an
    // oversized body is refused before any of it is taken.
    parser->body_limit(static_cast<std::uint64_t>(limits.max_body_bytes));
    // Not eager until the framing is checked: no body byte is taken for a request whose body's
    // length is ambiguous.
    parser->eager(false);
    framing_checked = false;
    continue_given = false;
  }

  HttpRefusal refuse(HttpRefusal r) {
    refusal = std::move(r);
    parser.reset();
    buffer.clear();
    begin = 0;
    return *refusal;
  }

  // Beast checks what it can field by field; the fields before the offending one are in the
  // message, which says which rule was broken.
  HttpRefusal from_beast(const boost::system::error_code& ec) {
    const auto& message = parser->get();
    if (ec == http::error::header_limit)
      return {431, "headers_too_large",
              "request line and headers exceed the limit of " + std::to_string(limits.max_header_bytes) + " bytes"};
    if (ec == http::error::body_limit) {
      std::string text = "request body exceeds the limit of " + std::to_string(limits.max_body_bytes) + " bytes";
      // From the stored field: content_length() asserts a finished header, and Beast reports an
      // oversized Content-Length from inside finishing it.
      auto length = message[http::field::content_length];
      if (!length.empty()) text += " (Content-Length: " + to_std(length) + ")";
      if (!limits.max_body_setting.empty()) text += "; " + std::string(limits.max_body_setting) + " sets the limit";
      return {413, "body_too_large", text};
    }
    if (ec == http::error::bad_transfer_encoding) {
      if (has_field(message, http::field::content_length)) return ambiguous("Transfer-Encoding together with Content-Length");
      return ambiguous("Transfer-Encoding after chunked (chunked must be the final coding, and only once)");
    }
    if (ec == http::error::bad_content_length) {
      if (has_field(message, http::field::transfer_encoding)) return ambiguous("Content-Length together with Transfer-Encoding");
      if (has_field(message, http::field::content_length)) return ambiguous("several Content-Length values that differ");
      return {400, "malformed_request",
              "malformed HTTP request: Content-Length must be one decimal number (or equal ones)"};
    }
    return {400, "malformed_request", "malformed HTTP request: " + ec.message()};
  }

  // RFC 9112 section 6: the framing rules Beast does not enforce. Beast frames by the final
  // coding alone and accepts a Content-Length after a Transfer-Encoding that is not chunked;
  // a proxy in front may read the same bytes the other way, so anything ambiguous is refused.
  std::optional<HttpRefusal> check_framing() const {
    const auto& message = parser->get();
    if (!has_field(message, http::field::transfer_encoding)) return std::nullopt;
    if (has_field(message, http::field::content_length)) return ambiguous("Transfer-Encoding together with Content-Length");
    if (message.version() < 11) return ambiguous("Transfer-Encoding in an HTTP/1.0 request");
    const auto codings = transfer_codings(message);
    if (codings.empty() || !iequals(codings.back(), "chunked"))
      return ambiguous("Transfer-Encoding \"" + joined(codings) + "\" does not end with chunked");
    if (std::count_if(codings.begin(), codings.end(), [](auto c) { return iequals(c, "chunked"); }) > 1)
      return ambiguous("Transfer-Encoding \"" + joined(codings) + "\" applies chunked more than once");
    for (auto c : codings)
      if (!iequals(c, "chunked"))
        return HttpRefusal{501, "not_implemented",
                           "transfer coding \"" + std::string(c) + "\" is not implemented (only chunked is)"};
    return std::nullopt;
  }

  // Once the header is in: the framing check, then the go-ahead a 100-continue client waits for.
  std::optional<HttpParsed> after_header() {
    if (!parser->is_header_done()) return std::nullopt;
    if (!framing_checked) {
      framing_checked = true;
      if (auto refused = check_framing()) return refuse(std::move(*refused));
      parser->eager(true);  // the body may now be parsed in the same put() as what precedes it
    }
    // Only once what was fed is parsed: a client that sent body bytes without waiting needs none.
    if (!continue_given && !parser->is_done() && begin == buffer.size()) {
      const auto& message = parser->get();
      auto expect = message[http::field::expect];
      if (message.version() >= 11 && iequals({expect.data(), expect.size()}, "100-continue")) {
        continue_given = true;
        return HttpContinueWanted{};
      }
    }
    return std::nullopt;
  }

  HttpRequest take_request() {
    http::request<http::string_body> message = parser->release();
    parser.reset();
    HttpRequest request;
    request.method = to_std(message.method_string());
    request.target = to_std(message.target());
    request.version = message.version();
    request.keep_alive = message.keep_alive();
    for (const auto& field : message) request.headers.add(to_std(field.name_string()), to_std(field.value()));
    request.body = std::move(message.body());
    return request;
  }

  // Drops what Beast took once it is most of the buffer, so the buffer holds about one header
  // plus what arrived after it.
  void compact() {
    if (begin == buffer.size()) {
      buffer.clear();
      begin = 0;
    } else if (begin > buffer.size() / 2) {
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(begin));
      begin = 0;
    }
  }

  HttpParsed next() {
    if (refusal) return *refusal;
    for (;;) {
      if (!parser) start_request();
      if (auto parsed = after_header()) return std::move(*parsed);
      if (parser->is_done()) return take_request();
      if (begin == buffer.size()) {
        compact();
        return HttpNeedMore{};
      }
      boost::system::error_code ec;
      // Beast takes whole header sections only: with an incomplete header it takes nothing and
      // says need_more, and the same bytes are presented again, with more, next time.
      size_t used = parser->put(boost::asio::const_buffer(buffer.data() + begin, buffer.size() - begin), ec);
      begin += used;
      if (ec && ec != http::error::need_more) return refuse(from_beast(ec));
      if (ec == http::error::need_more || used == 0) {
        if (auto parsed = after_header()) return std::move(*parsed);
        compact();
        return HttpNeedMore{};
      }
    }
  }
};

HttpRequestParser::HttpRequestParser(HttpParserLimits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
}
HttpRequestParser::~HttpRequestParser() = default;
HttpRequestParser::HttpRequestParser(HttpRequestParser&&) noexcept = default;
HttpRequestParser& HttpRequestParser::operator=(HttpRequestParser&&) noexcept = default;

void HttpRequestParser::feed(std::span<const uint8_t> bytes) {
  if (impl_->refusal) return;
  impl_->buffer.insert(impl_->buffer.end(), bytes.begin(), bytes.end());
}

void HttpRequestParser::feed(std::string_view bytes) {
  feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

HttpParsed HttpRequestParser::next() { return impl_->next(); }

bool HttpRequestParser::idle() const {
  const Impl& s = *impl_;
  return !s.refusal && s.begin == s.buffer.size() && !(s.parser && s.parser->got_some());
}

bool HttpRequestParser::in_header() const {
  const Impl& s = *impl_;
  return !s.refusal && s.begin != s.buffer.size() && !(s.parser && s.parser->is_header_done());
}

size_t HttpRequestParser::buffered() const { return impl_->buffer.size() - impl_->begin; }

bool HttpRequestParser::refused() const { return impl_->refusal.has_value(); }

}  // namespace roster::net
