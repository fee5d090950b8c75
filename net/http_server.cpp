#include "roster/net/http_server.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "roster/base/log.hpp"
#include "roster/net/address_counts.hpp"
#include "roster/net/http_request_parser.hpp"
#include "roster/net/socket.hpp"

namespace roster::net {
namespace {

using Bytes = std::shared_ptr<const std::vector<uint8_t>>;

// Each recv reads at most this much; the parser keeps what it has not parsed yet.
constexpr size_t kReadChunk = 16 * 1024;
// A client that pipelines requests without reading the responses stops being read (and its
// buffered requests stop being handled) while this much output waits: memory stays bounded.
constexpr size_t kMaxPendingOutput = 4 * 1024 * 1024;
// Queued responses up to this total go out in one send (pipelined small responses).
constexpr size_t kCoalesceBytes = 256 * 1024;
// How long a closing connection keeps reading (and dropping) what the client still sends.
constexpr std::chrono::milliseconds kLingerTime{2000};

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
  });
}

bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool framing_header(std::string_view name) {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection");
}

// How a response's body is delimited: a Content-Length (a whole body), chunks (a stream over
// HTTP/1.1), or the connection's close (a stream over HTTP/1.0).
enum class Framing { Length, Chunked, UntilClose };

// A minimal writer instead of Beast's serializer: a whole response is one buffer the event loop
// sends as is; a stream's head is one too, and each of its chunks another.
Bytes serialize(const HttpResponse& response, bool head_request, bool close, unsigned version,
                Framing framing = Framing::Length) {
  bool no_body = response.status == 204 || response.status == 304;
  std::string h;
  h.reserve(160 + response.headers.size() * 48);
  h += "HTTP/1.1 ";
  h += std::to_string(response.status);
  h += ' ';
  h += status_reason(response.status);
  h += "\r\n";
  if (!no_body) {
    if (!response.content_type.empty() && !response.headers.contains("Content-Type")) {
      h += "Content-Type: ";
      h += response.content_type;
      h += "\r\n";
    }
    if (framing == Framing::Length) {
      h += "Content-Length: ";
      h += std::to_string(response.body.size());
      h += "\r\n";
    } else if (framing == Framing::Chunked) {
      h += "Transfer-Encoding: chunked\r\n";
    }
  }
  for (const auto& [name, value] : response.headers) {
    if (framing_header(name)) continue;  // framing belongs to the server
    h += name;
    h += ": ";
    h += value;
    h += "\r\n";
  }
  if (close) h += "Connection: close\r\n";
  else if (version == 10) h += "Connection: keep-alive\r\n";
  h += "\r\n";
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  bool with_body = !head_request && !no_body && framing == Framing::Length;
  bytes->reserve(h.size() + (with_body ? response.body.size() : 0));
  bytes->insert(bytes->end(), h.begin(), h.end());
  if (with_body) bytes->insert(bytes->end(), response.body.begin(), response.body.end());
  return bytes;
}

// A handler's response that cannot be written as valid HTTP becomes a 500 saying why.
std::optional<std::string> invalid_response(const HttpResponse& response) {
  if (response.status < 200 || response.status > 599)
    return "handler returned status " + std::to_string(response.status) + " (must be 200 to 599)";
  if (!is_field_value(response.content_type)) return std::string("handler returned a Content-Type with CR, LF or NUL");
  for (const auto& [name, value] : response.headers)
    if (!is_token(name) || !is_field_value(value))
      return "handler returned an invalid header field \"" + name + "\"";
  return std::nullopt;
}

Bytes bytes_of(std::string_view s) { return std::make_shared<const std::vector<uint8_t>>(s.begin(), s.end()); }

const Bytes& continue_bytes() {
  static const Bytes bytes = [] {
    std::string_view s = "HTTP/1.1 100 Continue\r\n\r\n";
    return std::make_shared<const std::vector<uint8_t>>(s.begin(), s.end());
  }();
  return bytes;
}

}  // namespace

struct HttpServer::State : std::enable_shared_from_this<HttpServer::State> {
  struct Connection;

