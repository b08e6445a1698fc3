// libFuzzer: the validators of what names things in a path: activation ids, entity names,
// namespace names (whisk-admin), the path segments' percent-decoding and the base64 of
// Basic auth. Oracles: each validator's promise, checked character by character.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "whisk/admin.hpp"
#include "whisk/base64.hpp"
#include "whisk/domain.hpp"
#include "whisk/http/server.hpp"

using namespace whisk;

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "FINDING: %s\n%.500s\n", what, detail.c_str());
  std::abort();
}

bool all_of(const std::string& s, bool (*ok)(unsigned char)) {
  for (unsigned char c : s)
    if (!ok(c))
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);

  if (is_activation_id(s) &&
      (s.size() != 32 || !all_of(s, [](unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); })))
    finding("is_activation_id accepted", s);

  bool entity = is_valid_entity_name(s);
  if (entity && (s.empty() || s.size() > 256 || s.back() == ' ' || s.front() == ' ' || s.front() == '-' ||
                 s.front() == '.' || s.front() == '@' ||
                 !all_of(s, [](unsigned char c) {
                   return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '-' || c == '.' || c == '@' || c == ' ';
                 })))
    finding("is_valid_entity_name accepted", s);

  auto ns = admin::check_namespace_name(s);
  if (ns && (!entity || s == "_"))
    finding("check_namespace_name accepted", s);
  if (!ns && ns.err().message.empty())
    finding("check_namespace_name refused without a message", s);

  // A path segment and a query value as the router decodes them: never longer.
  if (http::url_decode(s).size() > s.size() || http::url_decode(s, true).size() > s.size())
    finding("url_decode grew its input", s);

  // The credentials of Basic auth: padded standard base64, whitespace skipped.
  if (auto b = base64_decode(s); b && b->size() > s.size() / 4 * 3 + 3)
    finding("base64_decode returned more bytes than its input can hold", s);
  return 0;
}
