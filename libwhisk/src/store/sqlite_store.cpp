#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <deque>
#include <optional>
#include <fmt/format.h>
#include <memory>
#include <mutex>
#include <sqlite3.h>
#include <thread>

#include "documents.hpp"
#include "group_commit.hpp"
#include "shared_counter.hpp"
#include "whisk/log.hpp"
#include "whisk/store/store.hpp"

namespace whisk {

namespace {

// One prepared statement, reset on scope exit.
class statement {
public:
  statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      stmt_ = nullptr;
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  explicit operator bool() const { return stmt_ != nullptr; }
  statement& bind(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::int64_t integer(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string{};
  }
  const char* error() const { return sqlite3_errmsg(db_); }

private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

bool exec(sqlite3* db, const char* sql, bool log_failure = true) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    if (log_failure)
      log_error("store: {}: {}", sql, err ? err : "?");
    sqlite3_free(err);
    return false;
  }
  return true;
}

sqlite3* open_db(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=NORMAL");
  return db;
}

// Owner-only from the start: SQLite gives the -wal and -shm files it creates later the
// mode of the database file; files a past run left behind are narrowed too.
expected<bool> make_files_private(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    auto why = std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    return make_error(errc::internal, fmt::format("store: cannot make {} owner-only: {}", path, why));
  }
  ::close(fd);
  for (auto* suffix : {"-wal", "-shm", "-journal"})
    if (::chmod((path + suffix).c_str(), 0600) != 0 && errno != ENOENT)
      return make_error(errc::internal, fmt::format("store: cannot make {}{} owner-only: {}", path, suffix, std::strerror(errno)));
  return true;
}

// Stores made before controllers shared them have no owner column: add it (rows get '').
bool add_owner_column(sqlite3* db) {
  statement st{db, "SELECT 1 FROM pragma_table_info('accepted') WHERE name = 'owner'"};
  if (st && st.step() == SQLITE_ROW)
    return true;
  return exec(db, "ALTER TABLE accepted ADD COLUMN owner TEXT NOT NULL DEFAULT ''");
}

bool has_plain_keys(sqlite3* db) {
  statement st{db, "SELECT 1 FROM pragma_table_info('namespaces') WHERE name = 'key'"};
  return st && st.step() == SQLITE_ROW;
}

// Stores written before keys were hashed: each key becomes its hash, in one transaction,
// and the pages that held the keys are zeroed (secure_delete), compacted away (VACUUM)
// and the log emptied, so no key bytes remain in any file.
expected<bool> hash_plain_keys(sqlite3* db, const key_hasher& keys) {
  std::vector<namespace_record> rows;
  {
    statement st{db, "SELECT name, uuid, key FROM namespaces"};
    while (st && st.step() == SQLITE_ROW)
      rows.push_back({st.text(0), st.text(1), keys.hash(st.text(2))});
  }
  bool ok = exec(db, "PRAGMA secure_delete=ON") && exec(db, "BEGIN IMMEDIATE") &&
            exec(db, "CREATE TABLE namespaces_hashed(name TEXT PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, key_hash TEXT NOT NULL)");
  if (ok) {
    statement st{db, "INSERT INTO namespaces_hashed(name, uuid, key_hash) VALUES(?1, ?2, ?3)"};
    for (auto& r : rows) {
      st.bind(1, r.name).bind(2, r.uuid).bind(3, r.key_hash);
      ok = ok && st.step() == SQLITE_DONE;
      st.reset();
    }
  }
  ok = ok && exec(db, "DROP TABLE namespaces") && exec(db, "ALTER TABLE namespaces_hashed RENAME TO namespaces") &&
       exec(db, "COMMIT");
  if (!ok) {
    exec(db, "ROLLBACK");
    return make_error(errc::internal, "store: cannot replace the stored keys with their hashes");
  }
  if (!exec(db, "VACUUM") || !exec(db, "PRAGMA wal_checkpoint(TRUNCATE)"))
    return make_error(errc::internal, "store: keys are hashed but the old pages could not be compacted away");
  log_info("store: replaced {} stored key(s) with their hashes", rows.size());
  return true;
}

class sqlite_store final : public store {
public:
  sqlite_store(sqlite3* reader, sqlite3* writer, shared_counter credentials, shared_counter entities)
      : db_(reader), writer_db_(writer), credentials_(std::move(credentials)), entities_(std::move(entities)),
        writes_([this](const std::deque<pending_write>& batch) { return write_batch(batch); }) {}

