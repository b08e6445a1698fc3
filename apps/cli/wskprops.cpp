#include "wskprops.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace whisk::cli {

namespace {

std::string trim(std::string s) {
  auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos)
    return {};
  auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// KEY=VALUE -> key, or empty for comments and other lines
std::string key_of(const std::string& line) {
  auto t = trim(line);
  if (t.empty() || t[0] == '#')
    return {};
  auto eq = t.find('=');
  return eq == std::string::npos ? std::string{} : trim(t.substr(0, eq));
}

expected<std::vector<std::string>> read_lines(const std::string& path, bool& exists) {
  std::ifstream in(path);
  exists = bool(in);
  std::vector<std::string> lines;
  if (!in) {
    if (errno == ENOENT)
      return lines;
    return make_error(errc::internal, fmt::format("Cannot read the properties file {}: {}.", path, std::strerror(errno)));
  }
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

} // namespace

std::string wskprops_path() {
  if (const char* f = std::getenv("WSK_CONFIG_FILE"); f && *f)
    return f;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.wskprops";
}

expected<wskprops> load_wskprops(const std::string& path) {
  bool exists = false;
  auto lines = read_lines(path, exists);
  if (!lines)
    return lines.err();
  wskprops props;
  props.path = path;
  for (auto& line : *lines) {
    auto key = key_of(line);
    if (!key.empty())
      props.values[key] = trim(line.substr(line.find('=') + 1));
  }
  return props;
}

expected<bool> update_wskprops(const std::string& path, const std::map<std::string, std::string>& changes) {
  bool exists = false;
  auto lines = read_lines(path, exists);
  if (!lines)
    return lines.err();
  auto pending = changes;
  std::ostringstream out;
  for (auto& line : *lines) {
    auto key = key_of(line);
    auto i = pending.find(key);
    if (key.empty() || i == pending.end()) {
      out << line << "\n";
      continue;
    }
    if (!i->second.empty())
      out << key << "=" << i->second << "\n";
    pending.erase(i);
  }
  for (auto& [key, value] : pending)
    if (!value.empty())
      out << key << "=" << value << "\n";

  auto tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return make_error(errc::internal, fmt::format("Cannot write the properties file {}: {}.", tmp, std::strerror(errno)));
  auto text = out.str();
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  written = ::close(fd) == 0 && written;
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    auto why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return make_error(errc::internal, fmt::format("Cannot write the properties file {}: {}.", path, why));
  }
  return true;
}

} // namespace whisk::cli
