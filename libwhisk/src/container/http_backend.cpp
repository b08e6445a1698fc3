#include "whisk/container/http_backend.hpp"

#include <boost/asio.hpp>
#include <cerrno>
#include <csignal>
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

#include "http_box.hpp"
#include "netns_socket.hpp"
#include "network_stack.hpp"
#include "runtime_exchange.hpp"
#include "sandbox.hpp"
#include "slirp.hpp"
#include "spawn.hpp"
#include "whisk/container/runtimes.hpp"
#include "whisk/json.hpp"
#include "whisk/log.hpp"

namespace asio = boost::asio;

namespace whisk::container {

using namespace http_detail;

namespace {

using clock = std::chrono::steady_clock;
const std::string sentinel_line = std::string(log_sentinel) + "\n";
constexpr std::string_view start_marker = "XXX_THE_START_OF_A_WHISK_ACTIVATION_XXX";


std::string take_line(asio::streambuf& buf, std::size_t n) {
  std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<std::ptrdiff_t>(n));
  buf.consume(n);
  if (!line.empty() && line.back() == '\n')
    line.pop_back();
  return line;
}

bool pipe_empty(asio::posix::stream_descriptor& sd) {
  int pending = 0;
  return ::ioctl(sd.native_handle(), FIONREAD, &pending) == 0 && pending == 0;
}

// The outcome's output for an answer of the runtime, in the terms classify_init/run read:
// {"ok": true} for a good /init, the result object for /run, an {"error"} object otherwise.
std::string interpret(op_type type, unsigned status, const std::string& body) {
  auto parsed = json::parse(body);
  bool object = parsed && parsed->is_object();
  if (type == op_type::init) {
    if (status == 200)
      return R"({"ok":true})";
    if (object && parsed->find("error")) {
      // OpenWhisk answers the runtime's error as it is; whisk's init verdict adds this prefix,
      // which OpenWhisk's own runtimes already write: once is enough.
      json::value e = *parsed->find("error");
      constexpr std::string_view prefix = "Initialization has failed due to: ";
      if (e.is_string() && e.as_string().compare(0, prefix.size(), prefix) == 0)
        e = e.as_string().substr(prefix.size());
      return json::dump(json::object{{"error", std::move(e)}});
    }
    return json::dump(json::object{{"error", fmt::format("the runtime answered {} to /init: {:.200}", status, body)}});
  }
  if (status == 200 || !object)
    return body; // not an object: a developer error, as OpenWhisk says
  if (parsed->find("error"))
    return body;
  return json::dump(json::object{{"error", std::move(*parsed)}});
}

} // namespace

struct http_backend::impl {
  runtime_manifest manifest;
  http_config cfg;
  cgroup_tree tree;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::map<container_id, box_ptr> boxes; // touched only on the io thread
  container_id next_id = 1;
  std::map<std::string, root_plan> roots; // per kind, prepared once
  seccomp_program filter;
  int last_cap = 40;
  std::string slirp_path;
  std::string sandbox_error;
  std::thread thread;

  impl(runtime_manifest m, http_config c) : manifest(std::move(m)), cfg(std::move(c)) {
    bool outbound = cfg.network == network_mode::isolated;
    last_cap = last_capability();
    if (auto f = make_seccomp_program())
      filter = std::move(*f);
    else
      sandbox_error = f.err().message;
    if (outbound) {
      slirp_path = find_slirp4netns();
      if (slirp_path.empty())
        sandbox_error = "slirp4netns is not installed (Debian package slirp4netns): install it, or run with --network=none";
    }
    for (auto& r : manifest.runtimes) {
      auto plan = r.root.empty() ? make_root_plan(outbound ? slirp_dns : "") : make_root_plan_from(r.root, outbound ? slirp_dns : "");
      for (auto& mnt : r.mounts)
        if (auto why = add_read_only_dir(plan, mnt.source, mnt.target); !why.empty())
          sandbox_error = fmt::format("runtime {}: mount {}: {}", r.kind, mnt.target, why);
      roots.emplace(r.kind, std::move(plan));
    }
    if (!sandbox_error.empty())
      log_error("http backend: {}", sandbox_error);
    tree = cgroup_tree::open(cfg.tree_name);
    if (int left = tree.remove_leftovers(); left > 0)
      log_warn("http backend: removed {} container(s) left behind by an earlier run", left);
    std::string kinds;
    for (auto& r : manifest.runtimes)
      kinds += (kinds.empty() ? "" : ", ") + r.kind;
    log_info("http backend: kinds {}; network {}", kinds, outbound ? "isolated (slirp4netns)" : "loopback only");
    thread = std::thread([this] {
      sigset_t pipe_signal;
      sigemptyset(&pipe_signal);
      sigaddset(&pipe_signal, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
      io.run();
    });
  }