  EventLoop& loop;
  HttpHandler handler;
  HttpLimits limits;
  HttpErrorRenderer render_error;
  std::unordered_map<int, std::shared_ptr<Connection>> connections;
  size_t admitted = 0;  // connections not refused at accept: what max_connections counts
  AddressCounts per_address;
  std::vector<int> listeners;
  bool closed = false;
  HttpServerStats stats;
  // Held responses (hold_responses): released through this ticket so far, and the connections
  // that hold some.
  ResponseTicket ticket;
  uint64_t released = 0;
  std::unordered_set<int> holding;

  State(EventLoop& l, HttpHandler h, HttpLimits lim, HttpErrorRenderer r)
      : loop(l), handler(std::move(h)), limits(lim), render_error(std::move(r)) {}
  void on_accept(int listen_fd, int fd);
};

// One client connection. Callbacks hold a shared_ptr to it (and it to the State), so a
// completion that arrives after close() still finds valid memory; `closed` makes it a no-op.
struct HttpServer::State::Connection : std::enable_shared_from_this<Connection> {
  // The handle a handler gets (http_deferred.hpp); it reaches its connection weakly.
  struct Deferred final : HttpDeferred {
    std::weak_ptr<Connection> connection;
    const bool stream;
    bool done = false;
    std::function<void()> gone_callback;

    Deferred(std::weak_ptr<Connection> c, bool s) : connection(std::move(c)), stream(s) {}
    std::shared_ptr<Connection> live() const;
    bool open() const override { return live() != nullptr; }
    void complete(HttpResponse response) override;
    bool write(std::string_view chunk) override;
    void finish() override;
    void on_gone(std::function<void()> callback) override { gone_callback = std::move(callback); }
    void gone();  // the connection closed first
  };

  std::shared_ptr<State> server;
  int fd;
  std::string peer;       // counted in server->per_address while `admitted`
  bool admitted = false;  // counted in server->admitted and per_address
  std::vector<uint8_t> in;  // one recv's bytes, fed to the parser at once
  HttpRequestParser parser;
  std::deque<Bytes> out;  // responses in request order; out.front() is being sent when `sending`
  // Responses waiting for their ticket to be released, in request order, after those in `out`.
  struct Held {
    uint64_t ticket;  // 0: waits only for those before it
    Bytes bytes;
    bool head, close;
    unsigned version;
    std::shared_ptr<Deferred> parked = nullptr;  // set while the answer is not given yet (bytes null)
  };
  std::deque<Held> held;
  size_t out_bytes = 0;  // in `out` and `held`
  bool sending = false;
  bool reading = false;
  bool close_after_flush = false;  // no more requests: send what is queued, then close
  bool lingering = false;          // write side shut down, draining the client before close
  bool closed = false;
  // Deferred answers (http_deferred.hpp) not finished yet: parked ones, or the stream. While any is
  // open, the idle timeout does not run (the wait is the server's); a stream ends the requests.
  std::vector<std::shared_ptr<Deferred>> deferred;
  size_t parked = 0;
  bool streaming = false;
  Framing stream_framing = Framing::Chunked;
  EventLoop::TimerId timer = 0;         // idle_timeout (or the linger time when closing)
  EventLoop::TimerId header_timer = 0;  // header_timeout of the request whose header is arriving

  Connection(std::shared_ptr<State> s, int f)
      : server(std::move(s)),
        fd(f),
        in(kReadChunk),
        parser(server->limits) {}

  void start() {
    arm_idle_timer();
    arm_header_timer();  // the first request's header is due within header_timeout of accept
    start_read();
  }

  void start_read() {
    if (reading || closed) return;
    reading = true;
    server->loop.recv(fd, std::span<uint8_t>(in.data(), in.size()),
                      [self = shared_from_this()](ssize_t n) { self->on_read(n); });
  }

