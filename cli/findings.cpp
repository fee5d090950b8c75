#include "findings.hpp"

#include <cctype>

#include "server_client.hpp"

namespace roster::cli {

std::string finding_line(std::string_view severity, std::string_view id, std::string_view method, std::string_view path,
                         std::string_view pointer, std::string_view message) {
  std::string line;
  for (char c : severity) line.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  line.append(" ").append(id);
  if (!method.empty()) line.append(" ").append(method);
  if (!path.empty()) line.append(" ").append(path);
  if (method.empty() && path.empty() && !pointer.empty()) line.append(" ").append(pointer);
  return line.append(": ").append(message);
}

std::string finding_line(const rapidjson::Value& f) {
  return finding_line(str(f, "severity"), str(f, "id"), str(f, "method"), str(f, "path"), str(f, "pointer"),
                      str(f, "message"));
}

std::string finding_line(const governance::Finding& f) {
  return finding_line(governance::to_string(f.severity), f.id, f.method, f.path, f.pointer, f.message);
}


}  // namespace roster::cli