  ~impl() {
    asio::post(io, [this] {
      for (auto& [id, b] : boxes)
        kill(b);
    });
    work.reset();
    asio::post(io, [this] { io.stop(); });
    thread.join();
    for (auto& [id, b] : boxes) {
      if (b->pid > 0 && !b->exited)
        ::waitpid(b->pid, nullptr, 0);
      b->network.kill_and_wait();
      b->network.close("whisk-node is stopping");
      close_fds(b);
      b->leaf.remove();
    }
    boxes.clear();
    tree.remove_tree();
  }

  // ---- spawn ----
  expected<box_ptr> spawn(const spec& s) {
    if (!sandbox_error.empty())
      return make_error(errc::internal, sandbox_error);
    auto* rt = manifest.find(s.kind);
    if (!rt)
      return make_error(errc::internal, fmt::format("kind '{}' is not in the runtime manifest", s.kind));
    auto b = std::make_shared<runtime_box>(io);
    b->id = next_id++;
    b->rt = rt;
    auto leaf = tree.create_leaf(fmt::format("h{}", b->id), s.memory_mb, cfg.pids_max);
    if (!leaf)
      return make_error(errc::internal, "cannot create the container's cgroup");
    b->leaf = *leaf;
    runtime_command cmd{rt->command[0], rt->command};
    spawn_request req{cmd, b->leaf, roots.at(rt->kind), filter, last_cap, true, cfg.uid, cfg.gid, cfg.tmp_size_mb};
    spawn_extras extras;
    for (auto& [k, v] : rt->env)
      extras.env.push_back(k + "=" + v);
    extras.workdir = rt->workdir;
    auto child = spawn_runtime(req, extras);
    if (!child) {
      b->leaf.remove();
      return child.err();
    }
    b->pid = child->pid;
    b->stdin_w = child->stdin_w;
    ::close(child->fd3_r); // the http protocol has no answer pipe
    b->out_r.assign(child->out_r);
    b->err_r.assign(child->err_r);
    b->out_w.assign(child->out_w); // the host cuts the logs of a runtime that died
    b->err_w.assign(child->err_w);
    if (child->pidfd >= 0)
      b->pidfd.assign(child->pidfd);
    b->netns = ::open(fmt::format("/proc/{}/ns/net", child->pid).c_str(), O_RDONLY | O_CLOEXEC);
    std::string why;
    if (b->netns < 0)
      why = fmt::format("cannot open the runtime's network namespace: {}", std::strerror(errno));
    else if (auto up = netns_entry(b->netns).loopback_up(); !up)
      why = up.err().message;
    else if (!slirp_path.empty()) {
      auto net = start_slirp(slirp_path, child->pid);
      if (net)
        b->network.adopt(*net, [this, w = std::weak_ptr<runtime_box>(b)](int status) {
          if (auto live = w.lock(); live && live->destroying && live->exited)
            finalize(live);
          else if (live)
            log_warn("http backend: container {}: slirp4netns ended (status {:#x})", live->id, status);
        });
      else
        why = net.err().message;
    }
    if (!why.empty()) {
      kill(b);
      ::waitpid(b->pid, nullptr, 0);
      b->exited = true;
      close_fds(b);
      b->leaf.remove();
      return make_error(errc::internal, why);
    }
    return b;
  }

