#include "server_client.hpp"

#include <cctype>
#include <cstdlib>
#include <iostream>

#include "commands.hpp"
#include "findings.hpp"
#include "roster/governance/json_document.hpp"
#include "roster/net/http_client.hpp"
#include "roster/net/token.hpp"

namespace roster::cli {
namespace {

std::string escape(std::string_view s, bool keep_plus) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_plus && c == '+'))
      out.push_back(static_cast<char>(c));
    else
      out += {'%', kHex[c >> 4], kHex[c & 15]};
  }
  return out;
}

}  // namespace

std::string default_server() {
  const char* env = std::getenv("ROSTER_SERVER");
  return env && *env ? env : "127.0.0.1:7070";
}

void add_server_options(CLI::App* cmd, ServerOptions& o, bool json) {
  cmd->add_option("--server", o.server, "roster-server address (or $ROSTER_SERVER)")->capture_default_str();
  cmd->add_option("--token", o.token, "Bearer token for writes (visible in ps: prefer --token-file or ROSTER_TOKEN)");
  cmd->add_option("--token-file", o.token_file, "Read the bearer token from this file's first line");
  if (json) cmd->add_flag("--json", o.json, "Machine-readable output (the server's JSON answer)");
}

std::string escape_segment(std::string_view s) { return escape(s, true); }
std::string escape_query(std::string_view s) { return escape(s, false); }

void print_http_error(std::string_view method, const std::string& target, const net::HttpResponse& r) {
  std::cerr << "rosterctl: " << method << " " << target << ": HTTP " << r.status;
  auto parsed = governance::parse_json(r.body);
  const rapidjson::Value* error = parsed ? governance::member(*parsed, "error") : nullptr;
  if (!error || !error->IsObject()) {
    std::cerr << ": " << (r.body.empty() ? std::string(net::status_reason(r.status)) : r.body) << "\n";
    return;
  }
  std::cerr << " " << str(*error, "code") << ": " << str(*error, "message");
  if (auto path = str(*error, "path"); !path.empty()) std::cerr << " (at " << path << ")";
  std::cerr << "\n";
  for (auto& f : array(*parsed, "findings").GetArray()) std::cerr << "  " << finding_line(f) << "\n";
}

void add_query(std::string& target, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += escape_query(key);
  target += '=';
  target += escape_query(value);
}

Result<net::HttpHeaders> auth_headers(const ServerOptions& o) {
  const auto token = net::load_token(o.token, o.token_file);
  if (!token) return fail(token.error());
  net::HttpHeaders headers;
  if (*token) headers.add("Authorization", "Bearer " + **token);
  return headers;
}

namespace {

// One request, its HTTP status whatever it is, or why there was no answer.
Result<net::HttpResponse> send(const ServerOptions& o, std::string_view method, const std::string& target,
                               std::string_view body) {
  auto client = net::HttpClient::open(o.server);
  if (!client) return fail(client.error());
  auto headers = auth_headers(o);
  if (!headers) return fail(headers.error());
  return client->request(method, target, body, *headers);
}

}  // namespace

std::optional<net::HttpResponse> call(const ServerOptions& o, std::string_view method, const std::string& target,
                                      std::string_view body, int* failure) {
  auto response = send(o, method, target, body);
  if (!response) {
    std::cerr << "rosterctl: " << response.error().message << "\n";
    if (failure) *failure = kUsage;
    return std::nullopt;
  }
  if (response->status >= 400) {
    print_http_error(method, target, *response);
    if (failure) *failure = response->status < 500 ? kNo : kUsage;
    return std::nullopt;
  }
  return std::move(*response);
}

std::optional<net::HttpResponse> call_quietly(const ServerOptions& o, std::string_view method, const std::string& target) {
  auto response = send(o, method, target, {});
  if (!response || response->status >= 400) return std::nullopt;
  return std::move(*response);
}

int call_json(const ServerOptions& o, std::string_view method, const std::string& target, rapidjson::Document& doc,
              std::string_view body, std::string* raw) {
  int failure = kOk;
  auto r = call(o, method, target, body, &failure);
  if (!r) return failure;
  auto parsed = governance::parse_json(r->body);
  if (!parsed || !parsed->IsObject()) {
    std::cerr << "rosterctl: " << method << " " << target << ": the answer is not a JSON object"
              << (parsed ? "" : ": " + parsed.error().message) << "\n";
    return kUsage;
  }
  doc.Swap(*parsed);
  if (raw) *raw = std::move(r->body);
  return kOk;
}

std::string_view str(const rapidjson::Value& object, std::string_view key) {
  const auto* v = governance::member(object, key);
  return v && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength()) : std::string_view();
}

int64_t integer(const rapidjson::Value& object, std::string_view key, int64_t fallback) {
  const auto* v = governance::member(object, key);
  if (v && v->IsInt64()) return v->GetInt64();
  if (v && v->IsNumber()) return static_cast<int64_t>(v->GetDouble());
  return fallback;
}

bool boolean(const rapidjson::Value& object, std::string_view key) {
  const auto* v = governance::member(object, key);
  return v && v->IsBool() && v->GetBool();
}

const rapidjson::Value& array(const rapidjson::Value& object, std::string_view key) {
  static const rapidjson::Value kEmpty(rapidjson::kArrayType);
  const auto* v = governance::member(object, key);
  return v && v->IsArray() ? *v : kEmpty;
}

std::pair<std::string, std::string> split_name_version(std::string_view spec) {
  const auto at = spec.find('@');
  if (at == std::string_view::npos) return {std::string(spec), {}};
  return {std::string(spec.substr(0, at)), std::string(spec.substr(at + 1))};
}

}  // namespace roster::cli
