#include "roster/net/http_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace roster::net {
namespace http = boost::beast::http;
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;

[[noreturn]] void fail(int err, const std::string& what) { throw std::system_error(err, std::system_category(), what); }

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

bool has_ctl_or_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; });
}

bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

}  // namespace

struct HttpClient::Attempt {
  std::string_view method;
  std::string_view target;
  std::chrono::milliseconds timeout;
  Clock::time_point deadline;
  bool received_any = false;  // a response byte arrived: the server saw the request

  // Milliseconds left, at least 1 while time remains; 0 once the deadline passed.
  int left_ms() const {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
  }
};

HttpClient::HttpClient(std::string_view address, HttpClientOptions options) : options_(options) {
  std::string_view text = address;
  auto starts_with = [&](std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
  };
  if (starts_with("https://"))
    throw std::invalid_argument("server address \"" + std::string(address) + "\": https is not supported");
  if (starts_with("http://")) {
    text.remove_prefix(7);
    if (!text.empty() && text.back() == '/') text.remove_suffix(1);
    if (text.find('/') != std::string_view::npos)
      throw std::invalid_argument("server address \"" + std::string(address) + "\": a path is not supported");
  }
  address_ = parse_address(text);
  name_ = std::string(text);
  host_header_ = address_.is_unix() ? "localhost" : name_;
}

HttpClient::~HttpClient() { close(); }

void HttpClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool HttpClient::peer_closed() const {
  // An idle keep-alive connection is readable only when the server closed it (EOF) or sent
  // something unsolicited; either way it is no longer usable for a request.
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

HttpResponse HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                 const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  if (!is_token(method)) throw std::invalid_argument("HTTP method \"" + std::string(method) + "\" is not a token");
  if (target.empty() || target.front() != '/' || has_ctl_or_space(target))
    throw std::invalid_argument("request target \"" + std::string(target) +
                                "\" must start with '/' and hold no spaces or control characters");
  for (const auto& [name, value] : headers)
    if (!is_token(name) || !is_field_value(value))
      throw std::invalid_argument("invalid request header field \"" + name + "\"");

  std::string bytes;
  bytes.reserve(128 + target.size() + body.size());
  bytes.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  if (!headers.contains("Host")) bytes.append("Host: ").append(host_header_).append("\r\n");
  if (!body.empty() && !headers.contains("Content-Type")) bytes.append("Content-Type: application/json\r\n");
  bool sends_length = !body.empty() || method == "PUT" || method == "POST" || method == "PATCH";
  if (sends_length) bytes.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  for (const auto& [name, value] : headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding")) continue;  // ours
    bytes.append(name).append(": ").append(value).append("\r\n");
  }
  bytes.append("\r\n").append(body);

  Attempt a{method, target, timeout, Clock::now() + timeout};
  bool reused = fd_ >= 0;
  if (reused && peer_closed()) {
    close();
    reused = false;
  }
  try {
    if (fd_ < 0) connect(a.deadline, a);
    send_request(bytes, a);
    return read_response(a);
  } catch (const std::system_error& e) {
    close();
    // The server may close an idle keep-alive connection just as the request goes out. If no
    // response byte came back, it did not process the request: resend once on a new connection,
    // for methods that are safe to repeat.
    int code = e.code().value();
    bool stale = code == ECONNRESET || code == EPIPE;
    bool idempotent = method != "POST" && method != "PATCH";
    if (!(reused && stale && idempotent && !a.received_any)) throw;
  }
  a.received_any = false;
  connect(a.deadline, a);
  send_request(bytes, a);
  return read_response(a);
}

void HttpClient::connect(Clock::time_point deadline, const Attempt& a) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  bool request_bound = left < options_.connect_timeout;
  auto timeout = std::max(std::chrono::milliseconds(1), std::min(left, options_.connect_timeout));
  try {
    fd_ = connect_blocking(address_, timeout);
  } catch (const std::system_error& e) {
    int code = e.code().value();
    if (code == ETIMEDOUT && request_bound)
      fail(code, std::string(a.method) + " " + std::string(a.target) + " to " + name_ + " timed out after " +
                     std::to_string(a.timeout.count()) + " ms (while connecting)");
    if (code == ETIMEDOUT)
      fail(code, "connect to " + name_ + " timed out after " + std::to_string(timeout.count()) + " ms");
    fail(code, "connect to " + name_);
  }
  ++connections_opened_;
  // Non-blocking from here: every wait goes through poll() with what is left of the deadline.
  set_nonblocking(fd_, true);
}