  ~sqlite_store() override {
    writes_.reset(); // the last commits, then the writer thread ends
    writer_statements_.reset();
    sqlite3_close(db_);
    sqlite3_close(writer_db_);
  }

  expected<bool> put_namespace(const namespace_record& ns) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "INSERT OR REPLACE INTO namespaces(name, uuid, key_hash) VALUES(?1, ?2, ?3)"};
    st.bind(1, ns.name).bind(2, ns.uuid).bind(3, ns.key_hash);
    if (st.step() != SQLITE_DONE)
      return make_error(errc::unavailable, fmt::format("The store cannot write the namespace: {}", st.error()));
    credentials_.bump();
    return true;
  }

  std::optional<namespace_record> namespace_by_uuid(const std::string& uuid) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "SELECT name, uuid, key_hash FROM namespaces WHERE uuid = ?1"};
    st.bind(1, uuid);
    if (st.step() != SQLITE_ROW)
      return std::nullopt;
    return namespace_record{st.text(0), st.text(1), st.text(2)};
  }

  std::vector<namespace_record> namespaces() override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "SELECT name, uuid, key_hash FROM namespaces ORDER BY name"};
    std::vector<namespace_record> out;
    while (st.step() == SQLITE_ROW)
      out.push_back({st.text(0), st.text(1), st.text(2)});
    return out;
  }

  expected<bool> add_namespace(const namespace_record& ns) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "INSERT INTO namespaces(name, uuid, key_hash) VALUES(?1, ?2, ?3)"};
    st.bind(1, ns.name).bind(2, ns.uuid).bind(3, ns.key_hash);
    int rc = st.step();
    if (rc == SQLITE_CONSTRAINT)
      return make_error(errc::conflict, fmt::format("the namespace '{}' (or its uuid) already exists", ns.name));
    if (rc != SQLITE_DONE)
      return make_error(errc::internal, fmt::format("store: cannot write namespace: {}", st.error()));
    credentials_.bump();
    return true;
  }

  std::optional<namespace_record> namespace_by_name(const std::string& name) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "SELECT name, uuid, key_hash FROM namespaces WHERE name = ?1"};
    st.bind(1, name);
    if (st.step() != SQLITE_ROW)
      return std::nullopt;
    return namespace_record{st.text(0), st.text(1), st.text(2)};
  }

  expected<bool> replace_key_hash(const std::string& name, const std::string& key_hash) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "UPDATE namespaces SET key_hash = ?2 WHERE name = ?1"};
    st.bind(1, name).bind(2, key_hash);
    if (st.step() != SQLITE_DONE)
      return make_error(errc::internal, fmt::format("store: cannot write namespace: {}", st.error()));
    if (sqlite3_changes(db_) == 0)
      return make_error(errc::not_found, fmt::format("the namespace '{}' does not exist", name));
    credentials_.bump();
    return true;
  }

  bool delete_namespace(const std::string& name) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "DELETE FROM namespaces WHERE name = ?1"};
    st.bind(1, name);
    bool deleted = st.step() == SQLITE_DONE && sqlite3_changes(db_) > 0;
    if (deleted)
      credentials_.bump();
    return deleted;
  }

  // Bumped after each committed namespace write, by this process or another one.
  std::int64_t credentials_version() override { return credentials_.load(); }
  std::int64_t entities_version() override { return entities_.load(); }

  expected<bool> put_action(const action& a) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "INSERT OR REPLACE INTO actions(ns, name, updated, doc) VALUES(?1, ?2, ?3, ?4)"};
    st.bind(1, a.ns).bind(2, a.name).bind(3, a.updated_ms).bind(4, json::dump(to_json(a)));
    if (st.step() != SQLITE_DONE)
      return make_error(errc::unavailable, fmt::format("The store cannot write the action: {}", st.error()));
    entities_.bump();
    return true;
  }

  std::optional<action> get_action(const std::string& ns, const std::string& name) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "SELECT doc FROM actions WHERE ns = ?1 AND name = ?2"};
    st.bind(1, ns).bind(2, name);
    if (st.step() != SQLITE_ROW)
      return std::nullopt;
    return action_from_doc(st.text(0));
  }

  std::vector<action> list_actions(const std::string& ns, std::int64_t limit, std::int64_t skip) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "SELECT doc FROM actions WHERE ns = ?1 ORDER BY updated DESC LIMIT ?2 OFFSET ?3"};
    st.bind(1, ns).bind(2, limit).bind(3, skip);
    std::vector<action> out;
    while (st.step() == SQLITE_ROW)
      if (auto a = action_from_doc(st.text(0)))
        out.push_back(std::move(*a));
    return out;
  }

  expected<bool> delete_action(const std::string& ns, const std::string& name) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "DELETE FROM actions WHERE ns = ?1 AND name = ?2"};
    st.bind(1, ns).bind(2, name);
    if (st.step() != SQLITE_DONE)
      return make_error(errc::unavailable, fmt::format("The store cannot delete the action: {}", st.error()));
    bool deleted = sqlite3_changes(db_) > 0;
    if (deleted)
      entities_.bump();
    return deleted;
  }

  expected<bool> put_entity(const std::string& collection, const std::string& ns, const std::string& name,
                            std::int64_t updated_ms, const json::value& doc) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "INSERT OR REPLACE INTO entities(collection, ns, name, updated, doc) VALUES(?1, ?2, ?3, ?4, ?5)"};
    st.bind(1, collection).bind(2, ns).bind(3, name).bind(4, updated_ms).bind(5, json::dump(doc));
    if (st.step() != SQLITE_DONE)
      return make_error(errc::unavailable, fmt::format("The store cannot write the entity: {}", st.error()));
    entities_.bump();
    return true;
  }

  std::optional<json::value> get_entity(const std::string& collection, const std::string& ns, const std::string& name) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "SELECT doc FROM entities WHERE collection = ?1 AND ns = ?2 AND name = ?3"};
    st.bind(1, collection).bind(2, ns).bind(3, name);
    if (st.step() != SQLITE_ROW)
      return std::nullopt;
    auto doc = json::parse(st.text(0));
    return doc ? std::optional<json::value>(std::move(*doc)) : std::nullopt;
  }

  std::vector<json::value> list_entities(const std::string& collection, const std::string& ns, std::int64_t limit,
                                         std::int64_t skip) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "SELECT doc FROM entities WHERE collection = ?1 AND ns = ?2 ORDER BY updated DESC, name LIMIT ?3 OFFSET ?4"};
    st.bind(1, collection).bind(2, ns).bind(3, limit).bind(4, skip);
    std::vector<json::value> out;
    while (st.step() == SQLITE_ROW)
      if (auto doc = json::parse(st.text(0)))
        out.push_back(std::move(*doc));
    return out;
  }

  expected<bool> delete_entity(const std::string& collection, const std::string& ns, const std::string& name) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "DELETE FROM entities WHERE collection = ?1 AND ns = ?2 AND name = ?3"};
    st.bind(1, collection).bind(2, ns).bind(3, name);
    if (st.step() != SQLITE_DONE)
      return make_error(errc::unavailable, fmt::format("The store cannot delete the entity: {}", st.error()));
    bool deleted = sqlite3_changes(db_) > 0;
    if (deleted)
      entities_.bump();
    return deleted;
  }

  void add_activation(activation a, on_committed done) override { writes_->enqueue({std::move(a), false, std::move(done)}); }

  void add_accepted(activation stand_in, on_committed done) override {
    writes_->enqueue({std::move(stand_in), true, std::move(done)});
  }

  expected<std::int64_t> recover_accepted(const std::string& owner) override {
    std::lock_guard guard{db_mx_};
    owner_ = owner; // read by the writer thread only after an enqueue (the queue's lock orders them)
    if (!exec(db_, "BEGIN IMMEDIATE"))
      return make_error(errc::internal, fmt::format("store: cannot recover accepted activations: {}", sqlite3_errmsg(db_)));
    statement copy{db_, "INSERT OR IGNORE INTO activations(id, ns, name, start, doc) SELECT id, ns, name, start, doc "
                        "FROM accepted WHERE owner = ?1"};
    copy.bind(1, owner);
    bool ok = copy.step() == SQLITE_DONE;
    auto recovered = static_cast<std::int64_t>(sqlite3_changes(db_));
    statement clear{db_, "DELETE FROM accepted WHERE owner = ?1"};
    clear.bind(1, owner);
    if (ok && clear.step() == SQLITE_DONE && exec(db_, "COMMIT"))
      return recovered;
    exec(db_, "ROLLBACK");
    return make_error(errc::internal, fmt::format("store: cannot recover accepted activations: {}", sqlite3_errmsg(db_)));
  }

  std::optional<activation> get_activation(const std::string& ns, const std::string& id) override {
    std::lock_guard guard{db_mx_};
    statement st{db_, "SELECT doc FROM activations WHERE id = ?1 AND ns = ?2"};
    st.bind(1, id).bind(2, ns);
    if (st.step() != SQLITE_ROW)
      return std::nullopt;
    return activation_from_doc(st.text(0));
  }

  std::vector<activation> list_activations(const activation_query& q) override {
    std::lock_guard guard{db_mx_};
    statement st{db_,
                 "SELECT doc FROM activations WHERE ns = ?1 AND (?2 = '' OR name = ?2) "
                 "AND (?3 = 0 OR start >= ?3) AND (?4 = 0 OR start <= ?4) "
                 "ORDER BY start DESC, rowid DESC LIMIT ?5 OFFSET ?6"};
    st.bind(1, q.ns).bind(2, q.name).bind(3, q.since).bind(4, q.upto).bind(5, q.limit).bind(6, q.skip);
    std::vector<activation> out;
    while (st.step() == SQLITE_ROW)
      if (auto a = activation_from_doc(st.text(0)))
        out.push_back(std::move(*a));
    return out;
  }

  std::int64_t count_activations(const activation_query& q) override {
    std::lock_guard guard{db_mx_};
    statement st{db_,
                 "SELECT count(*) FROM activations WHERE ns = ?1 AND (?2 = '' OR name = ?2) "
                 "AND (?3 = 0 OR start >= ?3) AND (?4 = 0 OR start <= ?4)"};
    st.bind(1, q.ns).bind(2, q.name).bind(3, q.since).bind(4, q.upto);
    return st.step() == SQLITE_ROW ? st.integer(0) : 0;
  }

  bool flush(std::chrono::milliseconds limit) override { return writes_->flush(limit); }
  std::int64_t pending_writes() const override { return writes_->pending(); } // every invoke asks
  std::string write_failure() const override { return writes_->failure(); }
  store_write_stats write_stats() const override { return writes_->stats(); }

