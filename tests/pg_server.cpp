#include "pg_server.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace whisk::test {

namespace {

// bash -c SCRIPT with ARGS as $1...; stdout captured, stderr the test's own. posix_spawn
// rather than fork: store threads may run (and hold locks) in this process.
int run_bash(const std::string& script, const std::vector<std::string>& args, std::string* out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("pg_server: pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  std::vector<std::string> argv_s{"bash", "-c", script, "pg_server"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "bash", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::runtime_error("pg_server: cannot run bash");
  }
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  if (out)
    *out = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string prologue(const std::string& dir) {
  // (the dir is mktemp's: no quote in it)
  return std::string("set -u; source '") + WHISK_PG_LIB + "' || exit 1; PG_DIR='" + dir + "'; ";
}

std::string fmt_db_name(int n) {
  std::string name = "t"; // (not "t" + to_string(n): GCC 12 warns falsely of an overlapping copy)
  name += std::to_string(n);
  return name;
}

} // namespace

pg_server& pg_server::instance() {
  static pg_server server;
  return server;
}

pg_server::pg_server() {
  std::string out;
  int rc = run_bash(prologue("") + "PG_OWNER=" + std::to_string(::getpid()) + "; pg_start >&2 && echo \"$PG_DIR\"", {}, &out);
  if (rc == 77) {
    std::printf("%s\n", out.c_str());
    std::fflush(stdout);
    std::_Exit(77); // ctest: skipped
  }
  if (rc != 0 || out.empty())
    throw std::runtime_error("pg_server: no PostgreSQL server for the test (pg_start failed, status " + std::to_string(rc) + ")");
  dir_ = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
}

pg_server::~pg_server() { run("pg_stop", nullptr); }

int pg_server::run(const std::string& script, std::string* out, const std::vector<std::string>& args) {
  return run_bash(prologue(dir_) + script, args, out);
}

pg_server::database pg_server::new_database() {
  database db;
  db.name = fmt_db_name(++databases_);
  if (run("pg_createdb \"$1\"", &db.uri, {db.name}) != 0 || db.uri.empty())
    throw std::runtime_error("pg_server: cannot create database " + db.name);
  return db;
}

std::string pg_server::sql(const std::string& db, const std::string& statements) {
  std::string out;
  if (run("pg_sql \"$1\" \"$2\"", &out, {db, statements}) != 0)
    throw std::runtime_error("pg_server: SQL failed in " + db + ": " + statements);
  return out;
}

void pg_server::down() {
  if (run("pg_down", nullptr) != 0)
    throw std::runtime_error("pg_server: the server did not stop");
}

void pg_server::up() {
  if (run("pg_up", nullptr) != 0)
    throw std::runtime_error("pg_server: the server did not start again");
}

} // namespace whisk::test
