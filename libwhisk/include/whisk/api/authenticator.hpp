#pragma once
// Basic auth against the store's key hashes. A key that verified is remembered per uuid and
// compared in constant time instead of hashed again; the memory is dropped whenever the
// store's credentials version moves (an operator created, rotated or deleted a key, maybe
// from another process) and is trusted at most `recheck_ms` in any case.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "whisk/credentials.hpp"
#include "whisk/store/store.hpp"

namespace whisk::api {

// Who a request comes from, once its key verified.
struct caller_info {
  std::string name; // the namespace
  std::string uuid;
  std::string key;  // as presented; passed on to actions that ask for it
};

class authenticator {
public:
  // keys: none refuses every key.
  authenticator(store& s, std::optional<key_hasher> keys, std::int64_t recheck_ms);
  // The caller named by an `Authorization: Basic ...` header, or none (401). Thread-safe.
  // `unavailable` (if given) is set when the key could not be checked because the store
  // cannot be read (answer 503, not 401).
  std::optional<caller_info> authenticate(const std::string& authorization, bool* unavailable = nullptr);
  // The same from the remembered keys only, for a thread that must not wait on the store:
  // `needs_store` is set (and none returned) when only the store can tell.
  std::optional<caller_info> authenticate_cached(const std::string& authorization, bool& needs_store);

private:
  std::optional<caller_info> check(const std::string& authorization, bool* unavailable, bool* needs_store);
  struct verified_key {
    namespace_record ns;
    std::string key; // the last key that verified for this uuid
    std::int64_t checked_ms = 0;
  };
  store& store_;
  std::optional<key_hasher> keys_;
  std::int64_t recheck_ms_;
  std::mutex mx_;
  std::int64_t version_ = -1; // the store's credentials version the cache was filled under
  std::map<std::string, verified_key> cache_; // uuid -> namespace and last verified key
};

// GET /metrics (with or without a query): the node's figures, for any valid key.
bool is_metrics_request(const std::string& method, const std::string& target);

} // namespace whisk::api
