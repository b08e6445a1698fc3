#pragma once
// A PostgreSQL server for the store tests of this process, run through tests/pg_lib.sh: a
// throwaway cluster on a Unix socket in its own temp dir (no TCP port), started at first use
// and stopped when the process exits. ctest runs every test case in a process of its own,
// so each case gets a fresh cluster (about a second to start); pg_lib's watchdog stops it
// should this process die first. Without PostgreSQL installed the process exits 77, which
// ctest reports as skipped.
#include <string>
#include <vector>

namespace whisk::test {

class pg_server {
public:
  static pg_server& instance(); // started at the first call
  ~pg_server();                 // stopped, its dir removed
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  // A new, empty database: its name, for sql(), and its connection URI.
  struct database {
    std::string name;
    std::string uri;
  };
  database new_database();
  // Runs `statements` in database `db` (psql); the rows printed unaligned. Throws on an error.
  std::string sql(const std::string& db, const std::string& statements);
  void down(); // fast shutdown; the data stays
  void up();   // the same cluster started again

private:
  pg_server();
  // `script` in bash after sourcing pg_lib.sh with this cluster's PG_DIR; args are $1...
  int run(const std::string& script, std::string* out, const std::vector<std::string>& args = {});

  std::string dir_;
  int databases_ = 0;
};

} // namespace whisk::test
