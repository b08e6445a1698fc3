// The PostgreSQL store: the same contract as SQLite's (see store.hpp), for controllers on
// several machines sharing one database. Three connections, each owned by one thread at a
// time: reads and entity writes (callers, under a lock), activation writes (the group-commit
// thread: multi-row INSERTs, one transaction per batch) and change notifications (a listener
// thread: LISTEN whisk_changes, so caches of other controllers drop stale entities and keys).
// A connection that breaks is reset with backoff; each change of its state is logged once.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "documents.hpp"
#include "group_commit.hpp"
#include "whisk/log.hpp"
#include "whisk/store/store.hpp"

namespace whisk {

namespace {

constexpr int schema_version = 2; // what this binary reads and writes
constexpr const char* channel = "whisk_changes";

// libpq's messages on one line: "...failed: No such file or directory Is the server running..."
std::string one_line(const char* text) {
  std::string out;
  for (const char* p = text ? text : ""; *p; ++p) {
    char ch = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : *p;
    if (ch == ' ' && (out.empty() || out.back() == ' '))
      continue;
    out.push_back(ch);
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

// A result, cleared on scope exit.
class result {
public:
  explicit result(PGresult* r) : r_(r) {}
  ~result() { PQclear(r_); }
  result(result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  result(const result&) = delete;
  result& operator=(const result&) = delete;
  bool ok() const {
    auto s = PQresultStatus(r_);
    return r_ && (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK);
  }
  int rows() const { return r_ ? PQntuples(r_) : 0; }
  std::string text(int row, int col) const { return PQgetvalue(r_, row, col); }
  std::int64_t affected() const { return r_ ? std::atoll(PQcmdTuples(r_)) : 0; }
  std::string sqlstate() const {
    auto* s = r_ ? PQresultErrorField(r_, PG_DIAG_SQLSTATE) : nullptr;
    return s ? s : "";
  }
  std::string error() const { return r_ ? one_line(PQresultErrorMessage(r_)) : "no result (out of memory?)"; }

private:
  PGresult* r_;
};

// One connection, reset with backoff when it breaks. Not thread-safe: one owner at a time.
class connection {
public:
  connection(std::string uri, std::string role) : uri_(std::move(uri)), role_(std::move(role)) {}
  ~connection() { PQfinish(c_); }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Connected, or connects now unless the last attempt failed within the backoff.
  bool ready() {
    if (c_ && PQstatus(c_) == CONNECTION_OK)
      return true;
    auto now = std::chrono::steady_clock::now();
    if (now < next_try_)
      return false;
    if (c_) {
      PQreset(c_);
    } else {
      const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
      const char* values[] = {uri_.c_str(), "5", "whisk", nullptr};
      c_ = PQconnectdbParams(keys, values, 1);
    }
    bool ok = c_ && PQstatus(c_) == CONNECTION_OK;
    if (ok) {
      // the server's notices ("relation ... already exists, skipping") are not for stderr
      PQsetNoticeProcessor(c_, [](void*, const char* m) { log_debug("store: PostgreSQL says: {}", one_line(m)); }, nullptr);
      backoff_ = std::chrono::milliseconds(100);
      if (down_)
        log_info("store: PostgreSQL connection for {} is back", role_);
      down_ = false;
      return true;
    }
    problem_ = c_ ? one_line(PQerrorMessage(c_)) : "out of memory";
    if (!down_)
      log_error("store: PostgreSQL connection for {} failed: {}; retrying with backoff", role_, problem_);
    down_ = true;
    next_try_ = now + backoff_;
    backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(5000));
    return false;
  }

  // The query with text parameters; a broken connection is noticed here (and reset next time).
  result exec(const std::string& sql, const std::vector<std::string>& params = {}) {
    if (!ready()) {
      last_error_ = problem_;
      return result(nullptr);
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (auto& p : params)
      values.push_back(p.c_str());
    // (without parameters: the simple protocol, which also takes several statements at once)
    result r(values.empty() ? PQexec(c_, sql.c_str())
                            : PQexecParams(c_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                                           nullptr, 0));
    if (!r.ok() && PQstatus(c_) != CONNECTION_OK) {
      if (!down_)
        log_error("store: PostgreSQL connection for {} lost: {}", role_, r.error());
      down_ = true;
      problem_ = r.error();
    }
    last_error_ = r.ok() ? std::string() : r.error();
    return r;
  }

  // The connection broke outside a query (the listener's): logged once, reset next time.
  void lost() {
    problem_ = c_ ? one_line(PQerrorMessage(c_)) : "no connection";
    if (!down_)
      log_error("store: PostgreSQL connection for {} lost: {}", role_, problem_);
    down_ = true;
    if (c_) {
      PQfinish(c_);
      c_ = nullptr;
    }
  }

  // Empty if the last query succeeded.
  const std::string& last_error() const { return last_error_; }

  std::string problem(const result& r) const { return down_ && !problem_.empty() ? problem_ : r.error(); }
  PGconn* raw() { return c_; }
  bool down() const { return down_; }

private:
  std::string uri_;
  std::string role_;
  PGconn* c_ = nullptr;
  bool down_ = false;
  std::string problem_;
  std::string last_error_;
  std::chrono::steady_clock::time_point next_try_{};
  std::chrono::milliseconds backoff_{100};
};

const char* const schema_v1 =
    "CREATE TABLE namespaces(name text PRIMARY KEY, uuid text UNIQUE NOT NULL, key_hash text NOT NULL);"
    "CREATE TABLE actions(ns text NOT NULL, name text NOT NULL, updated bigint NOT NULL, doc text NOT NULL,"
    "  PRIMARY KEY(ns, name));"
    "CREATE TABLE activations(id text PRIMARY KEY, ns text NOT NULL, name text NOT NULL, start bigint NOT NULL,"
    "  seq bigserial, doc text NOT NULL);"
    "CREATE INDEX activations_by_ns ON activations(ns, start DESC, seq DESC);"
    "CREATE INDEX activations_by_name ON activations(ns, name, start DESC, seq DESC);"
    // activations answered 202 and not yet ended, each with the record it gets if its
    // controller stops first (owner: the controller that accepted it)
    "CREATE TABLE accepted(id text PRIMARY KEY, ns text NOT NULL, name text NOT NULL, start bigint NOT NULL,"
    "  doc text NOT NULL, owner text NOT NULL DEFAULT '');"
    "CREATE INDEX accepted_by_owner ON accepted(owner);";

// version 2: packages, triggers, rules and namespace limits
const char* const schema_v2 =
    "CREATE TABLE entities(collection text NOT NULL, ns text NOT NULL, name text NOT NULL, updated bigint NOT NULL,"
    "  doc text NOT NULL, PRIMARY KEY(collection, ns, name));";

// Creates the schema, or checks the one there; several controllers may start at once.
expected<bool> prepare_schema(connection& c) {
  auto fail = [&](const result& r, const char* what) {
    c.exec("ROLLBACK");
    return make_error(errc::internal, fmt::format("store: cannot {} in PostgreSQL: {}", what, c.problem(r)));
  };
  if (auto r = c.exec("BEGIN"); !r.ok())
    return fail(r, "begin");
  if (auto r = c.exec("SELECT pg_advisory_xact_lock(7461623)"); !r.ok()) // 'whisk' schema changes, one at a time
    return fail(r, "lock the schema");
  if (auto r = c.exec("CREATE TABLE IF NOT EXISTS whisk_schema(version integer NOT NULL)"); !r.ok())
    return fail(r, "create the schema version table");
  auto v = c.exec("SELECT max(version) FROM whisk_schema");
  if (!v.ok())
    return fail(v, "read the schema version");
  std::string have = v.rows() > 0 ? v.text(0, 0) : "";
  if (have.empty()) {
    if (auto r = c.exec(schema_v1); !r.ok())
      return fail(r, "create the schema");
    if (auto r = c.exec(schema_v2); !r.ok())
      return fail(r, "create the schema");
    if (auto r = c.exec("INSERT INTO whisk_schema(version) VALUES($1)", {std::to_string(schema_version)}); !r.ok())
      return fail(r, "record the schema version");
    log_info("store: created the whisk schema (version {}) in PostgreSQL", schema_version);
  } else if (std::atoi(have.c_str()) > schema_version) {
    c.exec("ROLLBACK");
    return make_error(errc::internal, fmt::format("store: the PostgreSQL database has whisk schema version {}, newer than "
                                                  "this binary's ({}): refusing to use it (upgrade whisk)",
                                                  have, schema_version));
  } else if (std::atoi(have.c_str()) < schema_version) { // older versions are migrated, step by step
    if (std::atoi(have.c_str()) < 2)
      if (auto r = c.exec(schema_v2); !r.ok())
        return fail(r, "migrate the schema to version 2");
    if (auto r = c.exec("INSERT INTO whisk_schema(version) VALUES($1)", {std::to_string(schema_version)}); !r.ok())
      return fail(r, "record the schema version");
    log_info("store: migrated the whisk schema from version {} to {} in PostgreSQL", have, schema_version);
  }
  if (auto r = c.exec("COMMIT"); !r.ok())
    return fail(r, "commit the schema");
  return true;
}

// "INSERT ... VALUES ($1,...,$k),($k+1,...)" for `rows` rows of `columns` parameters
std::string values_list(std::size_t rows, std::size_t columns) {
  std::string out;
  std::size_t n = 1;
  for (std::size_t r = 0; r < rows; ++r) {
    out += r ? ",(" : "(";
    for (std::size_t c = 0; c < columns; ++c)
      out += fmt::format("{}${}", c ? "," : "", n++);
    out += ")";
  }
  return out;
}

class pg_store final : public store {
public:
  explicit pg_store(const std::string& uri)
      : uri_(uri), db_(uri, "reads and entities"), writer_db_(uri, "activation records"),
        writes_([this](const std::deque<pending_write>& batch) { return write_batch(batch); }) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
      wake_[0] = wake_[1] = -1;
    listener_ = std::thread([this] { listen_loop(); });
  }

  ~pg_store() override {
    stopping_ = true;
    if (wake_[1] >= 0)
      (void)!::write(wake_[1], "x", 1);
    listener_.join();
    writes_.reset(); // the last commits, then the writer thread ends
    for (int fd : wake_)
      if (fd >= 0)
        ::close(fd);
  }

  expected<bool> prepare() {
    std::lock_guard guard{db_mx_};
    if (!db_.ready())
      return make_error(errc::internal, fmt::format("store: cannot connect to PostgreSQL at {}", redacted_uri(uri_)));
    return prepare_schema(db_);
  }

  expected<bool> put_namespace(const namespace_record& ns) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("WITH w AS (INSERT INTO namespaces(name, uuid, key_hash) VALUES($1, $2, $3) ON CONFLICT (name) DO "
                      "UPDATE SET uuid = EXCLUDED.uuid, key_hash = EXCLUDED.key_hash RETURNING 1) "
                      "SELECT pg_notify('whisk_changes', 'credentials') FROM w",
                      {ns.name, ns.uuid, ns.key_hash});
    if (!r.ok())
      return make_error(errc::unavailable, fmt::format("The store cannot write the namespace: {}", db_.problem(r)));
    credentials_.fetch_add(1);
    return true;
  }

  std::optional<namespace_record> namespace_by_uuid(const std::string& uuid) override {
    return one_namespace("SELECT name, uuid, key_hash FROM namespaces WHERE uuid = $1", uuid);
  }

  std::optional<namespace_record> namespace_by_name(const std::string& name) override {
    return one_namespace("SELECT name, uuid, key_hash FROM namespaces WHERE name = $1", name);
  }

  std::vector<namespace_record> namespaces() override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("SELECT name, uuid, key_hash FROM namespaces ORDER BY name");
    std::vector<namespace_record> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i)
      out.push_back({r.text(i, 0), r.text(i, 1), r.text(i, 2)});
    return out;
  }

