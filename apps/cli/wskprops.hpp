#pragma once
// The properties file of OpenWhisk's CLI (~/.wskprops, or $WSK_CONFIG_FILE): KEY=VALUE
// lines. whisk-node writes one with APIHOST and AUTH to its data dir.
#include <map>
#include <string>

#include "whisk/expected.hpp"

namespace whisk::cli {

struct wskprops {
  std::string path;
  std::map<std::string, std::string> values; // APIHOST, AUTH, NAMESPACE, ...

  std::string get(const std::string& key) const {
    auto i = values.find(key);
    return i == values.end() ? std::string{} : i->second;
  }
};

// $WSK_CONFIG_FILE, else $HOME/.wskprops.
std::string wskprops_path();

// A missing file is an empty set of properties; an unreadable one is an error.
expected<wskprops> load_wskprops(const std::string& path);

// Rewrites the file with `changes` applied (an empty value removes the key), keeping the
// other lines as they were; the file is replaced atomically and readable by its owner only.
expected<bool> update_wskprops(const std::string& path, const std::map<std::string, std::string>& changes);

} // namespace whisk::cli
