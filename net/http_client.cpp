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
#include <utility>
#include <vector>

#include "system_failure.hpp"

namespace roster::net {
namespace http = boost::beast::http;
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
constexpr std::uint32_t kMaxResponseHeader = 64 * 1024;

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
  const BodySink* sink = nullptr;    // get_stream: where a 2xx body goes
  std::chrono::milliseconds idle{0};  // get_stream: the deadline moves this far on with each receive
  bool stopped = false;              // the sink said stop

  // Milliseconds left, at least 1 while time remains; 0 once the deadline passed.
  int left_ms() const {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
  }
};

Result<HttpClient> HttpClient::open(std::string_view address, HttpClientOptions options) {
  std::string_view text = address;
  auto starts_with = [&](std::string_view prefix) {
    return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
  };
  auto unsupported = [&](std::string_view what) {
    return fail(ErrorKind::Invalid, "invalid_address",
                "server address \"" + std::string(address) + "\": " + std::string(what) + " is not supported",
                std::string(address));
  };
  if (starts_with("https://")) return unsupported("https");
  if (starts_with("http://")) {
    text.remove_prefix(7);
    if (!text.empty() && text.back() == '/') text.remove_suffix(1);
    if (text.find('/') != std::string_view::npos) return unsupported("a path");
  }
  auto parsed = parse_address(text);
  if (!parsed) return fail(std::move(parsed).error());
  return HttpClient(*parsed, std::string(text), options);
}

HttpClient::HttpClient(SocketAddress address, std::string name, HttpClientOptions options)
    : address_(address),
      name_(std::move(name)),
      host_header_(address_.is_unix() ? "localhost" : name_),
      options_(options) {}

HttpClient::HttpClient(HttpClient&& other) noexcept
    : address_(other.address_),
      name_(std::move(other.name_)),
      host_header_(std::move(other.host_header_)),
      options_(other.options_),
      fd_(std::exchange(other.fd_, -1)),
      connections_opened_(other.connections_opened_) {}

HttpClient& HttpClient::operator=(HttpClient&& other) noexcept {
  if (this != &other) {
    close();
    address_ = other.address_;
    name_ = std::move(other.name_);
    host_header_ = std::move(other.host_header_);
    options_ = other.options_;
    fd_ = std::exchange(other.fd_, -1);
    connections_opened_ = other.connections_opened_;
  }
  return *this;
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

Unexpected<Error> HttpClient::timed_out(const Attempt& a, std::string_view while_what) const {
  return system_failure(ErrorKind::Unavailable, "timed_out", ETIMEDOUT,
                        std::string(a.method) + " " + std::string(a.target) + " to " + name_ + " timed out after " +
                            std::to_string(a.timeout.count()) + " ms" + std::string(while_what),
                        name_);
}

Unexpected<Error> HttpClient::transport_failure(int err, const std::string& what) const {
  // A reset or broken pipe is the server closing on us; anything else is local trouble.
  if (err == ECONNRESET || err == EPIPE) return system_failure(ErrorKind::Unavailable, "connection_closed", err, what, name_);
  return system_failure(ErrorKind::Io, "io_error", err, what, name_);
}

Result<std::string> HttpClient::encode(std::string_view method, std::string_view target, std::string_view body,
                                       const HttpHeaders& headers) const {
  auto invalid = [](std::string message) { return fail(ErrorKind::Invalid, "invalid_request", std::move(message)); };
  if (!is_token(method)) return invalid("HTTP method \"" + std::string(method) + "\" is not a token");
  if (target.empty() || target.front() != '/' || has_ctl_or_space(target))
    return invalid("request target \"" + std::string(target) +
                   "\" must start with '/' and hold no spaces or control characters");
  for (const auto& [name, value] : headers)
    if (!is_token(name) || !is_field_value(value)) return invalid("invalid request header field \"" + name + "\"");

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
  return bytes;
}

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                         const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  auto encoded = encode(method, target, body, headers);
  if (!encoded) return fail(std::move(encoded).error());
  const std::string& bytes = *encoded;
  Attempt a{method, target, timeout, Clock::now() + timeout};
  bool reused = fd_ >= 0;
  if (reused && peer_closed()) {
    close();
    reused = false;
  }
  auto response = exchange(bytes, a);
  if (response) return response;
  // The server may close an idle keep-alive connection just as the request goes out. If no
  // response byte came back, it did not process the request: resend once on a new connection,
  // for methods that are safe to repeat.
  bool stale = response.error().code == "connection_closed";
  bool idempotent = method != "POST" && method != "PATCH";
  if (!(reused && stale && idempotent && !a.received_any)) return response;
  a.received_any = false;
  return exchange(bytes, a);
}

