#pragma once
// Entity and activation storage. Nothing above this interface knows which backend runs.
// Writes that fail because the store cannot write (disk full, read-only) are errc::unavailable.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "whisk/credentials.hpp"
#include "whisk/domain.hpp"

namespace whisk {

struct namespace_record {
  std::string name;
  std::string uuid;
  std::string key_hash; // key_hasher::hash of the key; the key itself is never stored
};

// The cost of durable answers: each commit holds the answers of its records.
struct store_write_stats {
  std::int64_t commits = 0;
  std::int64_t records = 0;   // activation records and stand-ins written
  std::int64_t commit_us = 0; // time spent writing and committing, summed
};

struct activation_query {
  std::string ns;
  std::string name;       // empty: every action; "pkg/name" for an action in a package
  std::int64_t limit = 30;
  std::int64_t skip = 0;
  std::int64_t since = 0; // start >= since (ms), 0: no bound
  std::int64_t upto = 0;  // start <= upto (ms), 0: no bound
};

class store {
public:
  virtual ~store() = default;

  virtual expected<bool> put_namespace(const namespace_record& ns) = 0;
  virtual std::optional<namespace_record> namespace_by_uuid(const std::string& uuid) = 0;
  virtual std::vector<namespace_record> namespaces() = 0;
  // Credentials as an operator changes them (whisk-admin, on a running node's store too).
  // add: errc::conflict when the name or uuid is taken. replace_key_hash: errc::not_found
  // when there is no such namespace. delete: false when there was none; the namespace's
  // actions and activations stay, as an OpenWhisk subject's entities do.
  virtual expected<bool> add_namespace(const namespace_record& ns) = 0;
  virtual std::optional<namespace_record> namespace_by_name(const std::string& name) = 0;
  virtual expected<bool> replace_key_hash(const std::string& name, const std::string& key_hash) = 0;
  virtual bool delete_namespace(const std::string& name) = 0;
  // Changes whenever a store of this process or another one (whisk-admin) has written a
  // namespace; costs a memory load, so the REST layer asks it on every request and drops its
  // cache of verified keys when it moved: a rotated or deleted key stops working at once.
  virtual std::int64_t credentials_version() = 0;
  // Changes whenever a store of this process or another one (a controller sharing the
  // database) has written or deleted an action; the REST layer drops its entity cache when
  // it moved. SQLite: at once (a shared counter next to the file); PostgreSQL: when the
  // notification arrives (LISTEN/NOTIFY; milliseconds, at most a reconnect after an outage).
  virtual std::int64_t entities_version() = 0;

  virtual expected<bool> put_action(const action& a) = 0;
  virtual std::optional<action> get_action(const std::string& ns, const std::string& name) = 0;
  virtual std::vector<action> list_actions(const std::string& ns, std::int64_t limit, std::int64_t skip) = 0;
  // true: deleted; false: there was no such action; an error (unavailable): the store failed.
  virtual expected<bool> delete_action(const std::string& ns, const std::string& name) = 0;

  // Packages, triggers, rules and namespace limits: JSON documents by collection
  // ("packages", "triggers", "rules", "limits"), namespace and name. Writes and deletes move
  // entities_version() as action writes do. Lists are newest first.
  virtual expected<bool> put_entity(const std::string& collection, const std::string& ns, const std::string& name,
                                    std::int64_t updated_ms, const json::value& doc) = 0;
  virtual std::optional<json::value> get_entity(const std::string& collection, const std::string& ns,
                                                const std::string& name) = 0;
  virtual std::vector<json::value> list_entities(const std::string& collection, const std::string& ns,
                                                 std::int64_t limit, std::int64_t skip) = 0;
  virtual expected<bool> delete_entity(const std::string& collection, const std::string& ns, const std::string& name) = 0;

  // Runs on the store's own thread once a write is committed (on disk, safe from a crash).
  using on_committed = std::function<void()>;

  // Queues a finished activation for the next group commit; `done` runs once it is
  // committed, so an answer sent from it never names a record that a crash could lose.
  virtual void add_activation(activation a, on_committed done = {}) = 0;
  // Keeps `stand_in` (a whisk-error record) for an activation answered 202 before it ended;
  // its real record replaces it. A node that stops first leaves the stand-in for
  // recover_accepted(). `done` runs once it is committed.
  virtual void add_accepted(activation stand_in, on_committed done) = 0;
  // At start: every activation `owner` accepted without a record gets its stand-in; returns
  // how many. Stand-ins added from now on are `owner`'s (controllers sharing a store each
  // recover only their own; whisk-node is the owner "").
  virtual expected<std::int64_t> recover_accepted(const std::string& owner = {}) = 0;
  // Committed records only: what a reader sees survives a crash.
  virtual std::optional<activation> get_activation(const std::string& ns, const std::string& id) = 0;
  virtual std::vector<activation> list_activations(const activation_query& q) = 0;
  // How many records match `q` (its limit and skip aside).
  virtual std::int64_t count_activations(const activation_query& q) = 0;
  // Blocks until every queued write is committed or `limit` has passed; false: some are not.
  virtual bool flush(std::chrono::milliseconds limit = std::chrono::minutes(1)) = 0;
  // Activation writes not committed yet (queued, or kept for a retry while the store fails).
  virtual std::int64_t pending_writes() const = 0;
  // Empty while writes succeed; else why the last one failed.
  virtual std::string write_failure() const = 0;
  virtual store_write_stats write_stats() const = 0;
  // Empty while reads succeed; else why the last one failed (a database that is down: a
  // read that found nothing does not mean "absent" then). SQLite: always empty.
  virtual std::string read_failure() const { return {}; }
};

// The embedded default: one SQLite file (WAL) at `path`; it and its -wal and -shm files
// are owner-only, as is `path`-credentials (the shared credentials version). A store written before keys were hashed is migrated on open with
// `plain_keys` (hashes replace the keys, whose bytes are wiped from the files); without
// it such a store is refused.
expected<std::unique_ptr<store>> open_sqlite_store(const std::string& path, const key_hasher* plain_keys = nullptr);

// PostgreSQL, through libpq: `uri` is a connection URI, postgresql://USER@HOST:PORT/DB, or
// postgresql:///DB?host=/path/to/socket/dir for a Unix socket. The schema is created (or
// migrated) on open; a database whose schema is newer than this binary knows is refused.
// Keys are stored as their hashes, as in SQLite; there are no plain keys to migrate.
expected<std::unique_ptr<store>> open_postgres_store(const std::string& uri);

// "postgresql://..." or "postgres://...": a PostgreSQL URI.
bool is_postgres_uri(std::string_view spec);
// A PostgreSQL URI without its password (for logs).
std::string redacted_uri(std::string_view uri);

// What --store names: empty, SQLite in `data_dir` (whisk.db, its keys hashed with `keys`,
// plain keys of an old store migrated); a PostgreSQL URI, that database. errc::bad_request
// for anything else.
expected<std::unique_ptr<store>> open_store(const std::string& spec, const std::filesystem::path& data_dir, const key_hasher& keys);

} // namespace whisk
