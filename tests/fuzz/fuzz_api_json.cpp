// libFuzzer: a JSON API body as PUT .../actions/NAME (new, and as an update of an existing
// action) and as POST invoke parameters receive it. Oracles besides the sanitizers: what
// json::dump writes parses back to the same text; an action accepted from a body reads back
// from the document the store keeps (or it would vanish); merged invoke parameters parse.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "whisk/domain.hpp"
#include "whisk/json.hpp"

using namespace whisk;

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "FINDING: %s\n%.2000s\n", what, detail.c_str());
  std::abort();
}

const action& existing() {
  static const action a = [] {
    auto body = json::parse(R"({"exec":{"kind":"python:3","code":"def main(a): return a"},)"
                            R"("parameters":[{"key":"p","value":{"deep":[1,2,{"x":null}]}}],)"
                            R"("annotations":[{"key":"provide-api-key","value":true}],"limits":{"timeout":1000}})");
    return *action_from_json(*body, "team-a", "existing");
  }();
  return a;
}

// As the store writes an action and reads it back (sqlite_store's action_from_doc).
void reads_back(const action& a) {
  auto doc = json::dump(to_json(a));
  auto parsed = json::parse(doc, json::max_wrapped_depth);
  if (!parsed)
    finding("a stored action document does not parse", parsed.err().message + "\n" + doc.substr(0, 1000));
  auto back = action_from_json(*parsed, json::get_string(*parsed, "namespace"), json::get_string(*parsed, "name"));
  if (!back)
    finding("an accepted action does not read back from its stored document", back.err().message + "\n" + doc.substr(0, 1000));
  if (back->ns != a.ns || back->name != a.name || back->exec.kind != a.exec.kind || back->exec.code != a.exec.code)
    finding("an action reads back changed", doc.substr(0, 1000));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = json::parse(text);
  if (!body)
    return 0;
  auto once = json::dump(*body);
  auto again = json::parse(once);
  if (!again)
    finding("json::dump wrote what json::parse refuses", again.err().message + "\n" + once.substr(0, 1000));
  if (json::dump(*again) != once)
    finding("json::dump of a parsed dump differs", once.substr(0, 1000));

  if (auto a = action_from_json(*body, "team-a", "x")) {
    if (a->ns != "team-a" || a->name != "x")
      finding("a body changed the action's namespace or name", once.substr(0, 1000));
    reads_back(*a);
  }
  if (auto u = action_update(existing(), *body)) {
    if (u->ns != "team-a" || u->name != "existing")
      finding("an update changed the action's namespace or name", once.substr(0, 1000));
    reads_back(*u);
  }
  if (body->is_object()) { // invoke parameters, merged over the action's as rest_api does
    json::value params = parameters_object(existing().parameters);
    for (auto& [k, v] : body->as_object())
      params.set(k, v);
    auto merged = json::dump(params);
    if (!json::parse(merged, json::max_wrapped_depth))
      finding("merged invoke parameters do not parse", merged.substr(0, 1000));
  }
  return 0;
}