  void close_fds(const box_ptr& b) {
    boost::system::error_code ec;
    for (auto* sd : {&b->out_r, &b->err_r, &b->out_w, &b->err_w, &b->pidfd})
      sd->close(ec);
    for (int* fd : {&b->stdin_w, &b->netns})
      if (*fd >= 0) {
        ::close(*fd);
        *fd = -1;
      }
    if (b->ex)
      b->ex->cancel();
  }

  // ---- logs ----
  void read_logs(box_ptr b, bool is_out) {
    auto& sd = is_out ? b->out_r : b->err_r;
    auto& buf = is_out ? b->out_buf : b->err_buf;
    asio::async_read_until(sd, buf, '\n', [this, b, is_out, &buf](boost::system::error_code ec, std::size_t n) {
      if (ec == asio::error::not_found)
        n = buf.size();
      else if (ec)
        return;
      on_log_line(b, is_out, take_line(buf, n));
      read_logs(b, is_out);
    });
  }

  bool running_activation(const box_ptr& b) const {
    return b->current && b->current->type == op_type::run && b->ph != phase::idle;
  }

  void on_log_line(const box_ptr& b, bool is_out, std::string line) {
    bool& done = is_out ? b->out_done : b->err_done;
    int& owed = is_out ? b->out_owed : b->err_owed;
    if (line == log_sentinel) {
      if (owed > 0 && !b->dead) {
        --owed; // the late end of an activation already handed over
        return;
      }
      // Counted for a run, or behind a dead runtime's output (the host wrote it); a runtime
      // that also marks the end of an init has nothing to cut.
      if (!running_activation(b) && !(b->dead && b->ph == phase::draining))
        return;
      done = true;
      if (b->ph == phase::draining && b->out_done && b->err_done)
        complete(b);
      return;
    }
    if (std::string_view(line).substr(0, start_marker.size()) == start_marker)
      return;
    if (running_activation(b) && done) { // written after this stream's end: the next activation's
      b->carry.push_back(format_log_line(is_out ? "stdout" : "stderr", line));
      return;
    }
    auto limit = b->current ? b->current->log_limit : std::int64_t{10 << 20};
    if (b->truncated)
      return;
    if (static_cast<std::int64_t>(b->log_bytes + line.size()) > limit) {
      b->truncated = true;
      b->logs.push_back(format_log_line(
          "stderr", fmt::format("Logs were truncated because the total bytes size exceeds the limit of {} bytes.", limit)));
      return;
    }
    b->log_bytes += line.size();
    b->logs.push_back(format_log_line(is_out ? "stdout" : "stderr", line));
  }

  // ---- exit ----
  void watch_exit(box_ptr b) {
    if (!b->pidfd.is_open()) {
      poll_exit(b);
      return;
    }
    b->pidfd.async_wait(asio::posix::stream_descriptor::wait_read, [this, b](boost::system::error_code ec) {
      if (ec)
        return;
      int status = 0;
      if (::waitpid(b->pid, &status, WNOHANG) == b->pid) {
        b->exited = true;
        b->wait_status = status;
        on_exit(b);
      } else {
        watch_exit(b);
      }
    });
  }

  void poll_exit(box_ptr b) {
    int status = 0;
    if (::waitpid(b->pid, &status, WNOHANG) == b->pid) {
      b->exited = true;
      b->wait_status = status;
      on_exit(b);
      return;
    }
    b->exit_poll.expires_after(std::chrono::milliseconds(20));
    b->exit_poll.async_wait([this, b](boost::system::error_code ec) {
      if (!ec)
        poll_exit(b);
    });
  }

  static std::string describe_exit(const box_ptr& b) {
    int st = b->wait_status;
    if (WIFEXITED(st))
      return fmt::format("the runtime exited with status {}", WEXITSTATUS(st));
    if (WIFSIGNALED(st))
      return fmt::format("the runtime was killed by signal {}", WTERMSIG(st));
    return "the runtime ended";
  }

  void on_exit(box_ptr b) {
    b->dead = true;
    if (b->destroying) {
      if (b->network.reaped())
        finalize(b);
      return;
    }
    if (b->ph == phase::awaiting)
      fail_runtime(b, b->leaf.oom_killed() ? outcome_kind::oom : outcome_kind::exited);
    log_info("http backend: container {} (pid {}) ended: {}", b->id, b->pid, describe_exit(b));
  }

