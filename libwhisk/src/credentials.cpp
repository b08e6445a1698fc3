#include "whisk/credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "whisk/store/store.hpp"

namespace whisk {

namespace fs = std::filesystem;

namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0; // thread-safe, idempotent
  return ready;
}

std::string to_hex(const unsigned char* bytes, std::size_t size) {
  std::string hex(size * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, size);
  hex.pop_back();
  return hex;
}

std::string errno_text() { return std::strerror(errno); }

// A file descriptor closed on scope exit.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

bool write_all(int fd, const void* data, std::size_t size) {
  auto p = static_cast<const char*>(data);
  while (size > 0) {
    auto n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace

void random_bytes(void* out, std::size_t size) {
  sodium_ready();
  randombytes_buf(out, size);
}

// Each call draws its own bytes: a uuid says nothing about any key.
std::string new_uuid() {
  std::array<unsigned char, 16> b;
  random_bytes(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40); // version 4: random
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80); // RFC 4122 variant
  auto h = to_hex(b.data(), b.size());
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

std::string new_key() {
  std::array<unsigned char, 32> b;
  random_bytes(b.data(), b.size());
  auto key = to_hex(b.data(), b.size());
  sodium_memzero(b.data(), b.size());
  return key;
}

bool equal_secrets(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string key_hasher::hash(std::string_view key) const {
  std::array<unsigned char, 32> out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     secret_.data(), secret_.size());
  return to_hex(out.data(), out.size());
}

expected<key_hasher> load_node_secret(const fs::path& file) {
  if (!sodium_ready())
    return make_error(errc::internal, "libsodium could not be initialized");
  std::array<unsigned char, key_hasher::secret_bytes> secret;
  fd_guard f{::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW)};
  if (f.fd >= 0) {
    struct stat st{};
    if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(secret.size()))
      return make_error(errc::internal, fmt::format("{} is not a node secret of {} bytes", file.string(), secret.size()));
    if ((st.st_mode & 077) != 0 && ::fchmod(f.fd, 0600) != 0)
      return make_error(errc::internal, fmt::format("cannot make {} owner-only: {}", file.string(), errno_text()));
    if (::read(f.fd, secret.data(), secret.size()) != static_cast<ssize_t>(secret.size()))
      return make_error(errc::internal, fmt::format("cannot read {}: {}", file.string(), errno_text()));
    key_hasher h{secret};
    sodium_memzero(secret.data(), secret.size());
    return h;
  }
  if (errno != ENOENT)
    return make_error(errc::internal, fmt::format("cannot open {}: {}", file.string(), errno_text()));
  // Written beside and renamed into place: a crash never leaves a short secret behind.
  auto tmp = file;
  tmp += ".tmp";
  fd_guard w{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (w.fd < 0 || ::fchmod(w.fd, 0600) != 0)
    return make_error(errc::internal, fmt::format("cannot create {}: {}", tmp.string(), errno_text()));
  randombytes_buf(secret.data(), secret.size());
  if (!write_all(w.fd, secret.data(), secret.size()) || ::fsync(w.fd) != 0 || ::rename(tmp.c_str(), file.c_str()) != 0)
    return make_error(errc::internal, fmt::format("cannot write {}: {}", file.string(), errno_text()));
  key_hasher h{secret};
  sodium_memzero(secret.data(), secret.size());
  return h;
}

expected<bool> make_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return make_error(errc::internal, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  if (::chmod(dir.c_str(), 0700) != 0)
    return make_error(errc::internal, fmt::format("cannot make {} owner-only: {}", dir.string(), errno_text()));
  return true;
}

std::optional<wskprops> read_wskprops(const fs::path& file) {
  std::ifstream in(file);
  if (!in)
    return std::nullopt;
  wskprops p;
  std::string line, auth;
  while (std::getline(in, line)) {
    if (line.rfind("APIHOST=", 0) == 0)
      p.api_host = line.substr(8);
    else if (line.rfind("AUTH=", 0) == 0)
      auth = line.substr(5);
  }
  auto colon = auth.find(':');
  if (colon == std::string::npos)
    return std::nullopt;
  p.uuid = auth.substr(0, colon);
  p.key = auth.substr(colon + 1);
  return p;
}

expected<bool> write_wskprops(const fs::path& file, const wskprops& props) {
  auto tmp = file;
  tmp += ".tmp";
  auto text = fmt::format("APIHOST={}\nAUTH={}\n", props.api_host, props.auth());
  fd_guard w{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)};
  bool ok = w.fd >= 0 && ::fchmod(w.fd, 0600) == 0 && write_all(w.fd, text.data(), text.size());
  sodium_memzero(text.data(), text.size());
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0)
    return make_error(errc::internal, fmt::format("cannot write {}: {}", file.string(), errno_text()));
  return true;
}

expected<guest_credentials> bootstrap_guest(store& db, const key_hasher& keys, const fs::path& file,
                                            const std::string& api_host) {
  auto all = db.namespaces();
  guest_credentials out;
  wskprops props;
  props.api_host = api_host;
  std::optional<namespace_record> guest;
  for (auto& ns : all)
    if (ns.name == "guest")
      guest = ns;
  if (!guest && !all.empty())
    return out; // tenants made by an operator, none named guest: no key is issued or touched
  auto existing = read_wskprops(file);
  if (guest && existing && existing->uuid == guest->uuid && keys.verify(existing->key, guest->key_hash)) {
    props.uuid = existing->uuid;
    props.key = existing->key;
    out.name = guest->name;
  } else {
    // The key cannot be recovered from its hash: issue a new one.
    namespace_record ns = guest ? *guest : namespace_record{"guest", new_uuid(), {}};
    props.uuid = ns.uuid;
    props.key = new_key();
    ns.key_hash = keys.hash(props.key);
    if (auto ok = db.put_namespace(ns); !ok)
      return ok.err();
    out.name = ns.name;
    out.created = !guest;
    out.new_key = true;
  }
  if (auto ok = write_wskprops(file, props); !ok)
    return ok.err();
  return out;
}

} // namespace whisk