Result<HttpResponse> HttpClient::get_stream(std::string_view target, const HttpHeaders& headers,
                                            std::chrono::milliseconds idle_timeout, const BodySink& sink) {
  auto encoded = encode("GET", target, {}, headers);
  if (!encoded) return fail(std::move(encoded).error());
  close();  // a fresh connection: the stream is its last use
  Attempt a{"GET", target, idle_timeout, Clock::now() + idle_timeout};
  a.sink = &sink;
  a.idle = idle_timeout;
  auto response = exchange(*encoded, a);
  close();
  return response;
}

// One try on the open connection (or a new one). After a failure the connection is closed: its
// stream position is unknown.
Result<HttpResponse> HttpClient::exchange(const std::string& bytes, Attempt& a) {
  if (fd_ < 0)
    if (auto connected = connect(a); !connected) return fail(std::move(connected).error());
  if (auto sent = send_request(bytes, a); !sent) {
    close();
    return fail(std::move(sent).error());
  }
  auto response = read_response(a);
  if (!response) close();
  return response;
}

Result<void> HttpClient::connect(const Attempt& a) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(a.deadline - Clock::now());
  bool request_bound = left < options_.connect_timeout;
  auto timeout = std::max(std::chrono::milliseconds(1), std::min(left, options_.connect_timeout));
  auto fd = connect_blocking(address_, timeout, name_);
  if (!fd) {
    if (fd.error().code == "connect_timed_out" && request_bound) return timed_out(a, " (while connecting)");
    return fail(std::move(fd).error());
  }
  fd_ = *fd;
  ++connections_opened_;
  // Non-blocking from here: every wait goes through poll() with what is left of the deadline.
  set_nonblocking(fd_, true);
  return {};
}

Result<void> HttpClient::send_request(const std::string& bytes, Attempt& a) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN)
      return transport_failure(errno, "send " + std::string(a.method) + " " + std::string(a.target) + " to " + name_);
    int left = a.left_ms();
    pollfd p{fd_, POLLOUT, 0};
    if (left == 0 || ::poll(&p, 1, left) == 0) return timed_out(a);
  }
  return {};
}

Result<HttpResponse> HttpClient::read_response(Attempt& a) {
  std::optional<http::response_parser<http::string_body>> parser;
  // get_stream: a 2xx body's chunks go to the sink (the parser keeps a reference to this).
  auto on_chunk = [&](std::uint64_t, boost::beast::string_view chunk, boost::system::error_code& ec) {
    const std::string_view piece(chunk.data(), chunk.size());
    auto& message = parser->get();
    if (message.result_int() / 100 != 2) {
      message.body().append(piece);  // an error's body, kept (and bounded) as any other
    } else if (!(*a.sink)(piece)) {
      a.stopped = true;
      ec = http::error::end_of_stream;  // stops the parser; not an error here
    }
    return piece.size();
  };
  auto fresh_parser = [&] {
    parser.emplace();
    parser->header_limit(kMaxResponseHeader);
    parser->body_limit(static_cast<std::uint64_t>(options_.max_response_body_bytes));
    parser->eager(true);
    if (a.method == "HEAD") parser->skip(true);  // a HEAD response has a Content-Length but no body
    if (a.sink) {
      parser->body_limit(boost::none);  // a stream has no end to bound; what is kept is bounded below
      parser->on_chunk_body(on_chunk);
    }
  };
  fresh_parser();
  auto malformed = [&](const boost::system::error_code& ec) {
    return system_failure(ErrorKind::Unavailable, "malformed_response", EPROTO,
                          "malformed response from " + name_ + " to " + std::string(a.method) + " " +
                              std::string(a.target) + ": " + ec.message(),
                          name_);
  };

  std::vector<char> chunk(kReadChunk);
  std::string pending;  // received, not yet consumed by the parser
  bool eof = false;
  while (!parser->is_done() && !a.stopped) {
    // Feed what is buffered first: a 100 Continue may arrive together with the real response.
    while (!pending.empty() && !parser->is_done()) {
      boost::system::error_code ec;
      size_t used = parser->put(boost::asio::const_buffer(pending.data(), pending.size()), ec);
      pending.erase(0, used);
      if (ec == http::error::need_more || a.stopped) break;
      if (ec) return malformed(ec);
      // A stream's body is unbounded only when it goes to the sink; any other is bounded here.
      if (a.sink && parser->get().body().size() > options_.max_response_body_bytes)
        return malformed(http::error::body_limit);
      if (used == 0) break;
    }
    if (a.stopped) break;
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
        return transport_failure(ECONNRESET, name_ + " closed the connection before a complete response to " +
                                            std::string(a.method) + " " + std::string(a.target));
      break;
    }
    int left = a.left_ms();
    pollfd p{fd_, POLLIN, 0};
    int ready = left == 0 ? 0 : ::poll(&p, 1, left);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return transport_failure(errno, "poll while waiting for " + name_);
    if (ready == 0) return timed_out(a);
    ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return transport_failure(errno, "receive from " + name_);
    if (n == 0) {
      eof = true;
      continue;
    }
    a.received_any = true;
    if (a.idle.count() > 0) a.deadline = Clock::now() + a.idle;
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
