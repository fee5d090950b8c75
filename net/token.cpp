#include "roster/net/token.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <fstream>

#include "roster/base/log.hpp"

namespace roster::net {

Result<std::optional<std::string>> load_token(const std::string& token_flag, const std::string& token_file) {
  if (!token_flag.empty() && !token_file.empty())
    return fail(ErrorKind::Invalid, "invalid_token_options", "give the token once: --token or --token-file, not both");
  if (!token_flag.empty()) {
    log::warn("the token was given with --token, which every user of this host can read in `ps`: "
              "prefer --token-file or the {} environment variable",
              kTokenEnvironmentVariable);
    return token_flag;
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    std::string token;
    if (in) std::getline(in, token);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (token.empty())
      return fail(ErrorKind::Io, "io_error", "cannot read a token from " + token_file + " (missing, unreadable or empty)",
                  token_file);
    struct stat st{};
    if (::stat(token_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
      log::warn("token file {} is readable by every user of this host (mode {:04o}): chmod o-r it", token_file,
                st.st_mode & 07777);
    return token;
  }
  const char* env = std::getenv(kTokenEnvironmentVariable);
  if (env != nullptr && *env != '\0') return std::string(env);
  return std::nullopt;
}

}  // namespace roster::net