  void on_read(ssize_t n) {
    reading = false;
    if (closed || n == -ECANCELED) return;
    if (draining()) {
      if (n < 0) {
        lost("receive", n);
      } else if (n == 0) {
        close_now();
      } else {
        start_read();
      }
      return;
    }
    if (n < 0) {  // reset by the peer, or worse: nobody is left to answer
      lost("receive", n);
      return;
    }
    if (n == 0) {
      // A client that closes while its request is parked is gone (clients do not half-close to
      // wait for an answer): its slot is freed now.
      if (parked > 0) return close_now();
      // The client finished sending: answer what is complete, a partial request never will be.
      close_after_flush = true;
      if (!sending && out.empty() && held.empty()) close_now();
      return;
    }
    parser.feed(std::span<const uint8_t>(in.data(), static_cast<size_t>(n)));
    process_input();
  }

  bool paused() const { return out_bytes >= kMaxPendingOutput; }
  // Nothing more is read as requests (closing, a stream, or a parked answer after which the
  // connection closes): what arrives is dropped, and only the client's close matters.
  bool draining() const { return lingering || streaming || (close_after_flush && parked > 0); }

  void process_input() {
    while (!closed && !close_after_flush && !streaming && !paused()) {
      HttpParsed parsed = parser.next();
      if (std::holds_alternative<HttpNeedMore>(parsed)) break;
      if (std::holds_alternative<HttpContinueWanted>(parsed)) {
        queue(continue_bytes());  // the client waits for this before sending the body
      } else if (auto* refusal = std::get_if<HttpRefusal>(&parsed)) {
        respond_error(refusal->status, refusal->code, refusal->message);
        return;
      } else {
        handle_request(std::move(std::get<HttpRequest>(parsed)));
      }
    }
    if (closed) return;
    if (close_after_flush || streaming) {
      if (draining()) start_read();  // to learn at once when the client leaves
      return;
    }
    // A header is arriving: its clock runs from now when it is not already running. Not while
    // paused, when the bytes wait on this server rather than on the client.
    if (parser.in_header() && !paused()) {
      if (header_timer == 0) arm_header_timer();
    } else if (!parser.in_header()) {
      cancel_header_timer();
    }
    if (!paused()) start_read();
  }

  void respond_error(unsigned status, std::string_view code, const std::string& message) {
    ++server->stats.errors;
    close_after_flush = true;
    cancel_header_timer();
    queue(serialize(server->render_error(status, code, message), false, true, 11), {0, nullptr, false, true, 11});
  }

  void handle_request(HttpRequest request) {
    cancel_header_timer();
    ++server->stats.requests;
    bool head = request.method == "HEAD";

    HttpResponse response;
    if (!parse_target(request)) {
      ++server->stats.errors;
      response = server->render_error(400, "malformed_request",
                            "request target \"" + request.target + "\" is not a path with valid %-escapes");
    } else {
      try {
        response = server->handler(request);
      } catch (const std::exception& e) {
        ++server->stats.errors;
        response = server->render_error(500, "internal_error", "handler failed: " + std::string(e.what()));
      } catch (...) {
        ++server->stats.errors;
        response = server->render_error(500, "internal_error", "handler failed with a non-standard exception");
      }
      if (auto why = invalid_response(response)) {
        ++server->stats.errors;
        response = server->render_error(500, "internal_error", *why);
      }
    }
    if (closed) return;  // the handler closed the server
    bool close = !request.keep_alive || server->closed;
    if (close) close_after_flush = true;
    if (response.deferred) return defer(std::move(response), head, close, request.version);
    arm_idle_timer();  // a complete request is progress
    const uint64_t ticket = server->ticket ? server->ticket() : 0;
    queue(serialize(response, head, close, request.version), {ticket, nullptr, head, close, request.version});
  }

  // The handler answers later (parked) or streams: its place in the order is kept, and the
  // handler gets the handle.
  void defer(HttpResponse response, bool head, bool close, unsigned version) {
    if (!response.stream && parked >= server->limits.max_parked_per_connection) {
      ++server->stats.errors;
      arm_idle_timer();
      const HttpResponse refusal = server->render_error(
          503, "too_many_parked",
          "this connection has " + std::to_string(parked) + " answers waiting, its limit: wait for them first");
      const uint64_t ticket = server->ticket ? server->ticket() : 0;
      return queue(serialize(refusal, head, close, version), {ticket, nullptr, head, close, version});
    }
    auto handle = std::make_shared<Deferred>(weak_from_this(), response.stream);
    if (response.stream) {
      streaming = true;  // no request after this one is served
      close_after_flush = head;
      stream_framing = version == 10 ? Framing::UntilClose : Framing::Chunked;
      queue(serialize(response, head, true, version, stream_framing), {0, nullptr, head, true, version});
      if (head) return;  // the head is the whole answer
    } else {
      ++parked;
      held.push_back({0, nullptr, head, close, version, handle});
      server->holding.insert(fd);
    }
    deferred.push_back(handle);
    arm_idle_timer();  // off while the server owes the answer
    response.deferred(std::move(handle));
  }

