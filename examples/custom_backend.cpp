// A container backend of your own, plugged into whisk's pool: actions of kind "sh" are shell
// scripts, each run a plain child process (no namespaces, no cgroup: NOT isolated). The
// script reads the run's message ({"value": {...}, "activation_id": ...}) on stdin; its
// last stdout line is the result, the lines before it are the logs.
//   whisk-example-backend [N]   runs a script that doubles n, for n = 1..N (default 3)
#include <caf/all.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <poll.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "whisk/actors/container_pool.hpp"

using namespace whisk;
using namespace std::chrono;

namespace {

container::outcome answer(container::outcome_kind kind, std::string text) {
  container::outcome out;
  out.kind = kind;
  out.output = std::move(text);
  return out;
}

// One script run: fork, exec /bin/sh -c SCRIPT, message on stdin, stdout until EOF or deadline.
container::outcome run_script(const std::string& script, const std::string& input, std::int64_t timeout_ms) {
  container::outcome out;
  int in[2], from[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0)
    return answer(container::outcome_kind::failed, "pipe failed");
  auto start = steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) { // the child: only async-signal-safe calls until exec
    dup2(in[0], 0);
    dup2(from[1], 1);
    execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(in[0]);
  close(from[1]);
  if (write(in[1], input.data(), input.size()) < 0) {} // a script that reads nothing is fine
  close(in[1]);
  std::string text;
  char buf[4096];
  auto deadline = start + milliseconds(timeout_ms);
  for (;;) {
    int left = static_cast<int>(duration_cast<milliseconds>(deadline - steady_clock::now()).count());
    pollfd p{from[0], POLLIN, 0};
    if (left <= 0 || poll(&p, 1, left) == 0) { // the time limit: the "container" is gone
      kill(pid, SIGKILL);
      out.kind = container::outcome_kind::timeout;
      break;
    }
    auto n = read(from[0], buf, sizeof buf);
    if (n <= 0) {
      out.kind = container::outcome_kind::ok;
      break;
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  close(from[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  out.duration_us = duration_cast<microseconds>(steady_clock::now() - start).count();
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  auto last = text.rfind('\n');
  out.output = last == std::string::npos ? text : text.substr(last + 1);
  if (last != std::string::npos) // every line before the answer is a log line
    for (std::size_t b = 0, e; b < last; b = e + 1) {
      e = text.find('\n', b);
      out.logs.push_back(container::format_log_line("stdout", std::string_view(text).substr(b, e - b)));
    }
  if (out.kind == container::outcome_kind::ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    out.kind = container::outcome_kind::exited; // the pool removes this container
    out.output = "exit status " + std::to_string(WEXITSTATUS(status));
  }
  return out;
}

// The Container interface (whisk/container/container.hpp): every operation completes through
// its callback exactly once. A "container" here is only the script it was initialized with.
class shell_backend final : public container::backend {
public:
  std::string name() const override { return "shell"; }
  void create(const container::spec& s, create_done done) override {
    if (s.kind != "sh")
      return done(make_error(errc::bad_request, "the shell backend runs kind sh only, not " + s.kind));
    std::lock_guard lock{mx_};
    scripts_[next_id_] = "";
    done(next_id_++);
  }
  void init(container::container_id id, container::init_request req, op_done done) override {
    std::lock_guard lock{mx_};
    scripts_[id] = std::move(req.code);
    done(answer(container::outcome_kind::ok, R"({"ok":true})"));
  }
  void run(container::container_id id, container::run_request req, op_done done) override {
    std::string script;
    {
      std::lock_guard lock{mx_};
      script = scripts_[id];
    }
    // runs must not block the caller (an actor): one thread per run, owning copies only
    std::thread([script, req = std::move(req), done = std::move(done)] {
      done(run_script(script, req.message_json, req.timeout_ms));
    }).detach();
  }
  // Nothing runs between runs, so pausing has nothing to do.
  void suspend(container::container_id, flag_done done) override { done(true); }
  void resume(container::container_id, flag_done done) override { done(true); }
  void destroy(container::container_id id, std::function<void()> done) override {
    std::lock_guard lock{mx_};
    scripts_.erase(id);
    done();
  }

private:
  std::mutex mx_;
  container::container_id next_id_ = 1;
  std::map<container::container_id, std::string> scripts_;
};

} // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 3;
  std::signal(SIGPIPE, SIG_IGN); // a script that exits without reading its stdin
  caf::actor_system_config cfg;
  add_message_types(cfg);
  caf::actor_system sys{cfg};
  // the same pool as whisk-node's, over the new backend
  auto pool = spawn_container_pool(sys, std::make_shared<shell_backend>(), pool_config{});

  action_ref action;
  action.ns = "guest";
  action.name = action.revision = "double";
  action.kind = "sh";
  action.code = R"(read msg; n=$(echo "$msg" | sed 's/.*"n":\([0-9]*\).*/\1/'); echo "doubling $n"; echo "{\"n\":$((2 * n))}")";
  action.timeout_ms = 5000;
  int failures = 0;
  {
    caf::scoped_actor self{sys};
    for (int i = 1; i <= n; ++i) {
      run_msg m;
      m.action = action;
      m.activation_id = "run-" + std::to_string(i);
      m.params_json = R"({"n":)" + std::to_string(i) + "}";
      self->request(pool, seconds(10), run_atom::value, m)
          .receive([&](const run_result& r) {
                     std::printf("%s: status %d, result %s\n", m.activation_id.c_str(), r.status, r.result_json.c_str());
                     for (auto& line : r.logs)
                       std::printf("  log: %s\n", line.c_str());
                     failures += r.status != 0;
                   },
                   [&](const caf::error& e) {
                     std::printf("error: %s\n", sys.render(e).c_str());
                     ++failures;
                   });
    }
    self->send_exit(pool, caf::exit_reason::user_shutdown);
  }
  sys.await_all_actors_done();
  return failures == 0 ? 0 : 1;
}
