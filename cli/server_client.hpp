// The HTTP side shared by every server-backed rosterctl command: where the server is, how to
// send one request, and how to read the JSON it answers with.
#pragma once

#include <rapidjson/document.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "roster/base/result.hpp"
#include "roster/net/http_message.hpp"

namespace roster::cli {

// $ROSTER_SERVER, else the server's default listen address.
std::string default_server();

struct ServerOptions {
  std::string server = default_server();
  std::string token, token_file;  // or ROSTER_TOKEN (net/token.hpp)
  bool json = false;
};

// Adds --server and --token to a command (and --json when `json` is set).
void add_server_options(CLI::App* cmd, ServerOptions& o, bool json = true);

// Percent-escapes a path segment; '+' stays (it is literal in a path).
std::string escape_segment(std::string_view s);
// Percent-escapes a query value; '+' is escaped too (the server reads it as a space).
std::string escape_query(std::string_view s);

// Prints "rosterctl: METHOD TARGET: HTTP 409 code: message (at path)" and any findings to stderr,
// or the raw body when the server did not send roster's error shape.
void print_http_error(std::string_view method, const std::string& target, const net::HttpResponse& response);

// "Authorization: Bearer TOKEN" when a token is given (--token-file, --token or ROSTER_TOKEN),
// else no field; an error when the token cannot be read.
Result<net::HttpHeaders> auth_headers(const ServerOptions& o);

// Appends "?key=value" or "&key=value" to `target` when `value` is not empty.
void add_query(std::string& target, std::string_view key, std::string_view value);

// Sends a request. On an HTTP error status or a transport failure it prints why to stderr
// (the server's error code, message and path when it sent one) and returns nullopt; `failure`,
// when given, is then set to kNo for a refusal (4xx) or kUsage when there is no usable answer.
std::optional<net::HttpResponse> call(const ServerOptions& o, std::string_view method, const std::string& target,
                                      std::string_view body = {}, int* failure = nullptr);

// As `call`, printing nothing: the answer when its status is below 400, else nullopt.
std::optional<net::HttpResponse> call_quietly(const ServerOptions& o, std::string_view method, const std::string& target);

// Sends a request and parses the JSON answer into `doc`. Returns kOk, or the exit code to stop
// with (after printing why, as `call` does; a body that is not JSON is kUsage).
int call_json(const ServerOptions& o, std::string_view method, const std::string& target, rapidjson::Document& doc,
              std::string_view body = {}, std::string* raw = nullptr);

// Tolerant readers of a server response: a missing member or a wrong type reads as empty.
std::string_view str(const rapidjson::Value& object, std::string_view key);
int64_t integer(const rapidjson::Value& object, std::string_view key, int64_t fallback = 0);
bool boolean(const rapidjson::Value& object, std::string_view key);
const rapidjson::Value& array(const rapidjson::Value& object, std::string_view key);

// NAME@VERSION split at the '@' (version empty when there is none).
std::pair<std::string, std::string> split_name_version(std::string_view spec);

}  // namespace roster::cli