private:
  // One transaction for the batch; empty on success, else what failed.
  std::string write_batch(const std::deque<pending_write>& batch) {
    // prepared once, on the writer's thread (preparing them per commit cost more than the
    // inserts of a small batch); a failure to prepare is tried again at the next batch
    if (!writer_statements_)
      writer_statements_ = std::make_unique<writer_statements>(writer_db_);
    auto& w = *writer_statements_;
    if (!w.begin || !w.commit || !w.record || !w.stand_in || !w.settled) {
      std::string why = sqlite3_errmsg(writer_db_);
      writer_statements_.reset();
      return why.empty() ? "cannot prepare the activation writes" : why;
    }
    auto once = [](statement& st) {
      bool done = st.step() == SQLITE_DONE;
      st.reset();
      return done;
    };
    if (!once(w.begin))
      return sqlite3_errmsg(writer_db_);
    bool ok = true;
    for (auto& item : batch) {
      auto& a = item.a;
      auto& st = item.accepted ? w.stand_in : w.record;
      st.bind(1, a.activation_id).bind(2, a.ns).bind(3, listed_name(a)).bind(4, a.start_ms).bind(5, json::dump(to_json(a)));
      if (item.accepted)
        st.bind(6, owner_);
      ok = once(st);
      if (ok && !item.accepted) {
        w.settled.bind(1, a.activation_id);
        ok = once(w.settled);
      }
      if (!ok)
        break;
    }
    if (ok && once(w.commit))
      return {};
    std::string why = sqlite3_errmsg(writer_db_);
    exec(writer_db_, "ROLLBACK", false);
    return why.empty() ? "unknown error" : why;
  }

  struct writer_statements {
    explicit writer_statements(sqlite3* db)
        : begin{db, "BEGIN IMMEDIATE"}, commit{db, "COMMIT"}, record{db, "INSERT OR REPLACE INTO activations(id, ns, name, start, doc) VALUES(?1, ?2, ?3, ?4, ?5)"},
          stand_in{db, "INSERT OR REPLACE INTO accepted(id, ns, name, start, doc, owner) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
          settled{db, "DELETE FROM accepted WHERE id = ?1"} {}
    statement begin, commit, record, stand_in, settled;
  };

  sqlite3* db_;
  sqlite3* writer_db_;
  std::unique_ptr<writer_statements> writer_statements_; // the writer thread's only
  std::mutex db_mx_;
  std::string owner_; // of the stand-ins this store writes (see recover_accepted)
  shared_counter credentials_; // credentials_version()
  shared_counter entities_;    // entities_version()
  std::optional<group_commit> writes_; // last: its thread uses what is above
};

} // namespace

