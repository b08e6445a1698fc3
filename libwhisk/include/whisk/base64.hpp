#pragma once
// Base64 (RFC 4648, standard alphabet, padded) through libsodium: action code sent with
// "binary": true, the credentials of Basic auth and web actions' binary bodies.
#include <optional>
#include <string>
#include <string_view>

namespace whisk {

// The decoded bytes, or nullopt for anything that is not padded standard base64.
// Spaces, tabs and line breaks are skipped (line-wrapped encodings are common).
std::optional<std::string> base64_decode(std::string_view text);
// Padded standard base64 of `bytes` (web actions' binary bodies).
std::string base64_encode(std::string_view bytes);

} // namespace whisk