  expected<bool> add_namespace(const namespace_record& ns) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("WITH w AS (INSERT INTO namespaces(name, uuid, key_hash) VALUES($1, $2, $3) RETURNING 1) "
                      "SELECT pg_notify('whisk_changes', 'credentials') FROM w",
                      {ns.name, ns.uuid, ns.key_hash});
    if (r.sqlstate() == "23505") // unique_violation
      return make_error(errc::conflict, fmt::format("the namespace '{}' (or its uuid) already exists", ns.name));
    if (!r.ok())
      return make_error(errc::internal, fmt::format("store: cannot write namespace: {}", db_.problem(r)));
    credentials_.fetch_add(1);
    return true;
  }

  expected<bool> replace_key_hash(const std::string& name, const std::string& key_hash) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("WITH w AS (UPDATE namespaces SET key_hash = $2 WHERE name = $1 RETURNING 1) "
                      "SELECT pg_notify('whisk_changes', 'credentials') FROM w",
                      {name, key_hash});
    if (!r.ok())
      return make_error(errc::internal, fmt::format("store: cannot write namespace: {}", db_.problem(r)));
    if (r.rows() == 0)
      return make_error(errc::not_found, fmt::format("the namespace '{}' does not exist", name));
    credentials_.fetch_add(1);
    return true;
  }

  bool delete_namespace(const std::string& name) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("WITH d AS (DELETE FROM namespaces WHERE name = $1 RETURNING 1) "
                      "SELECT pg_notify('whisk_changes', 'credentials') FROM d",
                      {name});
    bool deleted = r.ok() && r.rows() > 0;
    if (deleted)
      credentials_.fetch_add(1);
    return deleted;
  }

  std::int64_t credentials_version() override { return credentials_.load(std::memory_order_relaxed); }
  std::int64_t entities_version() override { return entities_.load(std::memory_order_relaxed); }

  expected<bool> put_action(const action& a) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("WITH w AS (INSERT INTO actions(ns, name, updated, doc) VALUES($1, $2, $3, $4) ON CONFLICT (ns, name) "
                      "DO UPDATE SET updated = EXCLUDED.updated, doc = EXCLUDED.doc RETURNING 1) "
                      "SELECT pg_notify('whisk_changes', 'entities') FROM w",
                      {a.ns, a.name, std::to_string(a.updated_ms), json::dump(to_json(a))});
    if (!r.ok())
      return make_error(errc::unavailable, fmt::format("The store cannot write the action: {}", db_.problem(r)));
    entities_.fetch_add(1);
    return true;
  }

  std::optional<action> get_action(const std::string& ns, const std::string& name) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("SELECT doc FROM actions WHERE ns = $1 AND name = $2", {ns, name});
    if (!r.ok() || r.rows() == 0)
      return std::nullopt;
    return action_from_doc(r.text(0, 0));
  }

  std::vector<action> list_actions(const std::string& ns, std::int64_t limit, std::int64_t skip) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("SELECT doc FROM actions WHERE ns = $1 ORDER BY updated DESC, name LIMIT $2::bigint OFFSET $3::bigint",
                      {ns, std::to_string(limit), std::to_string(skip)});
    std::vector<action> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i)
      if (auto a = action_from_doc(r.text(i, 0)))
        out.push_back(std::move(*a));
    return out;
  }

  expected<bool> delete_action(const std::string& ns, const std::string& name) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("WITH d AS (DELETE FROM actions WHERE ns = $1 AND name = $2 RETURNING 1) "
                      "SELECT pg_notify('whisk_changes', 'entities') FROM d",
                      {ns, name});
    if (!r.ok())
      return make_error(errc::unavailable, fmt::format("The store cannot delete the action: {}", db_.problem(r)));
    bool deleted = r.rows() > 0;
    if (deleted)
      entities_.fetch_add(1);
    return deleted;
  }

  expected<bool> put_entity(const std::string& collection, const std::string& ns, const std::string& name,
                            std::int64_t updated_ms, const json::value& doc) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("WITH w AS (INSERT INTO entities(collection, ns, name, updated, doc) VALUES($1, $2, $3, $4, $5) "
                      "ON CONFLICT (collection, ns, name) DO UPDATE SET updated = EXCLUDED.updated, doc = EXCLUDED.doc "
                      "RETURNING 1) SELECT pg_notify('whisk_changes', 'entities') FROM w",
                      {collection, ns, name, std::to_string(updated_ms), json::dump(doc)});
    if (!r.ok())
      return make_error(errc::unavailable, fmt::format("The store cannot write the entity: {}", db_.problem(r)));
    entities_.fetch_add(1);
    return true;
  }

  std::optional<json::value> get_entity(const std::string& collection, const std::string& ns, const std::string& name) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("SELECT doc FROM entities WHERE collection = $1 AND ns = $2 AND name = $3", {collection, ns, name});
    if (!r.ok() || r.rows() == 0)
      return std::nullopt;
    auto doc = json::parse(r.text(0, 0));
    return doc ? std::optional<json::value>(std::move(*doc)) : std::nullopt;
  }

  std::vector<json::value> list_entities(const std::string& collection, const std::string& ns, std::int64_t limit,
                                         std::int64_t skip) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("SELECT doc FROM entities WHERE collection = $1 AND ns = $2 ORDER BY updated DESC, name "
                      "LIMIT $3::bigint OFFSET $4::bigint",
                      {collection, ns, std::to_string(limit), std::to_string(skip)});
    std::vector<json::value> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i)
      if (auto doc = json::parse(r.text(i, 0)))
        out.push_back(std::move(*doc));
    return out;
  }

  expected<bool> delete_entity(const std::string& collection, const std::string& ns, const std::string& name) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("WITH d AS (DELETE FROM entities WHERE collection = $1 AND ns = $2 AND name = $3 RETURNING 1) "
                      "SELECT pg_notify('whisk_changes', 'entities') FROM d",
                      {collection, ns, name});
    if (!r.ok())
      return make_error(errc::unavailable, fmt::format("The store cannot delete the entity: {}", db_.problem(r)));
    bool deleted = r.rows() > 0;
    if (deleted)
      entities_.fetch_add(1);
    return deleted;
  }

  void add_activation(activation a, on_committed done) override { writes_->enqueue({std::move(a), false, std::move(done)}); }

  void add_accepted(activation stand_in, on_committed done) override {
    writes_->enqueue({std::move(stand_in), true, std::move(done)});
  }

  expected<std::int64_t> recover_accepted(const std::string& owner) override {
    {
      std::lock_guard guard{owner_mx_};
      owner_ = owner;
    }
    std::lock_guard guard{db_mx_};
    auto fail = [&](const result& r) {
      db_.exec("ROLLBACK");
      return make_error(errc::internal, fmt::format("store: cannot recover accepted activations: {}", db_.problem(r)));
    };
    if (auto r = db_.exec("BEGIN"); !r.ok())
      return fail(r);
    auto copy = db_.exec("INSERT INTO activations(id, ns, name, start, doc) SELECT id, ns, name, start, doc FROM accepted "
                         "WHERE owner = $1 ON CONFLICT (id) DO NOTHING",
                         {owner});
    if (!copy.ok())
      return fail(copy);
    if (auto r = db_.exec("DELETE FROM accepted WHERE owner = $1", {owner}); !r.ok())
      return fail(r);
    if (auto r = db_.exec("COMMIT"); !r.ok())
      return fail(r);
    return copy.affected();
  }

  std::optional<activation> get_activation(const std::string& ns, const std::string& id) override {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec("SELECT doc FROM activations WHERE id = $1 AND ns = $2", {id, ns});
    if (!r.ok() || r.rows() == 0)
      return std::nullopt;
    return activation_from_doc(r.text(0, 0));
  }

  std::vector<activation> list_activations(const activation_query& q) override {
    std::lock_guard guard{db_mx_};
    // two statements, so that each is served by its index (ns, start) or (ns, name, start)
    std::string sql = q.name.empty() ? "SELECT doc FROM activations WHERE ns = $1 AND $2 = ''"
                                     : "SELECT doc FROM activations WHERE ns = $1 AND name = $2";
    sql += " AND ($3::bigint = 0 OR start >= $3::bigint) AND ($4::bigint = 0 OR start <= $4::bigint)"
           " ORDER BY start DESC, seq DESC LIMIT $5::bigint OFFSET $6::bigint";
    auto r = db_.exec(sql, {q.ns, q.name, std::to_string(q.since), std::to_string(q.upto), std::to_string(q.limit),
                            std::to_string(q.skip)});
    std::vector<activation> out;
    for (int i = 0; r.ok() && i < r.rows(); ++i)
      if (auto a = activation_from_doc(r.text(i, 0)))
        out.push_back(std::move(*a));
    return out;
  }

  std::int64_t count_activations(const activation_query& q) override {
    std::lock_guard guard{db_mx_};
    std::string sql = q.name.empty() ? "SELECT count(*) FROM activations WHERE ns = $1 AND $2 = ''"
                                     : "SELECT count(*) FROM activations WHERE ns = $1 AND name = $2";
    sql += " AND ($3::bigint = 0 OR start >= $3::bigint) AND ($4::bigint = 0 OR start <= $4::bigint)";
    auto r = db_.exec(sql, {q.ns, q.name, std::to_string(q.since), std::to_string(q.upto)});
    return r.ok() && r.rows() > 0 ? std::atoll(r.text(0, 0).c_str()) : 0;
  }

  bool flush(std::chrono::milliseconds limit) override { return writes_->flush(limit); }
  std::int64_t pending_writes() const override { return writes_->pending(); }
  std::string write_failure() const override { return writes_->failure(); }
  store_write_stats write_stats() const override { return writes_->stats(); }

  std::string read_failure() const override {
    std::lock_guard guard{db_mx_};
    return db_.last_error();
  }