expected<std::unique_ptr<store>> open_sqlite_store(const std::string& path, const key_hasher* plain_keys) {
  if (auto ok = make_files_private(path); !ok)
    return ok.err();
  sqlite3* reader = open_db(path);
  if (!reader)
    return make_error(errc::internal, fmt::format("store: cannot open {}", path));
  static constexpr const char* schema =
      "CREATE TABLE IF NOT EXISTS namespaces(name TEXT PRIMARY KEY, uuid TEXT UNIQUE NOT NULL, key_hash TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS actions(ns TEXT NOT NULL, name TEXT NOT NULL, updated INTEGER NOT NULL,"
      "  doc TEXT NOT NULL, PRIMARY KEY(ns, name));"
      "CREATE TABLE IF NOT EXISTS entities(collection TEXT NOT NULL, ns TEXT NOT NULL, name TEXT NOT NULL,"
      "  updated INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY(collection, ns, name));"
      "CREATE TABLE IF NOT EXISTS activations(id TEXT PRIMARY KEY, ns TEXT NOT NULL, name TEXT NOT NULL,"
      "  start INTEGER NOT NULL, doc TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS activations_by_ns ON activations(ns, start);"
      // activations answered 202 and not yet ended, each with the record it gets if the node stops first
      // (owner: the controller that accepted it; several may share the store)
      "CREATE TABLE IF NOT EXISTS accepted(id TEXT PRIMARY KEY, ns TEXT NOT NULL, name TEXT NOT NULL,"
      "  start INTEGER NOT NULL, doc TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '');";
  if (!exec(reader, schema) || !add_owner_column(reader)) {
    sqlite3_close(reader);
    return make_error(errc::internal, fmt::format("store: cannot create the schema in {}", path));
  }
  if (has_plain_keys(reader)) {
    expected<bool> migrated = make_error(errc::internal, fmt::format("store: {} holds plain keys; open it with the node secret to hash them", path));
    if (plain_keys)
      migrated = hash_plain_keys(reader, *plain_keys);
    if (!migrated) {
      sqlite3_close(reader);
      return migrated.err();
    }
  }
  sqlite3* writer = open_db(path);
  if (!writer) {
    sqlite3_close(reader);
    return make_error(errc::internal, fmt::format("store: cannot open {} for writing", path));
  }
  auto credentials = shared_counter::open(path + "-credentials");
  if (!credentials) {
    sqlite3_close(reader);
    sqlite3_close(writer);
    return credentials.err();
  }
  auto entities = shared_counter::open(path + "-entities");
  if (!entities) {
    sqlite3_close(reader);
    sqlite3_close(writer);
    return entities.err();
  }
  return std::unique_ptr<store>(new sqlite_store(reader, writer, std::move(*credentials), std::move(*entities)));
}

} // namespace whisk