  // A parked request's answer, sent in its turn (and held for its ticket like any response).
  void complete(const Deferred* handle, HttpResponse response) {
    auto it = std::find_if(held.begin(), held.end(), [&](const Held& h) { return h.parked.get() == handle; });
    if (it == held.end()) return;
    if (auto why = invalid_response(response)) {
      ++server->stats.errors;
      response = server->render_error(500, "internal_error", *why);
    }
    it->bytes = serialize(response, it->head, it->close, it->version);
    it->ticket = server->ticket ? server->ticket() : 0;
    it->parked = nullptr;
    out_bytes += it->bytes->size();
    --parked;
    forget(handle);
    arm_idle_timer();
    if (!release_held()) server->holding.insert(fd);
  }

  // One chunk of the stream; false when the client is too far behind.
  bool write_chunk(std::string_view data) {
    if (data.empty()) return true;  // an empty chunk would end the body
    if (out_bytes + data.size() > server->limits.max_stream_backlog) return false;
    if (stream_framing == Framing::UntilClose) {
      queue(bytes_of(data));
      return true;
    }
    char size[20];
    const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    auto bytes = std::make_shared<std::vector<uint8_t>>();
    bytes->reserve(static_cast<size_t>(n) + data.size() + 2);
    bytes->insert(bytes->end(), size, size + n);
    bytes->insert(bytes->end(), data.begin(), data.end());
    bytes->push_back('\r');
    bytes->push_back('\n');
    queue(std::move(bytes));
    return true;
  }

  void finish_stream(const Deferred* handle) {
    forget(handle);
    close_after_flush = true;
    if (stream_framing == Framing::Chunked) queue(bytes_of("0\r\n\r\n"));
    else flush();
  }

  void forget(const Deferred* handle) {
    std::erase_if(deferred, [&](const auto& d) { return d.get() == handle; });
  }

  // Sends `bytes` after everything before it, and once `hold.ticket` is released.
  void queue(Bytes bytes, Held hold) {
    out_bytes += bytes->size();
    if (held.empty() && hold.ticket <= server->released) {
      out.push_back(std::move(bytes));
      flush();
      return;
    }
    hold.bytes = std::move(bytes);
    held.push_back(std::move(hold));
    server->holding.insert(fd);
  }
  void queue(Bytes bytes) { queue(std::move(bytes), {0, nullptr, false, false, 11}); }

  // Moves the held responses whose turn has come to `out`; true when none is left.
  bool release_held() {
    while (!held.empty() && !held.front().parked && held.front().ticket <= server->released) {
      out.push_back(std::move(held.front().bytes));
      held.pop_front();
    }
    flush();
    return held.empty();
  }

  // Every held response that waits for a ticket becomes `error`.
  void refuse_held(const HttpResponse& error) {
    for (auto& h : held) {
      if (h.parked || h.ticket <= server->released) continue;
      out_bytes -= h.bytes->size();
      h.bytes = serialize(error, h.head, h.close, h.version);
      h.ticket = 0;
      out_bytes += h.bytes->size();
    }
    release_held();
  }

  void flush() {
    if (sending || closed) return;
    if (out.empty()) {
      if (close_after_flush && held.empty()) begin_close();
      return;
    }
    if (out.size() > 1 && out_bytes <= kCoalesceBytes) {
      auto merged = std::make_shared<std::vector<uint8_t>>();
      merged->reserve(out_bytes);
      for (const auto& b : out) merged->insert(merged->end(), b->begin(), b->end());
      out.clear();
      out.push_back(std::move(merged));
    }
    sending = true;
    server->loop.send_all(fd, out.front(), 0, [self = shared_from_this()](ssize_t r) { self->on_sent(r); });
  }

