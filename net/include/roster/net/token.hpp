// The shared secret of roster's daemons: roster-server requires it on writes and agent streams,
// roster-agent presents it in its Hello. Where it comes from, in order:
//   --token-file PATH   its first line (trailing whitespace dropped); the preferred way
//   --token VALUE       visible to every user of the host in `ps`: works, with a warning logged
//   ROSTER_TOKEN        the environment variable, when neither flag is given
// Giving both flags is an error (which one was meant?).
#pragma once

#include <optional>
#include <string>

#include "roster/base/result.hpp"

namespace roster::net {

inline constexpr const char* kTokenEnvironmentVariable = "ROSTER_TOKEN";

// The token, or nullopt when none is given. Errors: invalid_token_options (both flags),
// io_error (the file cannot be read or its first line is empty), naming the file.
Result<std::optional<std::string>> load_token(const std::string& token_flag, const std::string& token_file);

}  // namespace roster::net
