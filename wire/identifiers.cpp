#include "roster/wire/identifiers.hpp"

#include <string>

namespace roster::wire {

namespace {

// Length of the UTF-8 sequence at text[i], or 0 when it is not a valid one (overlong forms,
// surrogates and code points above U+10FFFF included).
size_t utf8_sequence(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

Result<void> check_identifier(std::string_view text) {
  auto refuse = [](std::string message) { return fail(ErrorKind::Invalid, "invalid_name", std::move(message)); };
  if (text.empty()) return refuse("must not be empty");
  if (text.size() > kMaxIdentifierBytes)
    return refuse("is " + std::to_string(text.size()) + " bytes; names are at most " +
                  std::to_string(kMaxIdentifierBytes));
  if (text == "." || text == "..") return refuse("\"" + std::string(text) + "\" cannot be addressed in a URL");
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      return refuse(std::string("contains the control character 0x") + kHex[c >> 4] + kHex[c & 15] + " at byte " +
                    std::to_string(i));
    }
    const size_t n = utf8_sequence(text, i);
    if (n == 0) return refuse("is not valid UTF-8 at byte " + std::to_string(i));
    i += n;
  }
  return {};
}

}  // namespace roster::wire
