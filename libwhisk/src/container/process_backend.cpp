#include "whisk/container/process_backend.hpp"

#include <boost/asio.hpp>
#include <cerrno>
#include <csignal>
#include <atomic>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "concurrent_runs.hpp"
#include "sandbox.hpp"
#include "network_stack.hpp"
#include "proc.hpp"
#include "slirp.hpp"
#include "spawn.hpp"
#include "whisk/container/runtimes.hpp"
#include "whisk/json.hpp"
#include "whisk/log.hpp"

namespace asio = boost::asio;

namespace whisk::container {

namespace {

const std::string sentinel_line = std::string(log_sentinel) + "\n";

} // namespace

struct process_backend::impl {
  process_config cfg;
  cgroup_tree tree;
  int leftovers = 0;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::map<container_id, proc_ptr> procs;  // touched only on the io thread
  container_id next_id = 1;
  std::atomic<bool> warned_no_pidfd{false};
  mutable std::mutex leaf_mx;              // guards leaf_dirs for readers on other threads
  std::map<container_id, std::string> leaf_dirs;
  std::thread thread;  // spawns happen here: PDEATHSIG follows this thread's life
  // the sandbox, prepared once: a cloned child may only make system calls
  root_plan root;
  seccomp_program filter;
  int last_cap = 40;
  std::string slirp_path;
  std::string sandbox_error; // not empty: every create fails with it
  concurrent_runs side_by_side{[this](const proc_ptr& p) {
    p->dead = true;
    kill(p);
  }};

