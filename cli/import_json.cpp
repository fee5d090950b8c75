#include "import_json.hpp"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>

#include <cctype>
#include <charconv>

#include "roster/base/text_position.hpp"

namespace roster::cli::importing {

namespace {

size_t skip_space(std::string_view text, size_t at) {
  while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
  return at;
}

bool plain_name(std::string_view key) {
  if (key.empty() || std::isdigit(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '$') return false;
  return true;
}

}  // namespace

Result<std::vector<rapidjson::Document>> parse_json_values(std::string_view text) {
  // Iterative: the parser keeps its own stack, never the thread's, however deep the input nests.
  constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag |
                              rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag;
  std::vector<rapidjson::Document> values;
  for (size_t at = skip_space(text, 0); at < text.size(); at = skip_space(text, at)) {
    rapidjson::MemoryStream memory(text.data() + at, text.size() - at);
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(memory);
    rapidjson::Document& doc = values.emplace_back();
    doc.ParseStream<kFlags, rapidjson::UTF8<>>(in);
    if (doc.HasParseError())
      return fail(ErrorKind::Invalid, "invalid_json",
                  base::text_position(text, at + doc.GetErrorOffset()) + ": " + rapidjson::GetParseError_En(doc.GetParseError()));
    at += in.Tell();
  }
  if (values.empty()) return fail(ErrorKind::Invalid, "invalid_json", "the file holds no JSON value");
  return values;
}

std::string member_path(std::string_view path, std::string_view key) {
  std::string out(path);
  if (plain_name(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += "[\"";
    for (char c : key) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"]";
  }
  return out;
}

std::string index_path(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

std::string_view type_name(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "boolean";
    case rapidjson::kObjectType: return "object";
    case rapidjson::kArrayType: return "array";
    case rapidjson::kStringType: return "string";
    case rapidjson::kNumberType: return v.IsInt64() || v.IsUint64() ? "integer" : "number";
  }
  return "value";
}

void Fields::error(std::string where, std::string message) {
  errors_.push_back({ErrorKind::Invalid, "invalid_import", std::move(message), std::move(where)});
}

void Fields::wrong_type(std::string_view path, std::string_view expected, const Value& got) {
  error(std::string(path), "expected " + std::string(expected) + ", got " + std::string(type_name(got)));
}

const Value* Fields::member(const Value& parent, std::string_view path, std::string_view key, bool required) {
  auto it = parent.FindMember(rapidjson::StringRef(key.data(), key.size()));
  if (it != parent.MemberEnd() && !it->value.IsNull()) return &it->value;
  if (required) error(member_path(path, key), "required field missing");
  return nullptr;
}

bool Fields::expect_object(const Value& v, std::string_view path) {
  if (v.IsObject()) return true;
  wrong_type(path, "object", v);
  return false;
}

const Value* Fields::object(const Value& parent, std::string_view path, std::string_view key, bool required) {
  const Value* v = member(parent, path, key, required);
  if (!v || v->IsObject()) return v;
  wrong_type(member_path(path, key), "object", *v);
  return nullptr;
}

const Value* Fields::array(const Value& parent, std::string_view path, std::string_view key, bool required) {
  const Value* v = member(parent, path, key, required);
  if (!v || v->IsArray()) return v;
  wrong_type(member_path(path, key), "array", *v);
  return nullptr;
}

std::optional<std::string> Fields::string(const Value& parent, std::string_view path, std::string_view key,
                                          bool required) {
  const Value* v = member(parent, path, key, required);
  if (!v) return std::nullopt;
  if (!v->IsString()) {
    wrong_type(member_path(path, key), "string", *v);
    return std::nullopt;
  }
  return std::string(v->GetString(), v->GetStringLength());
}

std::optional<bool> Fields::boolean(const Value& parent, std::string_view path, std::string_view key, bool required) {
  const Value* v = member(parent, path, key, required);
  if (!v) return std::nullopt;
  if (!v->IsBool()) {
    wrong_type(member_path(path, key), "boolean", *v);
    return std::nullopt;
  }
  return v->GetBool();
}

std::optional<int64_t> Fields::integer(const Value& parent, std::string_view path, std::string_view key,
                                      bool required) {
  const Value* v = member(parent, path, key, required);
  if (!v) return std::nullopt;
  if (!v->IsInt64()) {
    wrong_type(member_path(path, key), "integer", *v);
    return std::nullopt;
  }
  return v->GetInt64();
}

std::optional<int64_t> Fields::port(const Value& parent, std::string_view path, std::string_view key, bool required) {
  const Value* v = member(parent, path, key, required);
  if (!v) return std::nullopt;
  const std::string where = member_path(path, key);
  int64_t port = -1;
  if (v->IsInt64()) {
    port = v->GetInt64();
  } else if (v->IsString()) {
    // Eureka's XML-to-JSON converters write numbers as strings ("8080").
    std::string_view s(v->GetString(), v->GetStringLength());
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
      error(where, "expected a port number, got \"" + std::string(s) + "\"");
      return std::nullopt;
    }
  } else {
    wrong_type(where, "integer", *v);
    return std::nullopt;
  }
  if (port < 1 || port > 65535) {
    error(where, "port " + std::to_string(port) + " is not in 1-65535");
    return std::nullopt;
  }
  return port;
}

std::map<std::string, std::string> Fields::string_map(const Value& parent, std::string_view path,
                                                      std::string_view key) {
  std::map<std::string, std::string> out;
  const Value* object = this->object(parent, path, key, false);
  if (!object) return out;
  const std::string where = member_path(path, key);
  for (const auto& m : object->GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    if (k.starts_with('@')) continue;
    if (k.empty()) {
      error(where, "an empty key");
    } else if (!m.value.IsString()) {
      wrong_type(member_path(where, k), "string", m.value);
    } else {
      out.emplace(k, std::string(m.value.GetString(), m.value.GetStringLength()));
    }
  }
  return out;
}

std::vector<std::string> Fields::strings(const Value& parent, std::string_view path, std::string_view key) {
  std::vector<std::string> out;
  const Value* list = array(parent, path, key, false);
  if (!list) return out;
  const std::string where = member_path(path, key);
  for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
    const Value& v = (*list)[i];
    if (v.IsString())
      out.emplace_back(v.GetString(), v.GetStringLength());
    else
      wrong_type(index_path(where, i), "string", v);
  }
  return out;
}

}  // namespace roster::cli::importing
