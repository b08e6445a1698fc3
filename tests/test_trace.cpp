// whisk-sim traces: the Azure 2019 and 2021 loaders on the samples in tests/data, their
// errors on the broken variants there, and the synthetic trace generator.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <fmt/format.h>
#include <unistd.h>

#include "whisk/sim/trace.hpp"

using namespace whisk;
using namespace whisk::sim;
namespace fs = std::filesystem;

namespace {

const fs::path data = WHISK_TRACE_TEST_DATA;
const fs::path sample2019 = data / "azure2019" / "sample";
const fs::path sample2021 = data / "azure2021" / "invocations.txt";

// A directory of its own under the system's temporary directory, removed at the end.
struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path() / fmt::format("whisk-trace-test-{}-{}", ::getpid(), std::random_device{}());
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::size_t index_of(const trace& t, const std::string& id) {
  for (std::size_t i = 0; i < t.functions.size(); ++i)
    if (t.functions[i].id == id)
      return i;
  FAIL("no function " << id);
  return 0;
}

// (function id, minute) -> arrivals
std::map<std::pair<std::string, int>, int> per_minute(const trace& t) {
  std::map<std::pair<std::string, int>, int> out;
  for (const auto& a : t.arrivals)
    ++out[{t.functions[a.function].id, static_cast<int>(a.time_ms / 60000)}];
  return out;
}

// The per-minute counts of the sample's invocations file, written out by hand.
std::map<std::pair<std::string, int>, int> sample_counts() {
  std::map<std::pair<std::string, int>, int> c{{{"o1/a1/f1", 0}, 3}, {{"o1/a1/f1", 1}, 1}, {{"o1/a1/f1", 1439}, 2},
                                               {{"o1/a2/f3", 10}, 7},  {{"o2/a3/f4", 100}, 2}, {{"o2/a3/f4", 200}, 3}};
  for (int m = 5; m < 1440; m += 60)
    c[{"o1/a1/f2", m}] = 1;
  return c;
}

// Per function, the durations of its runs in time order.
std::map<std::string, std::vector<double>> durations_by_function(const trace& t) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& a : t.arrivals)
    out[t.functions[a.function].id].push_back(a.duration_ms);
  return out;
}

bool sorted(const trace& t) {
  return std::is_sorted(t.arrivals.begin(), t.arrivals.end(),
                        [](const arrival& a, const arrival& b) { return a.time_ms < b.time_ms; });
}

// The error's message, which must start with FILE:LINE:COLUMN (or FILE: for a missing file).
std::string message(const expected<trace>& t) {
  REQUIRE_FALSE(t);
  return t.err().message;
}

// Day totals per trigger and per minute of an invocations file, read here independently.
struct file_counts {
  std::map<std::string, int> functions_by_trigger;
  std::vector<std::uint64_t> per_function;
  std::vector<std::uint64_t> per_minute = std::vector<std::uint64_t>(1440, 0);
};
file_counts count_file(const fs::path& p) {
  file_counts out;
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f;
    std::vector<std::string> v;
    while (std::getline(fields, f, ','))
      v.push_back(f);
    REQUIRE(v.size() == 1444);
    ++out.functions_by_trigger[v[3]];
    std::uint64_t total = 0;
    for (int m = 0; m < 1440; ++m) {
      const auto c = std::stoull(v[4 + m]);
      total += c;
      out.per_minute[m] += c;
    }
    out.per_function.push_back(total);
  }
  return out;
}

} // namespace