private:
  std::optional<namespace_record> one_namespace(const char* sql, const std::string& key) {
    std::lock_guard guard{db_mx_};
    auto r = db_.exec(sql, {key});
    if (!r.ok() || r.rows() == 0)
      return std::nullopt;
    return namespace_record{r.text(0, 0), r.text(0, 1), r.text(0, 2)};
  }

  // One transaction for the batch (multi-row statements, at most 1000 rows each); empty on
  // success, else what failed.
  std::string write_batch(const std::deque<pending_write>& batch) {
    std::string owner;
    {
      std::lock_guard guard{owner_mx_};
      owner = owner_;
    }
    // the last write of an id wins, as INSERT OR REPLACE would have it one by one
    std::map<std::string, const pending_write*> records, stand_ins;
    for (auto& w : batch)
      (w.accepted ? stand_ins : records)[w.a.activation_id] = &w;
    auto fail = [&](const result& r) {
      auto why = writer_db_.problem(r);
      if (!writer_db_.down())
        writer_db_.exec("ROLLBACK");
      return why.empty() ? std::string("unknown error") : why;
    };
    if (auto r = writer_db_.exec("BEGIN"); !r.ok())
      return fail(r);
    auto insert = [&](const std::map<std::string, const pending_write*>& rows, bool accepted) -> std::optional<result> {
      std::size_t columns = accepted ? 6 : 5;
      auto it = rows.begin();
      while (it != rows.end()) {
        std::vector<std::string> params;
        std::size_t n = 0;
        for (; it != rows.end() && n < 1000; ++it, ++n) {
          auto& a = it->second->a;
          params.insert(params.end(), {a.activation_id, a.ns, listed_name(a), std::to_string(a.start_ms), json::dump(to_json(a))});
          if (accepted)
            params.push_back(owner);
        }
        auto sql = accepted ? "INSERT INTO accepted(id, ns, name, start, doc, owner) VALUES " + values_list(n, columns) +
                                  " ON CONFLICT (id) DO UPDATE SET ns = EXCLUDED.ns, name = EXCLUDED.name, start = "
                                  "EXCLUDED.start, doc = EXCLUDED.doc, owner = EXCLUDED.owner"
                            : "INSERT INTO activations(id, ns, name, start, doc) VALUES " + values_list(n, columns) +
                                  " ON CONFLICT (id) DO UPDATE SET ns = EXCLUDED.ns, name = EXCLUDED.name, start = "
                                  "EXCLUDED.start, doc = EXCLUDED.doc";
        auto r = writer_db_.exec(sql, params);
        if (!r.ok())
          return r;
      }
      return std::nullopt;
    };
    if (auto failed = insert(stand_ins, true))
      return fail(*failed);
    if (auto failed = insert(records, false))
      return fail(*failed);
    // a record settles its stand-in
    auto it = records.begin();
    while (it != records.end()) {
      std::vector<std::string> ids;
      std::string sql = "DELETE FROM accepted WHERE id IN (";
      for (; it != records.end() && ids.size() < 1000; ++it) {
        ids.push_back(it->first);
        sql += fmt::format("{}${}", ids.size() > 1 ? "," : "", ids.size());
      }
      sql += ")";
      if (auto r = writer_db_.exec(sql, ids); !r.ok())
        return fail(r);
    }
    if (auto r = writer_db_.exec("COMMIT"); !r.ok())
      return fail(r);
    return {};
  }

  // Notifications from every controller on the database: a change of keys or entities
  // moves the matching version, so caches are dropped. After an outage both move (what
  // was missed meanwhile is unknown).
  void listen_loop() {
    connection c(uri_, "change notifications");
    bool listening = false;
    while (!stopping_) {
      if (!listening) {
        if (c.ready() && c.exec(fmt::format("LISTEN {}", channel)).ok()) {
          listening = true;
          credentials_.fetch_add(1);
          entities_.fetch_add(1);
        } else {
          wait_for(-1, 200);
          continue;
        }
      }
      int fd = PQsocket(c.raw());
      if (!wait_for(fd, 1000))
        continue;
      if (!PQconsumeInput(c.raw())) {
        c.lost(); // caches are dropped when it is back (what changed meanwhile is unknown)
        listening = false;
        continue;
      }
      while (PGnotify* n = PQnotifies(c.raw())) {
        std::string_view what = n->extra ? n->extra : "";
        if (what == "credentials")
          credentials_.fetch_add(1);
        else
          entities_.fetch_add(1);
        PQfreemem(n);
      }
    }
  }

  // Waits until `fd` is readable (true), or the time passes or the store stops (false).
  bool wait_for(int fd, int ms) {
    pollfd fds[2] = {{wake_[0], POLLIN, 0}, {fd, POLLIN, 0}};
    int n = ::poll(fds, fd >= 0 ? 2 : 1, ms);
    return n > 0 && fd >= 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
  }

  std::string uri_;
  mutable std::mutex db_mx_;
  connection db_;         // reads and entity writes (under db_mx_)
  connection writer_db_;  // the group-commit thread's
  std::mutex owner_mx_;
  std::string owner_;     // of the stand-ins this store writes (see recover_accepted)
  std::atomic<std::int64_t> credentials_{0};
  std::atomic<std::int64_t> entities_{0};
  std::atomic<bool> stopping_{false};
  int wake_[2] = {-1, -1};
  std::thread listener_;
  std::optional<group_commit> writes_; // last: its thread uses what is above
};

} // namespace

bool is_postgres_uri(std::string_view spec) {
  return spec.rfind("postgresql://", 0) == 0 || spec.rfind("postgres://", 0) == 0;
}

std::string redacted_uri(std::string_view uri) {
  std::string out(uri);
  // postgresql://user:secret@host -> postgresql://user:***@host
  auto scheme = out.find("://");
  if (scheme != std::string::npos) {
    auto at = out.find('@', scheme + 3);
    auto slash = out.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      auto colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at)
        out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ...?password=secret&... -> password=***
  for (auto p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    auto end = out.find('&', p);
    out.replace(p + 9, (end == std::string::npos ? out.size() : end) - p - 9, "***");
  }
  return out;
}

expected<std::unique_ptr<store>> open_postgres_store(const std::string& uri) {
  auto s = std::make_unique<pg_store>(uri);
  if (auto ok = s->prepare(); !ok)
    return ok.err();
  log_info("store: PostgreSQL at {}", redacted_uri(uri));
  return std::unique_ptr<store>(std::move(s));
}

} // namespace whisk