  void on_sent(ssize_t result) {
    sending = false;
    if (closed || result == -ECANCELED) return;
    if (result < 0) {
      lost("send", result);
      return;
    }
    out_bytes -= out.front()->size();
    out.pop_front();
    if (!lingering) arm_idle_timer();  // the client is reading: progress
    if (!out.empty()) {
      flush();
    } else if (!held.empty()) {
      return;  // the next response waits for its ticket
    } else if (close_after_flush) {
      begin_close();
    } else {
      process_input();  // resumes parsing and reading if kMaxPendingOutput paused them
    }
  }

  // Graceful close: closing with unread input makes the kernel send a reset, which can destroy
  // the response before the client reads it (a 413 sent while the body still streams in).
  // Shut down the write side, read and drop until the client closes or kLingerTime passes.
  void begin_close() {
    if (lingering || closed) return;
    lingering = true;
    close_after_flush = true;
    cancel_header_timer();
    ::shutdown(fd, SHUT_WR);
    arm_timer(std::min(server->limits.idle_timeout, kLingerTime));
    start_read();
  }

  // A receive or send failed (a negative errno from the loop): the client reset the connection or
  // is gone, so nobody is left to answer. Routine for a server, hence a debug line.
  void lost(const char* what, ssize_t result) {
    log::debug("HTTP connection fd {}: {} failed: {}", fd, what, std::strerror(static_cast<int>(-result)));
    close_now();
  }

  void close_now() {
    if (closed) return;
    auto self = shared_from_this();  // the map below may hold the last reference
    closed = true;
    if (timer != 0) server->loop.cancel_timer(timer);
    timer = 0;
    cancel_header_timer();
    if (admitted) {
      --server->admitted;
      server->per_address.remove(peer);
    }
    server->loop.close(fd);  // pending recv/send complete with -ECANCELED
    server->holding.erase(fd);
    server->connections.erase(fd);
    parked = 0;
    for (auto& d : std::exchange(deferred, {})) d->gone();
  }

  // The idle timeout, unless the server owes this client an answer or a stream is open.
  void arm_idle_timer() {
    if (parked == 0 && !streaming) return arm_timer(server->limits.idle_timeout);
    if (timer != 0) server->loop.cancel_timer(timer);
    timer = 0;
  }

  void arm_timer(std::chrono::milliseconds delay) {
    if (timer != 0) server->loop.cancel_timer(timer);
    timer = server->loop.after(delay, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->timer = 0;
        if (self->closed) return;
        if (!self->lingering) ++self->server->stats.timeouts;
        self->close_now();
      }
    });
  }

  void arm_header_timer() {
    cancel_header_timer();
    header_timer = server->loop.after(server->limits.header_timeout, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        self->header_timer = 0;
        if (self->closed || self->lingering) return;
        ++self->server->stats.timeouts;
        // A client that sent part of a request is told why; one that never sent a byte (a
        // connection opened ahead of use) is closed quietly, as an idle one is.
        if (self->parser.idle()) return self->close_now();
        self->respond_error(408, "header_timeout",
                            "the request header did not arrive within " +
                                std::to_string(self->server->limits.header_timeout.count()) + " ms");
      }
    });
  }

  void cancel_header_timer() {
    if (header_timer != 0) server->loop.cancel_timer(header_timer);
    header_timer = 0;
  }
};

auto HttpServer::State::Connection::Deferred::live() const -> std::shared_ptr<Connection> {
  if (done) return nullptr;
  auto c = connection.lock();
  return c && !c->closed ? c : nullptr;
}

void HttpServer::State::Connection::Deferred::complete(HttpResponse response) {
  if (stream) return;
  if (auto c = live()) {
    done = true;
    c->complete(this, std::move(response));
  }
}

bool HttpServer::State::Connection::Deferred::write(std::string_view chunk) {
  auto c = stream ? live() : nullptr;
  if (!c) return false;
  if (c->write_chunk(chunk)) return true;
  log::debug("HTTP connection fd {}: a stream's reader fell more than {} bytes behind: closing", c->fd,
             c->server->limits.max_stream_backlog);
  done = true;  // no on_gone: the caller learns it from the result
  c->close_now();
  return false;
}

