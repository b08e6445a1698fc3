#pragma once
// Namespace credentials: uuids and keys from the OS CSPRNG, the keyed hash the store keeps
// instead of a key (BLAKE2b keyed with a per-node secret), and the files that hold secrets
// (the node secret, wskprops), each created owner-only.
#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "whisk/expected.hpp"

namespace whisk {

class store;

// `size` bytes from the OS CSPRNG (libsodium's randombytes_buf).
void random_bytes(void* out, std::size_t size);

// A random (version 4) uuid: 36 characters, lowercase hex in 8-4-4-4-12 groups.
std::string new_uuid();
// A random key: 64 lowercase hex digits (256 bits), drawn independently of any uuid.
std::string new_key();

// Equality in time that depends only on the sizes, for secrets and their hashes.
bool equal_secrets(std::string_view a, std::string_view b);

class key_hasher {
public:
  static constexpr std::size_t secret_bytes = 32;
  explicit key_hasher(const std::array<unsigned char, secret_bytes>& secret) : secret_(secret) {}
  // 64 hex digits: BLAKE2b-256 of the key, keyed with the node secret.
  std::string hash(std::string_view key) const;
  bool verify(std::string_view key, std::string_view key_hash) const { return equal_secrets(hash(key), key_hash); }

private:
  std::array<unsigned char, secret_bytes> secret_;
};

// The node secret in `file` (mode 0600), made of fresh random bytes when it does not exist.
// Losing it makes every stored key hash useless: it lives in the data dir, beside the store.
expected<key_hasher> load_node_secret(const std::filesystem::path& file);

// Creates `dir` if needed and makes it 0700: it holds the store and the secrets.
expected<bool> make_private_dir(const std::filesystem::path& dir);

struct wskprops {
  std::string api_host;
  std::string uuid;
  std::string key;
  std::string auth() const { return uuid + ":" + key; }
};
std::optional<wskprops> read_wskprops(const std::filesystem::path& file);
// Written whole (a temporary file renamed over it), mode 0600 from the first byte.
expected<bool> write_wskprops(const std::filesystem::path& file, const wskprops& props);

// First start: the namespace `guest` with a new key. Every start: `file` with the API host
// and guest's credentials. The store keeps only a hash, so the key comes from the existing
// file; when that file is gone (or holds another key), guest gets a new key and the old
// one stops working. Only `guest` is ever given a key here.
struct guest_credentials {
  std::string name;     // empty: the store has namespaces but no guest, and `file` was left alone
  bool created = false; // the namespace was created on this start
  bool new_key = false; // a key was issued on this start (always when created)
};
expected<guest_credentials> bootstrap_guest(store& db, const key_hasher& keys, const std::filesystem::path& file,
                                            const std::string& api_host);

} // namespace whisk
