// whisk-bench-store: the stores side by side, through the store interface the controller uses.
//   writes   activation records per second through add_activation (group commits; each
//            record counts when its commit callback ran), from W writer threads
//   list     GET /activations' query (newest 30 of a namespace, and of one action) once the
//            store holds N records: p50 and p99 over repeated queries
// usage: whisk-bench-store STORE [RECORDS=1000000] [WRITERS=4] [write|list|both]
//   STORE: a directory (SQLite: STORE/whisk.db, made fresh by `write`) or a postgresql:// URI
//   (an empty database for `write`: the benchmark's records are left in it for `list`)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "whisk/log.hpp"
#include "whisk/store/store.hpp"

using namespace whisk;
using clock_type = std::chrono::steady_clock;

namespace {

activation record(std::int64_t i) {
  activation a;
  a.ns = "bench";
  a.name = fmt::format("action-{}", i % 50); // 50 actions
  a.version = "0.0.1";
  a.subject = "bench";
  a.activation_id = new_activation_id();
  a.start_ms = 1'700'000'000'000 + i; // one a millisecond
  a.end_ms = a.start_ms + 3;
  a.result = json::object{{"i", i}, {"greeting", "hello from a benchmark record"}};
  a.logs = {"2026-01-01T00:00:00.000000000Z stdout: a log line of a typical size for a small function"};
  a.kind = "nodejs:20";
  return a;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::max(1.0, std::ceil(p * static_cast<double>(v.size()))));
  return v[std::min(rank, v.size()) - 1];
}

} // namespace

int main(int argc, char** argv) {
  set_log_level(log_level::warn);
  if (argc < 2) {
    std::fprintf(stderr, "usage: whisk-bench-store DIR|postgresql://... [RECORDS] [WRITERS]\n");
    return 2;
  }
  std::string where = argv[1];
  std::int64_t records = argc > 2 ? std::atoll(argv[2]) : 1'000'000;
  int writers = argc > 3 ? std::atoi(argv[3]) : 4;
  std::string phase = argc > 4 ? argv[4] : "both";
  bool write = phase != "list", list = phase != "write";
  expected<std::unique_ptr<store>> db = make_error(errc::internal, "no store");
  std::string label;
  if (is_postgres_uri(where)) {
    db = open_postgres_store(where);
    label = "PostgreSQL";
  } else {
    if (write)
      std::filesystem::remove_all(where);
    std::filesystem::create_directories(where);
    db = open_sqlite_store((std::filesystem::path(where) / "whisk.db").string());
    label = "SQLite";
  }
  if (!db) {
    std::fprintf(stderr, "%s\n", db.err().message.c_str());
    return 1;
  }
  auto& s = **db;

  // writes: W threads add records as fast as the store takes them, each waiting for at most
  // 256 of its own to be committed (the controller bounds what is pending the same way)
  std::atomic<std::int64_t> next{write ? 0 : records}, committed{0};
  auto began = clock_type::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&] {
      std::atomic<int> in_flight{0};
      for (;;) {
        auto i = next.fetch_add(1);
        if (i >= records)
          break;
        while (in_flight.load() >= 256)
          std::this_thread::yield();
        ++in_flight;
        s.add_activation(record(i), [&] {
          --in_flight;
          ++committed;
        });
      }
      while (in_flight.load() > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  for (auto& t : threads)
    t.join();
  auto secs = std::chrono::duration<double>(clock_type::now() - began).count();
  auto stats = s.write_stats();
  if (write)
    std::printf("%s: %lld records written in %.2f s: %.0f records/s (%lld commits, %.1f records per commit, %lld writers)\n",
              label.c_str(), static_cast<long long>(committed.load()), secs, static_cast<double>(committed.load()) / secs,
              static_cast<long long>(stats.commits),
              stats.commits ? static_cast<double>(stats.records) / static_cast<double>(stats.commits) : 0.0,
              static_cast<long long>(writers));

  // list: newest 30 of the namespace, and of one action, as GET /activations asks
  for (auto by_name : {false, true}) {
    if (!list)
      break;
    std::vector<double> ms;
    for (int i = 0; i < 200; ++i) {
      activation_query q;
      q.ns = "bench";
      q.limit = 30;
      if (by_name)
        q.name = fmt::format("action-{}", i % 50);
      auto t0 = clock_type::now();
      auto got = s.list_activations(q);
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
      if (got.size() != 30) {
        std::fprintf(stderr, "list returned %zu records, not 30\n", got.size());
        return 1;
      }
    }
    std::printf("%s: list newest 30 %s of %lld records: p50 %.2f ms, p99 %.2f ms\n", label.c_str(),
                by_name ? "of one action" : "of the namespace", static_cast<long long>(records), percentile(ms, 0.5),
                percentile(ms, 0.99));
  }
  return 0;
}