  explicit impl(process_config c) : cfg(std::move(c)) {
    root = make_root_plan(cfg.network == network_mode::isolated ? slirp_dns : "");
    last_cap = last_capability();
    if (auto f = make_seccomp_program())
      filter = std::move(*f);
    else
      sandbox_error = f.err().message;
    if (cfg.network == network_mode::isolated) {
      slirp_path = find_slirp4netns();
      if (slirp_path.empty())
        sandbox_error = "slirp4netns is not installed (Debian package slirp4netns): install it, or run with "
                        "--network=none (no network for actions) or --network=host";
    }
    if (!sandbox_error.empty())
      log_error("process backend: {}", sandbox_error);
    log_info("process backend: network {}{}", to_string(cfg.network),
             slirp_path.empty() ? "" : fmt::format(" (through {})", slirp_path));
    tree = cgroup_tree::open(cfg.tree_name);
    leftovers = tree.remove_leftovers();
    if (leftovers > 0)
      log_warn("process backend: removed {} container(s) left behind by an earlier run", leftovers);
    log_info("process backend: cgroups {}", tree.describe());
    thread = std::thread([this] {
      pthread_setname_np(pthread_self(), "whisk.runtimes");
      // Every pipe write happens on this thread: a runtime that died must give EPIPE here,
      // not a SIGPIPE that kills the host process.
      sigset_t pipe_signal;
      sigemptyset(&pipe_signal);
      sigaddset(&pipe_signal, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
      io.run();
    });
  }

  ~impl() {
    asio::post(io, [this] {
      for (auto& [id, p] : procs)
        kill(p);
    });
    work.reset();
    asio::post(io, [this] { io.stop(); });
    thread.join();
    for (auto& [id, p] : procs) {
      if (p->pid > 0 && !p->exited)
        ::waitpid(p->pid, nullptr, 0);
      p->network.kill_and_wait();
      p->network.close("whisk-node is stopping");
      p->leaf.remove();
    }
    procs.clear();
    tree.remove_tree();
  }

  // ---- spawn ----
  expected<proc_ptr> spawn(const spec& s) {
    if (!sandbox_error.empty())
      return make_error(errc::internal, sandbox_error);
    auto cmd = runtime_for(s.kind);
    if (!cmd)
      return make_error(errc::internal, fmt::format("no runtime for kind '{}' on this host", s.kind));
    auto p = std::make_shared<proc>(io);
    p->id = next_id++;
    p->kind = s.kind;
    auto leaf = tree.create_leaf(fmt::format("c{}", p->id), s.memory_mb, cfg.pids_max);
    if (!leaf)
      return make_error(errc::internal, "cannot create the container's cgroup");
    p->leaf = *leaf;
    auto child = spawn_runtime(spawn_request{*cmd, p->leaf, root, filter, last_cap, cfg.network != network_mode::host,
                                             cfg.uid, cfg.gid, cfg.tmp_size_mb});
    if (!child) {
      p->leaf.remove();
      return child.err();
    }
    if (cfg.network == network_mode::isolated) {
      // Started while the runtime starts: both take tens of ms, side by side.
      auto net = start_slirp(slirp_path, child->pid);
      if (!net) {
        p->leaf.kill_all();
        ::kill(child->pid, SIGKILL);
        ::waitpid(child->pid, nullptr, 0);
        for (int fd : {child->pidfd, child->stdin_w, child->fd3_r, child->out_r, child->err_r, child->out_w, child->err_w})
          if (fd >= 0)
            ::close(fd);
        p->leaf.remove();
        return net.err();
      }
      p->network.adopt(*net, [this, p = std::weak_ptr<proc>(p)](int status) {
        if (auto live = p.lock())
          on_network_exit(live, status);
      });
    }
    p->pid = child->pid;
    p->stdin_w.assign(child->stdin_w);
    p->fd3_r.assign(child->fd3_r);
    p->out_r.assign(child->out_r);
    p->err_r.assign(child->err_r);
    p->out_w.assign(child->out_w); // kept by the host to write the sentinel after each answer
    p->err_w.assign(child->err_w);
    if (child->pidfd >= 0 && cfg.exit_by_pidfd) {
      p->pidfd.assign(child->pidfd);
    } else {
      if (child->pidfd >= 0)
        ::close(child->pidfd);
      else if (!warned_no_pidfd.exchange(true))
        log_warn("process backend: pidfd_open failed ({}): runtime exits are found by polling waitpid", std::strerror(child->pidfd_errno));
    }
    {
      std::lock_guard guard{leaf_mx};
      leaf_dirs[p->id] = p->leaf.freeze_dir();
    }
    return p;
  }

  // ---- reading ----
  static std::string take_line(asio::streambuf& buf, std::size_t n) {
    std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
    buf.consume(n);
    if (!line.empty() && line.back() == '\n')
      line.pop_back();
    return line;
  }

  void read_answers(proc_ptr p) {
    asio::async_read_until(p->fd3_r, p->fd3_buf, '\n', [this, p](boost::system::error_code ec, std::size_t n) {
      if (ec == asio::error::not_found) {
        n = p->fd3_buf.size(); // an answer larger than the buffer: hand over what fits
      } else if (ec) {
        return;
      }
      auto line = take_line(p->fd3_buf, n);
      if (p->concurrent)
        side_by_side.on_answer(p, line);
      else
        on_answer(p, std::move(line));
      read_answers(p);
    });
  }

  void read_logs(proc_ptr p, bool is_out) {
    auto& sd = is_out ? p->out_r : p->err_r;
    auto& buf = is_out ? p->out_buf : p->err_buf;
    asio::async_read_until(sd, buf, '\n', [this, p, is_out, &buf](boost::system::error_code ec, std::size_t n) {
      bool whole = ec != asio::error::not_found;
      if (!whole)
        n = buf.size(); // a line longer than the buffer: this much now, the rest next
      else if (ec)
        return;
      if (p->concurrent)
        side_by_side.on_log_line(p, is_out, take_line(buf, n), whole);
      else
        on_log_line(p, is_out, take_line(buf, n));
      read_logs(p, is_out);
    });
  }

  void watch_exit(proc_ptr p) {
    if (!p->pidfd.is_open()) {
      poll_exit(p);
      return;
    }
    p->pidfd.async_wait(asio::posix::stream_descriptor::wait_read, [this, p](boost::system::error_code ec) {
      if (ec)
        return;
      int status = 0;
      if (::waitpid(p->pid, &status, WNOHANG) == p->pid) {
        p->exited = true;
        p->wait_status = status;
        on_exit(p);
      } else {
        watch_exit(p);
      }
    });
  }

  // Without a pidfd (pidfd_open refused by an old kernel or a seccomp policy) a runtime's
  // exit is found by asking waitpid every 20 ms: destroy still completes and no zombie stays.
  void poll_exit(proc_ptr p) {
    int status = 0;
    if (::waitpid(p->pid, &status, WNOHANG) == p->pid) {
      p->exited = true;
      p->wait_status = status;
      on_exit(p);
      return;
    }
    p->exit_poll.expires_after(std::chrono::milliseconds(20));
    p->exit_poll.async_wait([this, p](boost::system::error_code ec) {
      if (!ec)
        poll_exit(p);
    });
  }

  // ---- the container's network stack ----
  void on_network_exit(const proc_ptr& p, int status) {
    if (!p->destroying)
      log_warn("process backend: container {}: its network stack slirp4netns (pid {}) ended (status {:#x})", p->id,
               p->network.pid(), status);
    if (p->destroying && p->exited)
      finalize(p);
  }

  // ---- the operation in progress ----
  void start_next(proc_ptr p) {
    while (p->concurrent && !p->current && !p->queue.empty() && p->queue.front().type == op_type::run) {
      auto op = std::move(p->queue.front());
      p->queue.pop_front();
      side_by_side.start(p, std::move(op));
    }
    if (p->current || p->queue.empty() || !p->runs.empty())
      return;
    p->current = std::move(p->queue.front());
    p->queue.pop_front();
    if (p->dead) {
      fail_current(p, "the container is gone");
      return;
    }
    auto& op = *p->current;
    p->ph = phase::awaiting_answer;
    p->op_start = clock::now();
    p->answer.clear();
    p->result_kind = outcome_kind::ok;
    if (!op.line.empty()) {
      op.line.push_back('\n');
      asio::async_write(p->stdin_w, asio::buffer(op.line), [this, p](boost::system::error_code ec, std::size_t) {
        if (ec && p->ph == phase::awaiting_answer)
          log_debug("process backend: write to container {} failed: {}", p->id, ec.message());
      });
    }
    p->timer.expires_after(std::chrono::milliseconds(op.timeout_ms));
    p->timer.async_wait([this, p](boost::system::error_code ec) {
      if (ec || p->ph != phase::awaiting_answer)
        return;
      p->result_kind = outcome_kind::timeout;
      p->dead = true;
      kill(p);
      begin_drain(p);
    });
  }

  void fail_current(proc_ptr p, std::string why) {
    auto op = std::move(*p->current);
    p->current.reset();
    p->ph = phase::idle;
    op.done(outcome{outcome_kind::failed, std::move(why), {}, 0});
    start_next(p);
  }

  void on_answer(proc_ptr p, std::string line) {
    if (!p->current || p->ph != phase::awaiting_answer) {
      log_warn("process backend: container {} answered without a request: {:.200}", p->id, line);
      return;
    }
    p->timer.cancel();
    p->answer = std::move(line);
    p->result_kind = outcome_kind::ok;
    p->ph = phase::draining;
    p->out_done = p->err_done = false;
    // Fast path: run after every completion already queued; if neither pipe nor buffer
    // holds output, every line written before the answer has been taken.
    asio::post(io, [this, p] {
      if (p->ph != phase::draining || p->out_done || p->err_done)
        return; // already completed, or a sentinel drain is under way
      if (pipe_empty(p->out_r) && pipe_empty(p->err_r) && p->out_buf.size() == 0 && p->err_buf.size() == 0) {
        complete(p);
        return;
      }
      begin_drain(p);
    });
  }

  static bool pipe_empty(asio::posix::stream_descriptor& sd) {
    int pending = 0;
    return ::ioctl(sd.native_handle(), FIONREAD, &pending) == 0 && pending == 0;
  }

  // Everything the runtime wrote before its answer is already in the pipes: a sentinel
  // written now by the host lands behind it, which makes the cut exact.
  void begin_drain(proc_ptr p) {
    p->ph = phase::draining;
    p->out_done = p->err_done = false;
    asio::async_write(p->out_w, asio::buffer(sentinel_line), [](boost::system::error_code, std::size_t) {});
    asio::async_write(p->err_w, asio::buffer(sentinel_line), [](boost::system::error_code, std::size_t) {});
  }

  void on_log_line(proc_ptr p, bool is_out, std::string line) {
    if (line == log_sentinel) {
      (is_out ? p->out_done : p->err_done) = true;
      if (p->ph == phase::draining && p->out_done && p->err_done)
        complete(p);
      return;
    }
    p->logs.add(is_out, line, p->current ? p->current->log_limit : std::int64_t{10 << 20});
  }

  void complete(proc_ptr p) {
    auto op = std::move(*p->current);
    p->current.reset();
    p->ph = phase::idle;
    outcome out;
    out.kind = p->result_kind;
    out.output = std::move(p->answer);
    out.logs = std::move(p->logs.lines);
    out.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - p->op_start).count();
    if (out.kind == outcome_kind::exited)
      out.output = describe_exit(p);
    p->logs = {};
    // an init that said yes to a concurrent action: its runs go side by side from now on
    if (op.type == op_type::init)
      p->concurrent = op.concurrent && p->kind.rfind("nodejs", 0) == 0 && out.kind == outcome_kind::ok &&
                      out.output.find("\"ok\":true") != std::string::npos;
    op.done(std::move(out));
    start_next(p);
  }