void HttpServer::State::Connection::Deferred::finish() {
  if (!stream) return;
  if (auto c = live()) {
    done = true;
    c->finish_stream(this);
  }
}

void HttpServer::State::Connection::Deferred::gone() {
  if (done) return;
  done = true;
  if (auto callback = std::exchange(gone_callback, nullptr)) callback();
}

void HttpServer::State::on_accept(int listen_fd, int fd) {
  if (fd < 0) {  // this listener is done (closed, or a fatal accept error)
    if (fd != -ECANCELED) log::error("HTTP server stopped accepting on fd {}: {}", listen_fd, std::strerror(-fd));
    std::erase(listeners, listen_fd);
    return;
  }
  if (closed) {
    ::close(fd);
    return;
  }
  ++stats.accepted;
  int one = 1;  // responses are written whole; do not hold the last segment for an ACK
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // fails harmlessly on AF_UNIX
  auto connection = std::make_shared<Connection>(shared_from_this(), fd);
  connections.emplace(fd, connection);
  // Answer rather than drop, so the client sees why; the connection then closes. Refused
  // connections linger briefly and do not count against either limit, so a client refused in a
  // burst does not push others over max_connections.
  auto refuse = [&](std::string_view code, const std::string& message) {
    connection->arm_timer(std::min(limits.idle_timeout, kLingerTime));
    connection->respond_error(503, code, message);
  };
  if (admitted >= limits.max_connections)
    return refuse("too_many_connections",
                  "the server is at its limit of " + std::to_string(limits.max_connections) + " connections");
  connection->peer = peer_ip(fd);
  if (!per_address.try_add(connection->peer, limits.max_connections_per_address))
    return refuse("too_many_connections_from_address",
                  connection->peer + " has " + std::to_string(limits.max_connections_per_address) +
                      " connections open, the limit per client address");
  connection->admitted = true;
  ++admitted;
  connection->start();
}

HttpResponse plain_text_error(unsigned status, std::string_view code, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body.append(code).append(": ").append(message).append("\n");
  return response;
}

HttpServer::HttpServer(EventLoop& loop, HttpHandler handler, HttpLimits limits, HttpErrorRenderer render_error)
    : state_(std::make_shared<State>(loop, std::move(handler), limits, std::move(render_error))) {}

HttpServer::~HttpServer() { close(); }

void HttpServer::listen(int listen_fd) {
  state_->listeners.push_back(listen_fd);
  state_->loop.accept(listen_fd, [state = state_, listen_fd](int fd) { state->on_accept(listen_fd, fd); });
}

void HttpServer::close() {
  State& s = *state_;
  if (s.closed) return;
  s.closed = true;
  for (int fd : std::vector<int>(s.listeners)) s.loop.close(fd);  // accept callbacks get -ECANCELED
  s.listeners.clear();
  std::vector<std::shared_ptr<State::Connection>> connections;
  connections.reserve(s.connections.size());
  for (auto& [fd, c] : s.connections) connections.push_back(c);
  for (auto& c : connections) c->close_now();
}

void HttpServer::hold_responses(ResponseTicket ticket) { state_->ticket = std::move(ticket); }

void HttpServer::release(uint64_t through) {
  State& s = *state_;
  s.released = std::max(s.released, through);
  for (int fd : std::vector<int>(s.holding.begin(), s.holding.end()))
    if (auto it = s.connections.find(fd); it == s.connections.end() || it->second->release_held()) s.holding.erase(fd);
}

void HttpServer::refuse_held(unsigned status, std::string_view code, std::string_view message) {
  State& s = *state_;
  const HttpResponse error = s.render_error(status, code, message);
  for (int fd : std::vector<int>(s.holding.begin(), s.holding.end())) {
    if (auto it = s.connections.find(fd); it != s.connections.end()) it->second->refuse_held(error);
    s.holding.erase(fd);
  }
}

HttpServerStats HttpServer::stats() const {
  HttpServerStats out = state_->stats;
  out.active = state_->connections.size();
  return out;
}

}  // namespace roster::net