  void kill(const box_ptr& b) {
    b->leaf.kill_all();
    if (b->pid > 0 && !b->exited)
      ::kill(b->pid, SIGKILL);
    b->network.kill();
  }

  // The operation ends without a usable answer: the container is done for. Its logs are cut
  // by sentinels the host writes behind everything the runtime wrote.
  void fail_runtime(const box_ptr& b, outcome_kind kind) {
    b->result_kind = kind;
    b->dead = true;
    b->timer.cancel();
    if (b->ex)
      b->ex->cancel();
    kill(b);
    b->ph = phase::draining;
    b->out_done = b->err_done = false;
    b->out_owed = b->err_owed = 0;
    host_sentinels(b);
  }

  void host_sentinels(const box_ptr& b) {
    // A sentinel of the runtime's own is no longer expected: these are counted whatever the op.
    asio::async_write(b->out_w, asio::buffer(sentinel_line), [](boost::system::error_code, std::size_t) {});
    asio::async_write(b->err_w, asio::buffer(sentinel_line), [](boost::system::error_code, std::size_t) {});
    wait_for_sentinels(b, cfg.log_wait_ms);
  }

  void wait_for_sentinels(const box_ptr& b, std::int64_t ms) {
    auto gen = b->generation;
    b->log_timer.expires_after(std::chrono::milliseconds(ms));
    b->log_timer.async_wait([this, b, gen](boost::system::error_code ec) {
      if (ec || b->generation != gen || b->ph != phase::draining)
        return;
      if (!b->dead && b->rt->sentinels)
        b->logs.push_back(format_log_line("stderr", "whisk: the runtime did not mark the end of this activation's "
                                                    "logs in time; some of its lines may be missing."));
      b->out_owed += b->out_done ? 0 : 1;
      b->err_owed += b->err_done ? 0 : 1;
      complete(b);
    });
  }

  // ---- operations ----
  void start_next(box_ptr b) {
    if (b->current || b->queue.empty())
      return;
    b->current = std::move(b->queue.front());
    b->queue.pop_front();
    ++b->generation;
    if (b->dead) {
      auto op = std::move(*b->current);
      b->current.reset();
      op.done(outcome{outcome_kind::failed, "the container is gone", {}, 0});
      start_next(b);
      return;
    }
    b->ph = phase::awaiting;
    b->op_start = clock::now();
    b->answer.clear();
    b->result_kind = outcome_kind::ok;
    b->out_done = b->err_done = false;
    auto gen = b->generation;
    b->timer.expires_after(std::chrono::milliseconds(b->current->timeout_ms));
    b->timer.async_wait([this, b, gen](boost::system::error_code ec) {
      if (ec || b->generation != gen || b->ph != phase::awaiting)
        return;
      fail_runtime(b, outcome_kind::timeout);
    });
    if (b->current->type == op_type::start)
      try_connect(b, gen, 1);
    else
      post(b, gen);
  }

  // Start: the runtime is ready once its port accepts a connection (polled, 1 ms doubling to 20 ms).
  void try_connect(box_ptr b, std::uint64_t gen, int backoff_ms) {
    b->ex = runtime_exchange::probe(io, b->netns, b->rt->port, [this, b, gen, backoff_ms](bool connected, std::string fatal) {
      if (b->generation != gen || b->ph != phase::awaiting)
        return;
      if (connected) {
        b->answer = R"({"ok":true})";
        settle(b);
      } else if (!fatal.empty()) {
        fail_runtime(b, outcome_kind::failed);
        b->answer = fatal;
      } else {
        b->log_timer.expires_after(std::chrono::milliseconds(backoff_ms));
        b->log_timer.async_wait([this, b, gen, backoff_ms](boost::system::error_code ec) {
          if (!ec && b->generation == gen && b->ph == phase::awaiting)
            try_connect(b, gen, std::min(backoff_ms * 2, 20));
        });
      }
    });
  }