  std::string describe_exit(const proc_ptr& p) const {
    int st = p->wait_status;
    if (WIFEXITED(st))
      return fmt::format("the runtime exited with status {}", WEXITSTATUS(st));
    if (WIFSIGNALED(st))
      return fmt::format("the runtime was killed by signal {}", WTERMSIG(st));
    return "the runtime ended";
  }

  void on_exit(proc_ptr p) {
    p->dead = true;
    if (p->destroying) {
      if (p->network.reaped())
        finalize(p);
      return;
    }
    if (p->ph == phase::awaiting_answer) {
      p->timer.cancel();
      bool oom = p->leaf.oom_killed();
      p->result_kind = oom ? outcome_kind::oom : outcome_kind::exited;
      begin_drain(p);
    }
    if (!p->runs.empty()) // (after a run's time limit every run is answered already)
      side_by_side.end_unanswered(p, p->leaf.oom_killed() ? outcome_kind::oom : outcome_kind::exited, describe_exit(p));
    log_info("process backend: container {} (pid {}) ended: {}", p->id, p->pid, describe_exit(p));
  }

  void kill(const proc_ptr& p) {
    p->leaf.kill_all();
    if (p->pid > 0 && !p->exited)
      ::kill(p->pid, SIGKILL);
    p->network.kill();
  }

