#pragma once
// The store backends the contract tests run against (tests/test_store.cpp): each is a fresh
// database and a way to open stores on it. open() after the last store is destroyed is a
// reopen; open() while one lives is another process's connection (whisk-admin, a second
// controller).
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>

#include "pg_server.hpp"
#include "whisk/store/store.hpp"

namespace whisk::test {

struct temp_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("whisk-store-test-" + std::to_string(::getpid()) + "-" + random_hex(8));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
};

struct store_backend {
  virtual ~store_backend() = default;
  virtual expected<std::unique_ptr<store>> open() = 0;
};

// One file in a temp dir.
struct sqlite_backend final : store_backend {
  temp_dir dir;
  std::string file = (dir.path / "whisk.db").string();
  expected<std::unique_ptr<store>> open() override { return open_sqlite_store(file); }
};

// A new database on this process's server (see pg_server.hpp).
struct postgres_backend final : store_backend {
  pg_server::database db = pg_server::instance().new_database();
  expected<std::unique_ptr<store>> open() override { return open_postgres_store(db.uri); }
};

// True once `done()` is (polled every 10 ms), false if `limit` passes first. A version
// that another store's write moves moves at once in SQLite (a shared counter) and once the
// notification arrives in PostgreSQL: the tests poll either way.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

inline activation make_activation(const std::string& name, std::int64_t start) {
  activation a;
  a.ns = "guest";
  a.name = name;
  a.activation_id = new_activation_id();
  a.start_ms = start;
  a.end_ms = start + 1;
  a.logs = {"log of " + name};
  return a;
}

inline action make_action(const std::string& name, const std::string& code = "def main(a): return a") {
  action a;
  a.ns = "guest";
  a.name = name;
  a.exec.kind = "python:3";
  a.exec.code = code;
  return a;
}

} // namespace whisk::test

// Runs a contract (a function of a store_backend&) once per backend, as two test cases.
#define WHISK_STORE_CONTRACT(description, contract)                                                                   \
  TEST_CASE("store: " description " (sqlite)") {                                                                      \
    whisk::test::sqlite_backend backend;                                                                              \
    contract(backend);                                                                                                \
  }                                                                                                                   \
  TEST_CASE("store: " description " (postgresql)") {                                                                  \
    whisk::test::postgres_backend backend;                                                                            \
    contract(backend);                                                                                                \
  }