TEST_CASE("trace: the 2019 loader reads the sample day") {
  auto t = load_azure2019(sample2019);
  REQUIRE(t);
  REQUIRE(t->functions.size() == 4);
  CHECK(t->functions[0].id == "o1/a1/f1"); // file order
  CHECK(t->functions[1].id == "o1/a1/f2");
  CHECK(t->functions[2].id == "o1/a2/f3");
  CHECK(t->functions[3].id == "o2/a3/f4");
  CHECK(t->functions[0].app == "o1/a1");
  CHECK(t->functions[1].trigger == "timer");
  CHECK(t->functions[3].trigger == "http"); // a repeated row keeps the first trigger
  // memory: a1 allocates 301 MB over 2 functions (rounded up); a2 has no row: 170 MB default; a3: 101 MB
  CHECK(t->functions[0].memory_mb == 151);
  CHECK(t->functions[1].memory_mb == 151);
  CHECK(t->functions[2].memory_mb == 170);
  CHECK(t->functions[3].memory_mb == 101);
  // durations: the first row of f1 wins; f3 has none: 1 s every time
  CHECK(t->functions[0].duration.average_ms == 100);
  REQUIRE(t->functions[0].duration.points.size() == 7);
  CHECK(t->functions[0].duration.points[3].probability == 0.5);
  CHECK(t->functions[0].duration.points[3].ms == 100);
  CHECK(t->functions[2].duration.quantile(0) == 1000);
  CHECK(t->functions[2].duration.quantile(1) == 1000);

  CHECK(t->span_ms == 86'400'000);
  CHECK(t->origin_ms == 0);
  REQUIRE(t->arrivals.size() == 6 + 24 + 7 + 5);
  CHECK(sorted(*t));
  // uniform spread: n runs of a minute at (k + 0.5) * 60000 / n
  CHECK(t->arrivals[0].time_ms == 10'000);
  CHECK(t->arrivals[0].function == 0);
  CHECK(t->arrivals[1].time_ms == 30'000);
  CHECK(t->arrivals[2].time_ms == 50'000);
  CHECK(t->arrivals[3].time_ms == 90'000);
  CHECK(t->arrivals[4].time_ms == 5 * 60'000 + 30'000); // the timer, at minute 5
  CHECK(t->arrivals[4].function == 1);
  CHECK(t->arrivals[5].time_ms == 10 * 60'000 + 0.5 * 60'000 / 7);
  CHECK(t->arrivals[5].function == 2);
  CHECK(t->arrivals.back().time_ms == 1439 * 60'000 + 45'000);
  CHECK(t->arrivals.back().function == 0);
  std::vector<double> timer;
  for (const auto& a : t->arrivals)
    if (a.function == 1)
      timer.push_back(a.time_ms);
  REQUIRE(timer.size() == 24);
  for (std::size_t i = 1; i < timer.size(); ++i)
    CHECK(timer[i] - timer[i - 1] == 3'600'000);
  // durations drawn stay within the published percentiles 0 and 100
  for (const auto& [id, runs] : durations_by_function(*t))
    for (double d : runs) {
      const auto& dist = t->functions[index_of(*t, id)].duration;
      CHECK(d >= dist.points.front().ms);
      CHECK(d <= dist.points.back().ms);
    }
}

TEST_CASE("trace: per-minute counts are preserved exactly with either spread") {
  load_options uniform;
  uniform.seed = 7;
  load_options poisson = uniform;
  poisson.spread = minute_spread::poisson;
  auto u = load_azure2019(sample2019, uniform);
  auto p = load_azure2019(sample2019, poisson);
  REQUIRE(u);
  REQUIRE(p);
  CHECK(per_minute(*u) == sample_counts());
  CHECK(per_minute(*p) == sample_counts());
  CHECK(sorted(*p));
  // the Poisson spread places runs at random in the minute: not the evenly spaced times
  bool differs = false;
  for (std::size_t i = 0; i < u->arrivals.size(); ++i)
    differs = differs || u->arrivals[i].time_ms != p->arrivals[i].time_ms;
  CHECK(differs);
  // a function's k-th run draws the same duration whatever the spread
  CHECK(durations_by_function(*u) == durations_by_function(*p));
}

TEST_CASE("trace: the inverse CDF reproduces the percentile points") {
  auto t = load_azure2019(sample2019);
  REQUIRE(t);
  const auto& d = t->functions[0].duration; // 10 20 50 100 150 300 400 at 0 1 25 50 75 99 100 %
  const std::vector<std::pair<double, double>> published{{0.0, 10}, {0.01, 20}, {0.25, 50}, {0.5, 100},
                                                         {0.75, 150}, {0.99, 300}, {1.0, 400}};
  for (const auto& [p, ms] : published)
    CHECK(d.quantile(p) == ms);
  CHECK(d.quantile(0.375) == Approx(75));  // halfway between 25 % and 50 %
  CHECK(d.quantile(0.87) == Approx(225));  // halfway between 75 % and 99 %
  CHECK(d.quantile(-1) == 10);             // clamped
  CHECK(d.quantile(2) == 400);
  CHECK(duration_distribution{}.quantile(0.5) == 0);
  CHECK(duration_distribution::fixed(42).quantile(0.3) == 42);
  // many draws: their empirical quartiles land on the published ones
  std::vector<double> draws;
  for (int i = 0; i < 100'000; ++i)
    draws.push_back(d.quantile((i + 0.5) / 100'000));
  CHECK(draws[25'000] == Approx(50).margin(0.1));
  CHECK(draws[50'000] == Approx(100).margin(0.1));
  CHECK(draws[75'000] == Approx(150).margin(0.1));
}

TEST_CASE("trace: the same seed gives the same arrivals and another seed other ones") {
  load_options o;
  o.spread = minute_spread::poisson;
  o.seed = 42;
  auto a = load_azure2019(sample2019, o);
  auto b = load_azure2019(sample2019, o);
  o.seed = 43;
  auto c = load_azure2019(sample2019, o);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  auto same = [](const trace& x, const trace& y) {
    return x.arrivals.size() == y.arrivals.size() &&
           std::equal(x.arrivals.begin(), x.arrivals.end(), y.arrivals.begin(), [](const arrival& l, const arrival& r) {
             return l.time_ms == r.time_ms && l.function == r.function && l.duration_ms == r.duration_ms;
           });
  };
  CHECK(same(*a, *b));
  CHECK_FALSE(same(*a, *c));
}

TEST_CASE("trace: at most N functions chosen by id hash and nested") {
  load_options all;
  all.spread = minute_spread::poisson;
  all.seed = 3;
  auto full = load_azure2019(sample2019, all);
  REQUIRE(full);
  std::vector<std::string> previous;
  for (std::size_t n = 1; n <= 4; ++n) {
    load_options o = all;
    o.max_functions = n;
    auto t = load_azure2019(sample2019, o);
    REQUIRE(t);
    REQUIRE(t->functions.size() == n);
    std::vector<std::string> ids;
    for (const auto& f : t->functions)
      ids.push_back(f.id);
    for (const auto& id : previous) // the first n-1 are among the first n
      CHECK(std::find(ids.begin(), ids.end(), id) != ids.end());
    previous = ids;
    // a chosen function keeps its memory (shared with unchosen ones of its app) and its very arrivals
    auto mine = durations_by_function(*t);
    auto theirs = durations_by_function(*full);
    for (const auto& f : t->functions) {
      CHECK(f.memory_mb == full->functions[index_of(*full, f.id)].memory_mb);
      CHECK(mine[f.id] == theirs[f.id]);
    }
  }
  // the first of the sample by FNV-1a 64 of the id
  load_options one;
  one.max_functions = 1;
  auto t = load_azure2019(sample2019, one);
  REQUIRE(t);
  auto fnv = [](const std::string& s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char ch : s)
      h = (h ^ ch) * 0x100000001b3ULL;
    return h;
  };
  std::vector<std::string> ids{"o1/a1/f1", "o1/a1/f2", "o1/a2/f3", "o2/a3/f4"};
  std::sort(ids.begin(), ids.end(), [&](const auto& x, const auto& y) { return fnv(x) < fnv(y); });
  CHECK(t->functions[0].id == ids[0]);
}

TEST_CASE("trace: the 2021 loader reads the sample") {
  auto t = load_azure2021(sample2021);
  REQUIRE(t);
  REQUIRE(t->functions.size() == 3);
  CHECK(t->functions[0].id == "A/f1");
  CHECK(t->functions[1].id == "A/f2");
  CHECK(t->functions[2].id == "B/f1");
  CHECK(t->functions[0].app == "A");
  CHECK(t->functions[0].trigger.empty());
  CHECK(t->functions[0].memory_mb == 85); // no memory in 2021: 170 MB per app over its 2 functions
  CHECK(t->functions[2].memory_mb == 170);
  // start = end - duration; time 0 is the earliest start (B/f1 at 9.0 s)
  CHECK(t->origin_ms == 9'000);
  CHECK(t->span_ms == 10'000);
  const std::vector<std::tuple<double, std::uint32_t, double>> expected_runs{
      {0, 2, 2'000}, {375, 2, 125}, {1'000, 0, 500}, {3'000, 1, 250}, {6'000, 0, 500}, {10'000, 0, 1'000}};
  REQUIRE(t->arrivals.size() == expected_runs.size());
  for (std::size_t i = 0; i < expected_runs.size(); ++i) {
    CHECK(t->arrivals[i].time_ms == std::get<0>(expected_runs[i]));
    CHECK(t->arrivals[i].function == std::get<1>(expected_runs[i]));
    CHECK(t->arrivals[i].duration_ms == std::get<2>(expected_runs[i]));
  }
  // the distribution of the observed durations: 500 500 1000
  const auto& d = t->functions[0].duration;
  CHECK(d.quantile(0) == 500);
  CHECK(d.quantile(0.5) == 500);
  CHECK(d.quantile(0.75) == 750);
  CHECK(d.quantile(1) == 1'000);
  CHECK(d.average_ms == Approx(2'000.0 / 3));

  load_options one;
  one.max_functions = 1;
  auto chosen = load_azure2021(sample2021, one);
  REQUIRE(chosen);
  CHECK(chosen->functions.size() == 1);
  CHECK(chosen->origin_ms == 9'000); // the file's earliest start whichever functions are chosen
}

TEST_CASE("trace: load_trace picks the format from the path") {
  auto dir = load_trace(sample2019);
  REQUIRE(dir);
  CHECK(dir->functions.size() == 4);
  auto file = load_trace(sample2021);
  REQUIRE(file);
  CHECK(file->functions.size() == 3);
  auto none = load_trace(data / "no-such-trace.txt");
  REQUIRE_FALSE(none);
  CHECK(none.err().code == errc::not_found);
}

TEST_CASE("trace: a row with the wrong column count names file line and column") {
  auto e = message(load_azure2019(data / "azure2019" / "broken_columns"));
  CHECK_THAT(e, Catch::StartsWith((data / "azure2019" / "broken_columns" / "invocations_per_function_md.anon.d01.csv").string() +
                                  ":3:1444: expected 1444 columns, found 1443"));
  auto e21 = message(load_azure2021(data / "azure2021" / "broken_columns.txt"));
  CHECK(e21 == (data / "azure2021" / "broken_columns.txt").string() + ":3:4: expected 4 columns, found 3");
}

TEST_CASE("trace: a field that is not a number names file line and column") {
  auto e = message(load_azure2019(data / "azure2019" / "broken_number"));
  CHECK(e == (data / "azure2019" / "broken_number" / "function_durations_percentiles.anon.d01.csv").string() +
                 ":2:4: Average 'fast' is not a number");
  auto e21 = message(load_azure2021(data / "azure2021" / "broken_number.txt"));
  CHECK(e21 == (data / "azure2021" / "broken_number.txt").string() + ":2:3: end_timestamp 'soon' is not a number");
}

TEST_CASE("trace: a negative count or duration names file line and column") {
  auto t = load_azure2019(data / "azure2019" / "broken_negative");
  CHECK(message(t) == (data / "azure2019" / "broken_negative" / "invocations_per_function_md.anon.d01.csv").string() +
                          ":3:14: negative count -2");
  CHECK(t.err().code == errc::bad_request);
  auto e21 = message(load_azure2021(data / "azure2021" / "broken_negative.txt"));
  CHECK(e21 == (data / "azure2021" / "broken_negative.txt").string() + ":4:4: negative duration -0.5");
}

TEST_CASE("trace: a header mismatch names file line and column") {
  auto e = message(load_azure2019(data / "azure2019" / "broken_header"));
  CHECK(e == (data / "azure2019" / "broken_header" / "app_memory_percentiles.anon.d01.csv").string() +
                 ":1:4: header: expected column 'AverageAllocatedMb', found 'AverageAllocatedMB'");
  auto e21 = message(load_azure2021(data / "azure2021" / "broken_header.txt"));
  CHECK(e21 == (data / "azure2021" / "broken_header.txt").string() + ":1:2: header: expected column 'func', found 'function'");
}

TEST_CASE("trace: a missing file is named") {
  load_options day2;
  day2.day = 2;
  auto t = load_azure2019(sample2019, day2);
  CHECK(message(t) == (sample2019 / "invocations_per_function_md.anon.d02.csv").string() +
                          ": cannot open (No such file or directory)");
  CHECK(t.err().code == errc::not_found);
  // days 1 to 12 were published with a memory file: its absence is an error there
  auto m = message(load_azure2019(data / "azure2019" / "missing_memory"));
  CHECK(m == (data / "azure2019" / "missing_memory" / "app_memory_percentiles.anon.d01.csv").string() +
                 ": cannot open (No such file or directory)");
  auto f = load_azure2021(data / "azure2021" / "no-such-file.txt");
  CHECK(message(f) == (data / "azure2021" / "no-such-file.txt").string() + ": cannot open (No such file or directory)");
}

TEST_CASE("trace: days 13 and 14 need no memory file") {
  temp_dir tmp;
  fs::copy_file(azure2019_invocations_file(sample2019, 1), azure2019_invocations_file(tmp.path, 13));
  fs::copy_file(azure2019_durations_file(sample2019, 1), azure2019_durations_file(tmp.path, 13));
  load_options o;
  o.day = 13;
  o.default_app_memory_mb = 1000;
  auto t = load_azure2019(tmp.path, o);
  REQUIRE(t);
  CHECK(t->functions[0].memory_mb == 500); // 1000 MB over the two functions of a1
  CHECK(t->functions[3].memory_mb == 1000);
  o.day = 15;
  auto out_of_range = load_azure2019(tmp.path, o);
  CHECK(message(out_of_range) == "day 15: the Azure 2019 trace has days 1 to 14");
}

TEST_CASE("trace: absurd input is refused with bounded memory") {
  temp_dir tmp;
  // a 2 MB line is never read whole
  write_text(tmp.path / "long.txt", "app,func,end_timestamp,duration\n" + std::string(2 << 20, 'x') + "\n");
  auto t = load_azure2021(tmp.path / "long.txt");
  CHECK(message(t) == (tmp.path / "long.txt").string() + ":2:1: line longer than 1048576 bytes");
  CHECK(t.err().code == errc::too_large);
  // a time no trace has
  write_text(tmp.path / "far.txt", "app,func,end_timestamp,duration\nA,f1,1e300,0.5\n");
  CHECK(message(load_azure2021(tmp.path / "far.txt")) ==
        (tmp.path / "far.txt").string() + ":2:3: end_timestamp 1e+300 is out of range (at most 1e+12 s)");
  // an empty file
  write_text(tmp.path / "empty.txt", "");
  CHECK_THAT(message(load_azure2021(tmp.path / "empty.txt")), Catch::StartsWith((tmp.path / "empty.txt").string() + ":1:1: empty file"));
  // binary junk
  write_text(tmp.path / "junk.txt", std::string("\x00\x01\xff,\n\n", 6));
  CHECK_THAT(message(load_azure2021(tmp.path / "junk.txt")), Catch::StartsWith((tmp.path / "junk.txt").string() + ":1:1: header"));
  // more arrivals than the limit, counted before any is made
  load_options small;
  small.max_arrivals = 41;
  auto big = load_azure2019(sample2019, small);
  CHECK_THAT(message(big), Catch::Contains("42 invocations in the chosen functions, more than the limit of 41"));
  CHECK(big.err().code == errc::too_large);
  small.max_arrivals = 42;
  CHECK(load_azure2019(sample2019, small));
  // percentiles out of order
  fs::copy_file(azure2019_invocations_file(sample2019, 1), azure2019_invocations_file(tmp.path, 1));
  fs::copy_file(azure2019_memory_file(sample2019, 1), azure2019_memory_file(tmp.path, 1));
  std::string durations = read_bytes(azure2019_durations_file(sample2019, 1));
  durations.replace(durations.find("10,20,50,100,150"), 16, "10,20,50,40,150");
  write_text(azure2019_durations_file(tmp.path, 1), durations);
  CHECK_THAT(message(load_azure2019(tmp.path)),
             Catch::EndsWith(":2:11: percentile_Average_50 40 is below percentile_Average_25 50: percentiles must not decrease"));
  // a count that does not fit
  std::string invocations = read_bytes(azure2019_invocations_file(sample2019, 1));
  invocations.replace(invocations.find("o1,a1,f1,http,3"), 15, "o1,a1,f1,http,99999999999");
  write_text(azure2019_invocations_file(tmp.path, 1), invocations);
  CHECK_THAT(message(load_azure2019(tmp.path)), Catch::EndsWith(":2:5: count 99999999999 is out of range (at most 4294967295)"));
}

TEST_CASE("trace: the generator gives the same bytes for the same seed") {
  temp_dir tmp;
  auto a = generate_azure2019(40, 2, 11, tmp.path / "a");
  auto b = generate_azure2019(40, 2, 11, tmp.path / "b");
  auto c = generate_azure2019(40, 2, 12, tmp.path / "c");
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  REQUIRE(a->size() == 6);
  for (std::size_t i = 0; i < a->size(); ++i) {
    CHECK((*a)[i].filename() == (*b)[i].filename());
    CHECK(read_bytes((*a)[i]) == read_bytes((*b)[i]));
  }
  CHECK(read_bytes((*a)[0]) != read_bytes((*c)[0]));
  // the same arrivals once loaded
  load_options o;
  o.seed = 5;
  o.spread = minute_spread::poisson;
  auto ta = load_azure2019(tmp.path / "a", o);
  auto tb = load_azure2019(tmp.path / "b", o);
  REQUIRE(ta);
  REQUIRE(tb);
  REQUIRE(ta->arrivals.size() == tb->arrivals.size());
  for (std::size_t i = 0; i < ta->arrivals.size(); ++i) {
    CHECK(ta->arrivals[i].time_ms == tb->arrivals[i].time_ms);
    CHECK(ta->arrivals[i].function == tb->arrivals[i].function);
    CHECK(ta->arrivals[i].duration_ms == tb->arrivals[i].duration_ms);
  }
  // a smaller trace is the start of a larger one (the invocation rows)
  auto small = generate_azure2019(15, 1, 11, tmp.path / "small");
  REQUIRE(small);
  const auto big_rows = read_bytes((*a)[0]);
  const auto small_rows = read_bytes((*small)[0]);
  CHECK(big_rows.compare(0, small_rows.size(), small_rows) == 0);
}

TEST_CASE("trace: the generator output loads back with the 2019 loader") {
  temp_dir tmp;
  auto files = generate_azure2019(60, 13, 2024, tmp.path);
  REQUIRE(files);
  CHECK(files->size() == 13 + 13 + 12); // no memory files for day 13 as in the published set
  CHECK(fs::exists(azure2019_memory_file(tmp.path, 12)));
  CHECK_FALSE(fs::exists(azure2019_memory_file(tmp.path, 13)));
  for (int day : {1, 13}) {
    load_options o;
    o.day = day;
    auto t = load_azure2019(tmp.path, o);
    REQUIRE(t);
    CHECK(t->functions.size() == 60);
    const auto counts = count_file(azure2019_invocations_file(tmp.path, day));
    std::uint64_t total = 0;
    for (auto c : counts.per_function)
      total += c;
    CHECK(t->arrivals.size() == total);
    std::vector<std::uint64_t> minutes(1440, 0);
    for (const auto& a : t->arrivals)
      ++minutes[static_cast<std::size_t>(a.time_ms / 60000)];
    CHECK(minutes == counts.per_minute);
    std::vector<bool> ran(t->functions.size(), false);
    for (const auto& a : t->arrivals)
      ran[a.function] = true;
    for (std::size_t i = 0; i < t->functions.size(); ++i) {
      CHECK(t->functions[i].memory_mb >= 1);
      // a durations row for each function that ran that day; the others get the default
      CHECK(t->functions[i].duration.points.size() == (ran[i] ? 7u : 2u));
    }
    // timer functions fire at a fixed period
    for (std::uint32_t i = 0; i < t->functions.size(); ++i) {
      if (t->functions[i].trigger != "timer")
        continue;
      std::vector<double> times;
      for (const auto& a : t->arrivals)
        if (a.function == i)
          times.push_back(a.time_ms);
      for (std::size_t k = 2; k < times.size(); ++k)
        CHECK(times[k] - times[k - 1] == times[1] - times[0]);
    }
  }
}

TEST_CASE("trace: the generated shapes follow the published figures") {
  temp_dir tmp;
  auto files = generate_azure2019(3000, 1, 1, tmp.path);
  REQUIRE(files);
  const auto c = count_file(azure2019_invocations_file(tmp.path, 1));
  REQUIRE(c.per_function.size() == 3000);
  const double n = 3000;
  CHECK(c.functions_by_trigger.at("http") / n == Approx(0.55).margin(0.04));
  CHECK(c.functions_by_trigger.at("timer") / n == Approx(0.156).margin(0.03));
  CHECK(c.functions_by_trigger.at("queue") / n == Approx(0.152).margin(0.03));
  // heavy tail: most functions are rare and a few are very busy
  auto sorted_totals = c.per_function;
  std::sort(sorted_totals.begin(), sorted_totals.end());
  const auto at_most = [&](std::uint64_t k) {
    return static_cast<double>(std::upper_bound(sorted_totals.begin(), sorted_totals.end(), k) - sorted_totals.begin()) / n;
  };
  CHECK(at_most(1440) == Approx(0.84).margin(0.05)); // at most once a minute on average
  CHECK(at_most(24) == Approx(0.43).margin(0.06));   // at most hourly (timers are more regular)
  CHECK(sorted_totals.back() > 100'000);
  // diurnal: the afternoon is busier than the night
  std::uint64_t night = 0, afternoon = 0;
  for (int m = 0; m < 240; ++m) {
    night += c.per_minute[m];
    afternoon += c.per_minute[720 + m];
  }
  CHECK(afternoon > 2 * night);
}

TEST_CASE("trace: the generator refuses what it cannot make") {
  temp_dir tmp;
  auto none = generate_azure2019(0, 1, 1, tmp.path);
  REQUIRE_FALSE(none);
  CHECK(none.err().message == "functions: 0 is not between 1 and 100000");
  auto days = generate_azure2019(5, 15, 1, tmp.path);
  REQUIRE_FALSE(days);
  CHECK(days.err().message == "days: 15 is not between 1 and 14 (the days of the 2019 trace)");
  write_text(tmp.path / "a-file", "x");
  auto blocked = generate_azure2019(5, 1, 1, tmp.path / "a-file" / "out");
  REQUIRE_FALSE(blocked);
  CHECK_THAT(blocked.err().message, Catch::StartsWith((tmp.path / "a-file" / "out").string() + ": cannot create the directory"));
}