  // Removable once the runtime and its network stack have both been reaped.
  static bool gone(const proc_ptr& p) { return p->exited && p->network.reaped(); }

  void finalize(proc_ptr p) {
    boost::system::error_code ec;
    p->timer.cancel();
    for (auto* sd : {&p->stdin_w, &p->fd3_r, &p->out_r, &p->err_r, &p->out_w, &p->err_w, &p->pidfd})
      sd->close(ec);
    if (p->current)
      p->queue.push_front(std::move(*p->current));
    p->current.reset();
    for (auto& op : p->queue)
      op.done(outcome{outcome_kind::failed, "the container was destroyed", {}, 0});
    p->queue.clear();
    side_by_side.fail_all(p, "the container was destroyed");
    if (p->dropped_lines > 0)
      log_info("process backend: container {}: {} line(s) written outside any activation were dropped", p->id, p->dropped_lines);
    p->leaf.remove();
    procs.erase(p->id);
    {
      std::lock_guard guard{leaf_mx};
      leaf_dirs.erase(p->id);
    }
    p->network.close("the container was destroyed"); // after the erase: nothing finds it again
    for (auto& f : p->on_destroyed)
      f();
    p->on_destroyed.clear();
  }

  void fail_create(container_id id, const std::string& why, const backend::create_done& done) {
    if (auto i = procs.find(id); i != procs.end()) {
      auto p = i->second;
      p->destroying = true;
      kill(p);
      if (gone(p))
        finalize(p);
    }
    done(make_error(errc::internal, "the runtime failed to start: " + why));
  }

  // Runs `f` on a live container on the I/O thread and reports its result; false if gone.
  template <class F>
  void on_live(container_id id, backend::flag_done done, F f) {
    asio::post(io, [this, id, done = std::move(done), f] {
      auto i = procs.find(id);
      done(i != procs.end() && !i->second->dead && f(*i->second));
    });
  }