void HttpClient::send_request(const std::string& bytes, Attempt& a) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) fail(errno, "send " + std::string(a.method) + " " + std::string(a.target) + " to " + name_);
    int left = a.left_ms();
    pollfd p{fd_, POLLOUT, 0};
    if (left == 0 || ::poll(&p, 1, left) == 0)
      fail(ETIMEDOUT, std::string(a.method) + " " + std::string(a.target) + " to " + name_ + " timed out after " +
                          std::to_string(a.timeout.count()) + " ms");
  }
}

HttpResponse HttpClient::read_response(Attempt& a) {
  std::optional<http::response_parser<http::string_body>> parser;
  auto fresh_parser = [&] {
    parser.emplace();
    parser->header_limit(kMaxResponseHeader);
    parser->body_limit(static_cast<std::uint64_t>(options_.max_response_body_bytes));
    parser->eager(true);
    if (a.method == "HEAD") parser->skip(true);  // a HEAD response has a Content-Length but no body
  };
  fresh_parser();
  auto malformed = [&](const boost::system::error_code& ec) {
    fail(EPROTO, "malformed response from " + name_ + " to " + std::string(a.method) + " " + std::string(a.target) +
                     ": " + ec.message());
  };

  std::vector<char> chunk(kReadChunk);
  std::string pending;  // received, not yet consumed by the parser
  bool eof = false;
  while (!parser->is_done()) {
    // Feed what is buffered first: a 100 Continue may arrive together with the real response.
    while (!pending.empty() && !parser->is_done()) {
      boost::system::error_code ec;
      size_t used = parser->put(boost::asio::const_buffer(pending.data(), pending.size()), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more) break;
      if (ec) malformed(ec);
      if (used == 0) break;
    }
    if (parser->is_done()) {
      unsigned status = parser->get().result_int();
      if (status >= 100 && status < 200 && status != 101) {  // interim response: the real one follows
        fresh_parser();
        continue;
      }
      break;
    }
    if (eof) {
      // Bodies without Content-Length end at EOF; anything else cut short is an error.
      boost::system::error_code ec;
      if (parser->got_some()) parser->put_eof(ec);
      if (!parser->got_some() || ec || !parser->is_done())
        fail(ECONNRESET, name_ + " closed the connection before a complete response to " + std::string(a.method) +
                             " " + std::string(a.target));
      break;
    }
    int left = a.left_ms();
    pollfd p{fd_, POLLIN, 0};
    int ready = left == 0 ? 0 : ::poll(&p, 1, left);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) fail(errno, "poll while waiting for " + name_);
    if (ready == 0)
      fail(ETIMEDOUT, std::string(a.method) + " " + std::string(a.target) + " to " + name_ + " timed out after " +
                          std::to_string(a.timeout.count()) + " ms");
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) fail(errno, "receive from " + name_);
    if (n == 0) {
      eof = true;
      continue;
    }
    a.received_any = true;
    pending.append(chunk.data(), static_cast<size_t>(n));
  }

  auto message = parser->release();
  HttpResponse response;
  response.status = message.result_int();
  response.body = std::move(message.body());
  response.content_type.clear();
  for (const auto& field : message) {
    std::string name(field.name_string().data(), field.name_string().size());
    std::string value(field.value().data(), field.value().size());
    if (iequals(name, "Content-Type") && response.content_type.empty()) response.content_type = value;
    response.headers.add(std::move(name), std::move(value));
  }
  // Reuse the connection only when both sides agree and nothing unexpected followed.
  if (eof || !message.keep_alive() || !pending.empty()) close();
  return response;
}

}  // namespace roster::net
