#include "concurrent_runs.hpp"

#include <charconv>
#include <fmt/format.h>

#include "whisk/container/runtimes.hpp"
#include "whisk/log.hpp"

namespace asio = boost::asio;

namespace whisk::container {

namespace {

// "<id>" up to the first space (answers) or "\x1e<id>\x1f" (log lines); 0 when there is none.
std::uint64_t parse_id(std::string_view digits) {
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  return ec == std::errc{} && end == digits.data() + digits.size() ? id : 0;
}

std::uint64_t tag_of(std::string_view line, std::string_view& text) {
  if (line.empty() || line.front() != '\x1e')
    return 0;
  auto close = line.find('\x1f');
  if (close == std::string_view::npos || close > 21)
    return 0;
  auto id = parse_id(line.substr(1, close - 1));
  if (id != 0)
    text = line.substr(close + 1);
  return id;
}

} // namespace

void concurrent_runs::start(const proc_ptr& p, pending_op op) {
  if (p->dead) {
    op.done(outcome{outcome_kind::failed, "the container is gone", {}, 0});
    return;
  }
  auto id = p->next_run++;
  auto line = fmt::format("{} {}\n", id, op.line);
  auto r = std::make_unique<concurrent_run>(p->timer.get_executor(), std::move(op));
  r->op.line.clear();
  r->timer.expires_after(std::chrono::milliseconds(r->op.timeout_ms));
  r->timer.async_wait([this, p, id](boost::system::error_code ec) {
    auto i = p->runs.find(id);
    if (ec || i == p->runs.end())
      return;
    if (i->second->answered) { // its end markers never came (output written around the launcher): keep what came
      complete(p, id);
      return;
    }
    auto& r = *i->second;
    r.kind = outcome_kind::timeout;
    stop_(p);
    end_unanswered(p, outcome_kind::exited,
                   "the runtime was stopped: another activation running in the same container exceeded its time limit");
    r.answer = "the activation exceeded its time limit";
  });
  p->runs.emplace(id, std::move(r));
  write_line(p, std::move(line));
}

void concurrent_runs::write_line(const proc_ptr& p, std::string line) {
  p->stdin_lines.push_back(std::move(line)); // a deque: the line being written stays where it is
  if (p->stdin_lines.size() == 1)
    write_next(p);
}

void concurrent_runs::write_next(const proc_ptr& p) {
  asio::async_write(p->stdin_w, asio::buffer(p->stdin_lines.front()), [this, p](boost::system::error_code ec, std::size_t) {
    if (ec) { // the runtime is gone: its exit ends the runs
      log_debug("process backend: write to container {} failed: {}", p->id, ec.message());
      p->stdin_lines.clear();
      return;
    }
    p->stdin_lines.pop_front();
    if (!p->stdin_lines.empty())
      write_next(p);
  });
}

void concurrent_runs::on_answer(const proc_ptr& p, std::string_view line) {
  auto space = line.find(' ');
  auto id = space == std::string_view::npos ? 0 : parse_id(line.substr(0, space));
  auto i = p->runs.find(id);
  if (i == p->runs.end() || i->second->answered) {
    log_warn("process backend: container {} answered no run in flight: {:.200}", p->id, line);
    return;
  }
  auto& r = *i->second;
  r.answer = line.substr(space + 1);
  r.answered = true;
  if (r.out_done && r.err_done)
    complete(p, id);
}

void concurrent_runs::on_log_line(const proc_ptr& p, bool is_out, std::string_view line, bool whole) {
  auto& continued = p->continued[is_out ? 0 : 1];
  bool continuation = continued != 0;
  std::string_view text = line;
  auto id = continuation ? continued : tag_of(line, text);
  continued = whole ? 0 : id;
  if (id == 0) {
    drop(p, line);
    return;
  }
  auto i = p->runs.find(id);
  if (!continuation && text == log_sentinel) { // (a run already ended: the host's markers behind the launcher's)
    if (i == p->runs.end())
      return;
    auto& r = *i->second;
    (is_out ? r.out_done : r.err_done) = true;
    if (r.answered && r.out_done && r.err_done)
      complete(p, id);
    return;
  }
  if (i == p->runs.end()) {
    drop(p, line);
    return;
  }
  i->second->logs.add(is_out, text, i->second->op.log_limit);
}

void concurrent_runs::end_unanswered(const proc_ptr& p, outcome_kind kind, const std::string& why) {
  for (auto& [id, r] : p->runs) {
    if (r->answered)
      continue;
    r->answered = true;
    if (r->kind == outcome_kind::ok)
      r->kind = kind;
    r->answer = why;
    // Written behind everything the runtime wrote (the newline ends a line it left half
    // written), these markers close the run's output on both streams.
    auto marker = std::make_shared<std::string>(fmt::format("\n\x1e{}\x1f{}\n", id, log_sentinel));
    asio::async_write(p->out_w, asio::buffer(*marker), [marker](boost::system::error_code, std::size_t) {});
    asio::async_write(p->err_w, asio::buffer(*marker), [marker](boost::system::error_code, std::size_t) {});
  }
}

void concurrent_runs::fail_all(const proc_ptr& p, const std::string& why) {
  auto runs = std::move(p->runs);
  p->runs.clear();
  for (auto& [id, r] : runs) {
    r->timer.cancel();
    r->op.done(outcome{outcome_kind::failed, why, std::move(r->logs.lines), 0});
  }
}

void concurrent_runs::complete(const proc_ptr& p, std::uint64_t id) {
  auto node = p->runs.extract(id);
  auto& r = *node.mapped();
  r.timer.cancel();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - r.start).count();
  r.op.done(outcome{r.kind, std::move(r.answer), std::move(r.logs.lines), us});
}

void concurrent_runs::drop(const proc_ptr& p, std::string_view line) {
  if (line.empty()) // (the newline in front of the host's end markers)
    return;
  if (p->dropped_lines++ == 0)
    log_warn("process backend: container {}: a line written outside any activation is dropped (and counted; "
             "its activation had ended): {:.200}",
             p->id, line);
}

} // namespace whisk::container