  void submit(container_id id, pending_op op) {
    asio::post(io, [this, id, op = std::move(op)]() mutable {
      auto i = procs.find(id);
      if (i == procs.end() || i->second->destroying) {
        op.done(outcome{outcome_kind::failed, "no such container", {}, 0});
        return;
      }
      i->second->queue.push_back(std::move(op));
      start_next(i->second);
    });
  }
};

std::optional<network_mode> parse_network_mode(const std::string& name) {
  if (name == "isolated")
    return network_mode::isolated;
  if (name == "none")
    return network_mode::none;
  if (name == "host")
    return network_mode::host;
  return std::nullopt;
}

const char* to_string(network_mode mode) {
  switch (mode) {
  case network_mode::isolated: return "isolated";
  case network_mode::none: return "none";
  case network_mode::host: return "host";
  }
  return "?";
}

process_backend::process_backend(process_config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) {}

process_backend::~process_backend() = default;

const cgroup_tree& process_backend::cgroups() const { return impl_->tree; }

int process_backend::leftovers_removed() const { return impl_->leftovers; }

std::string process_backend::freeze_dir(container_id id) const {
  std::lock_guard guard{impl_->leaf_mx};
  auto i = impl_->leaf_dirs.find(id);
  return i == impl_->leaf_dirs.end() ? std::string{} : i->second;
}

void process_backend::create(const spec& s, create_done done) {
  asio::post(impl_->io, [this, s, done = std::move(done)]() mutable {
    auto* m = impl_.get();
    auto spawned = m->spawn(s);
    if (!spawned) {
      done(spawned.err());
      return;
    }
    auto p = *spawned;
    m->procs[p->id] = p;
    m->read_answers(p);
    m->read_logs(p, true);
    m->read_logs(p, false);
    m->watch_exit(p);
    auto id = p->id;
    pending_op start{op_type::start, {}, m->cfg.start_timeout_ms, 1 << 20,
                     [m, id, done = std::move(done)](outcome out) mutable {
                       auto i = m->procs.find(id);
                       if (i != m->procs.end() && out.kind == outcome_kind::ok && out.output.find("\"ok\"") != std::string::npos) {
                         auto limit = std::chrono::milliseconds(m->cfg.start_timeout_ms);
                         i->second->network.when_ready(limit, [m, id, done = std::move(done)](std::string why) {
                           if (why.empty())
                             done(id);
                           else
                             m->fail_create(id, "its network: " + why, done);
                         });
                         return;
                       }
                       std::string why = out.kind == outcome_kind::timeout ? "the runtime did not start in time" : out.output;
                       for (auto& l : out.logs)
                         why += "\n" + l;
                       m->fail_create(id, why, done);
                     }};
    p->queue.push_back(std::move(start));
    m->start_next(p);
  });
}

void process_backend::init(container_id id, init_request req, op_done done) {
  json::value msg = json::object{{"code", std::move(req.code)}, {"main", std::move(req.main)}, {"binary", req.binary}};
  if (auto env = json::parse(req.env_json); env && env->is_object())
    msg.set("env", std::move(*env));
  bool concurrent = req.concurrency > 1; // (taken up by the nodejs launcher, ignored by the others)
  if (concurrent)
    msg.set("concurrent", true);
  impl_->submit(id, pending_op{op_type::init, json::dump(msg), req.timeout_ms, req.log_limit_bytes, std::move(done), concurrent});
}

void process_backend::run(container_id id, run_request req, op_done done) {
  impl_->submit(id, pending_op{op_type::run, std::move(req.message_json), req.timeout_ms, req.log_limit_bytes, std::move(done)});
}

void process_backend::suspend(container_id id, flag_done done) {
  impl_->on_live(id, std::move(done), [](proc& p) {
    bool ok = p.leaf.freeze();
    if (!ok && p.leaf.freeze_dir().empty()) // no freezer: the signal is the last resort
      ok = ::kill(p.pid, SIGSTOP) == 0 && (p.stopped_by_signal = true);
    return ok;
  });
}

void process_backend::resume(container_id id, flag_done done) {
  impl_->on_live(id, std::move(done), [](proc& p) {
    bool ok = p.stopped_by_signal ? ::kill(p.pid, SIGCONT) == 0 : p.leaf.thaw();
    p.stopped_by_signal = false;
    return ok;
  });
}

void process_backend::destroy(container_id id, std::function<void()> done) {
  asio::post(impl_->io, [this, id, done = std::move(done)]() mutable {
    auto i = impl_->procs.find(id);
    if (i == impl_->procs.end()) {
      done();
      return;
    }
    auto p = i->second;
    p->on_destroyed.push_back(std::move(done));
    if (p->destroying)
      return;
    p->destroying = true;
    impl_->kill(p);
    if (impl::gone(p))
      impl_->finalize(p);
  });
}

} // namespace whisk::container