  void post(box_ptr b, std::uint64_t gen) {
    auto& op = *b->current;
    auto type = op.type;
    b->ex = runtime_exchange::post(io, b->netns, b->rt->port, type == op_type::init ? "/init" : "/run", std::move(op.body),
                                   cfg.max_response_bytes, [this, b, gen, type](std::string why, runtime_answer a) {
                                     if (b->generation != gen || b->ph != phase::awaiting)
                                       return;
                                     if (!why.empty())
                                       return lost(b, why);
                                     b->answer = a.too_large ? fmt::format("The action produced a response larger than {} bytes.",
                                                                           cfg.max_response_bytes)
                                                             : interpret(type, a.status, a.body);
                                     settle(b);
                                   });
  }

  // The runtime closed or refused the connection: it is broken; if it is dying, its exit says how.
  void lost(const box_ptr& b, const std::string& why) {
    log_info("http backend: container {}: {}", b->id, why);
    fail_runtime(b, b->leaf.oom_killed() ? outcome_kind::oom : outcome_kind::exited);
    b->answer = why;
  }

  // An answer arrived: cut the operation's logs.
  void settle(const box_ptr& b) {
    b->timer.cancel();
    b->ph = phase::draining;
    auto type = b->current->type;
    if (type == op_type::run) {
      if (b->rt->sentinels) {
        if (b->out_done && b->err_done)
          complete(b);
        else
          wait_for_sentinels(b, cfg.log_wait_ms);
      } else {
        host_sentinels(b);
      }
      return;
    }
    // init and start are not framed by sentinels: take what the pipes hold now, after a
    // short settle if they hold anything.
    auto gen = b->generation;
    asio::post(io, [this, b, gen] {
      if (b->generation != gen || b->ph != phase::draining)
        return;
      if (pipe_empty(b->out_r) && pipe_empty(b->err_r) && b->out_buf.size() == 0 && b->err_buf.size() == 0) {
        complete(b);
        return;
      }
      b->log_timer.expires_after(std::chrono::milliseconds(20));
      b->log_timer.async_wait([this, b, gen](boost::system::error_code ec) {
        if (!ec && b->generation == gen && b->ph == phase::draining)
          complete(b);
      });
    });
  }

  void complete(const box_ptr& b) {
    b->log_timer.cancel();
    b->timer.cancel();
    auto op = std::move(*b->current);
    b->current.reset();
    ++b->generation;
    b->ph = phase::idle;
    outcome out;
    out.kind = b->result_kind;
    out.output = std::move(b->answer);
    out.logs = std::move(b->logs);
    out.duration_us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - b->op_start).count();
    if (out.kind == outcome_kind::exited && b->exited)
      out.output = describe_exit(b);
    b->logs = std::move(b->carry);
    b->carry.clear();
    b->log_bytes = 0;
    b->truncated = false;
    b->out_done = b->err_done = false;
    op.done(std::move(out));
    start_next(b);
  }

  static bool gone(const box_ptr& b) { return b->exited && b->network.reaped(); }

  void finalize(box_ptr b) {
    b->timer.cancel();
    b->log_timer.cancel();
    b->exit_poll.cancel();
    close_fds(b);
    if (b->current)
      b->queue.push_front(std::move(*b->current));
    b->current.reset();
    ++b->generation;
    for (auto& op : b->queue)
      op.done(outcome{outcome_kind::failed, "the container was destroyed", {}, 0});
    b->queue.clear();
    b->leaf.remove();
    boxes.erase(b->id);
    b->network.close("the container was destroyed");
    for (auto& f : b->on_destroyed)
      f();
    b->on_destroyed.clear();
  }

  void fail_create(container_id id, const std::string& why, const backend::create_done& done) {
    if (auto i = boxes.find(id); i != boxes.end()) {
      auto b = i->second;
      b->destroying = true;
      kill(b);
      if (gone(b))
        finalize(b);
    }
    done(make_error(errc::internal, "the runtime failed to start: " + why));
  }

  template <class F>
  void on_live(container_id id, backend::flag_done done, F f) {
    asio::post(io, [this, id, done = std::move(done), f] {
      auto i = boxes.find(id);
      done(i != boxes.end() && !i->second->dead && f(*i->second));
    });
  }

