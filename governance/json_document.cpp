#include "roster/governance/json_document.hpp"

#include <optional>

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "roster/base/percent.hpp"
#include "roster/base/text_position.hpp"

namespace roster::governance {

namespace {

// "line L, column C (offset N)" of a byte offset, for messages.
std::string position(std::string_view text, size_t offset) {
  return base::text_position(text, offset) + " (offset " + std::to_string(offset) + ")";
}

// The offset of the first bracket nested deeper than `limit`, or npos. One pass over the text,
// skipping strings; it runs before the parser, so nothing ever builds (or walks) a tree deeper
// than the limit.
size_t too_deep_at(std::string_view text, size_t limit) {
  size_t depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Result<rapidjson::Document> parse_json(std::string_view text) {
  if (const size_t deep = too_deep_at(text, kMaxJsonDepth); deep != std::string_view::npos)
    return fail(ErrorKind::Invalid, "invalid_json",
                position(text, deep) + ": nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  rapidjson::Document document;
  // Iterative: the parser keeps its own stack, never the thread's.
  constexpr unsigned kFlags =
      rapidjson::kParseValidateEncodingFlag | rapidjson::kParseFullPrecisionFlag | rapidjson::kParseIterativeFlag;
  document.Parse<kFlags>(text.data(), text.size());
  if (!document.HasParseError()) return document;
  return fail(ErrorKind::Invalid, "invalid_json",
              position(text, document.GetErrorOffset()) + ": " + rapidjson::GetParseError_En(document.GetParseError()));
}

std::string pointer_escape(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string pointer_append(std::string_view pointer, std::string_view token) {
  std::string out(pointer);
  out += '/';
  out += pointer_escape(token);
  return out;
}

std::string pointer_append(std::string_view pointer, size_t index) {
  return std::string(pointer) + '/' + std::to_string(index);
}

namespace {

// One reference token of a URI fragment pointer: %XX decoded (nullopt for a malformed escape), then ~1 and ~0
// unescaped.
std::optional<std::string> decode_token(std::string_view raw) {
  const auto decoded = base::percent_decode(raw, {.allow_nul = true});  // a JSON key may hold NUL
  if (!decoded) return std::nullopt;
  const std::string& percent_decoded = *decoded;
  std::string out;
  for (size_t i = 0; i < percent_decoded.size(); ++i) {
    if (percent_decoded[i] == '~' && i + 1 < percent_decoded.size() && (percent_decoded[i + 1] == '0' || percent_decoded[i + 1] == '1')) {
      out += percent_decoded[i + 1] == '0' ? '~' : '/';
      ++i;
    } else {
      out += percent_decoded[i];
    }
  }
  return out;
}

}  // namespace

const rapidjson::Value* resolve_local_ref(const rapidjson::Value& root, std::string_view ref) {
  if (ref.empty() || ref[0] != '#') return nullptr;
  std::string_view pointer = ref.substr(1);
  if (!pointer.empty() && pointer[0] != '/') return nullptr;  // a plain-name fragment: not supported
  const rapidjson::Value* at = &root;
  while (!pointer.empty()) {
    pointer.remove_prefix(1);
    const size_t end = pointer.find('/');
    auto token = decode_token(pointer.substr(0, end));
    pointer = end == std::string_view::npos ? std::string_view() : pointer.substr(end);
    if (!token) return nullptr;
    if (at->IsObject()) {
      auto it = at->FindMember(rapidjson::Value(rapidjson::StringRef(token->data(), token->size())));
      if (it == at->MemberEnd()) return nullptr;
      at = &it->value;
    } else if (at->IsArray()) {
      if (token->empty() || token->size() > 9 || token->find_first_not_of("0123456789") != std::string::npos ||
          (token->size() > 1 && (*token)[0] == '0'))
        return nullptr;
      const size_t index = std::stoul(*token);
      if (index >= at->Size()) return nullptr;
      at = &(*at)[static_cast<rapidjson::SizeType>(index)];
    } else {
      return nullptr;
    }
  }
  return at;
}

std::string fragment_to_pointer(std::string_view fragment) {
  return base::percent_decode(fragment, {.allow_nul = true}).value_or(std::string(fragment));
}

const rapidjson::Value* follow_refs(const rapidjson::Value& root, const rapidjson::Value& value, std::string* pointer) {
  const rapidjson::Value* at = &value;
  // A chain longer than this loops (or is absurd); 64 hops is far beyond any real document.
  for (int hops = 0; hops < 64; ++hops) {
    const rapidjson::Value* ref = member(*at, "$ref");
    if (!ref) return at;
    if (!ref->IsString()) return nullptr;
    const std::string_view target(ref->GetString(), ref->GetStringLength());
    at = resolve_local_ref(root, target);
    if (!at) return nullptr;
    if (pointer) *pointer = std::string(target.substr(1));
  }
  return nullptr;
}

const rapidjson::Value* member(const rapidjson::Value& object, std::string_view key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(rapidjson::Value(rapidjson::StringRef(key.data(), key.size())));
  return it == object.MemberEnd() ? nullptr : &it->value;
}

bool deeper_than(const rapidjson::Value& value, int limit) {
  if (limit < 0) return true;
  if (value.IsObject()) {
    for (const auto& m : value.GetObject())
      if (deeper_than(m.value, limit - 1)) return true;
  } else if (value.IsArray()) {
    for (const auto& v : value.GetArray())
      if (deeper_than(v, limit - 1)) return true;
  }
  return false;
}

std::string to_json_text(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace roster::governance