  void submit(container_id id, http_op op) {
    asio::post(io, [this, id, op = std::move(op)]() mutable {
      auto i = boxes.find(id);
      if (i == boxes.end() || i->second->destroying) {
        op.done(outcome{outcome_kind::failed, "no such container", {}, 0});
        return;
      }
      i->second->queue.push_back(std::move(op));
      start_next(i->second);
    });
  }
};

http_backend::http_backend(runtime_manifest manifest, http_config cfg)
    : impl_(std::make_unique<impl>(std::move(manifest), std::move(cfg))) {}

http_backend::~http_backend() = default;

const runtime_manifest& http_backend::manifest() const { return impl_->manifest; }

void http_backend::create(const spec& s, create_done done) {
  asio::post(impl_->io, [this, s, done = std::move(done)]() mutable {
    auto* m = impl_.get();
    auto spawned = m->spawn(s);
    if (!spawned) {
      done(spawned.err());
      return;
    }
    auto b = *spawned;
    m->boxes[b->id] = b;
    m->read_logs(b, true);
    m->read_logs(b, false);
    m->watch_exit(b);
    auto id = b->id;
    http_op start{op_type::start, {}, m->cfg.start_timeout_ms, 1 << 20, [m, id, done = std::move(done)](outcome out) mutable {
                    auto i = m->boxes.find(id);
                    if (i != m->boxes.end() && out.kind == outcome_kind::ok) {
                      auto limit = std::chrono::milliseconds(m->cfg.start_timeout_ms);
                      i->second->logs.clear(); // what a runtime says while starting belongs to no activation
                      i->second->network.when_ready(limit, [m, id, done = std::move(done)](std::string why) {
                        if (why.empty())
                          done(id);
                        else
                          m->fail_create(id, "its network: " + why, done);
                      });
                      return;
                    }
                    std::string why = out.kind == outcome_kind::timeout
                                          ? "its port did not accept connections in time"
                                          : out.output;
                    for (auto& l : out.logs)
                      why += "\n" + l;
                    m->fail_create(id, why, done);
                  }};
    b->queue.push_back(std::move(start));
    m->start_next(b);
  });
}

void http_backend::init(container_id id, init_request req, op_done done) {
  json::value value = json::object{{"name", "action"}, {"main", std::move(req.main)}, {"code", std::move(req.code)}, {"binary", req.binary}};
  if (auto env = json::parse(req.env_json); env && env->is_object())
    value.set("env", std::move(*env));
  std::string body = json::dump(json::object{{"value", std::move(value)}});
  impl_->submit(id, http_op{op_type::init, std::move(body), req.timeout_ms, req.log_limit_bytes, std::move(done)});
}

void http_backend::run(container_id id, run_request req, op_done done) {
  impl_->submit(id, http_op{op_type::run, std::move(req.message_json), req.timeout_ms, req.log_limit_bytes, std::move(done)});
}

void http_backend::suspend(container_id id, flag_done done) {
  impl_->on_live(id, std::move(done), [](runtime_box& b) {
    bool ok = b.leaf.freeze();
    if (!ok && b.leaf.freeze_dir().empty())
      ok = ::kill(b.pid, SIGSTOP) == 0 && (b.stopped_by_signal = true);
    return ok;
  });
}

void http_backend::resume(container_id id, flag_done done) {
  impl_->on_live(id, std::move(done), [](runtime_box& b) {
    bool ok = b.stopped_by_signal ? ::kill(b.pid, SIGCONT) == 0 : b.leaf.thaw();
    b.stopped_by_signal = false;
    return ok;
  });
}

void http_backend::destroy(container_id id, std::function<void()> done) {
  asio::post(impl_->io, [this, id, done = std::move(done)]() mutable {
    auto i = impl_->boxes.find(id);
    if (i == impl_->boxes.end()) {
      done();
      return;
    }
    auto b = i->second;
    b->on_destroyed.push_back(std::move(done));
    if (b->destroying)
      return;
    b->destroying = true;
    impl_->kill(b);
    if (impl::gone(b))
      impl_->finalize(b);
  });
}

} // namespace whisk::container
