#include <catch2/catch.hpp>

#include "whisk/policy/placement.hpp"
#include "whisk/policy/stem_cells.hpp"

using namespace whisk::policy;

namespace {
container_info c(std::uint64_t id, slot_state s, std::string key, std::int64_t mem = 256, std::uint64_t used = 0,
                 std::int64_t active = 0, std::string kind = "nodejs:20") {
  container_info i;
  i.id = id;
  i.state = s;
  i.action_key = std::move(key);
  i.memory_mb = mem;
  i.last_used = used;
  i.active = active;
  i.kind = std::move(kind);
  return i;
}
run_need need(std::string key, std::int64_t mem = 256, std::string kind = "nodejs:20") {
  return run_need{std::move(key), std::move(kind), mem, 1};
}
} // namespace

TEST_CASE("placement: warm > paused > stem cell > create > evict > wait") {
  std::vector<container_info> pool{c(1, slot_state::stem, ""), c(2, slot_state::paused, "a", 256, 5), c(3, slot_state::ready, "a", 256, 3)};
  auto p = schedule(pool, need("a"), 2048);
  CHECK(p.kind == placement_kind::warm);
  CHECK(p.id == 3);
  pool[2].state = slot_state::busy;
  pool[2].active = 1;
  p = schedule(pool, need("a"), 2048);
  CHECK(p.kind == placement_kind::resume);
  CHECK(p.id == 2);
  p = schedule(pool, need("b"), 2048);
  CHECK(p.kind == placement_kind::stem_cell);
  CHECK(p.id == 1);
  CHECK(schedule(pool, need("b", 512), 2048).kind == placement_kind::create); // no stem cell of that memory
  CHECK(schedule(pool, need("b", 256, "python:3"), 2048).kind == placement_kind::create);
}

TEST_CASE("placement: a full pool evicts least recently used idle containers, else waits") {
  std::vector<container_info> pool{c(1, slot_state::ready, "a", 256, 9), c(2, slot_state::paused, "b", 256, 2),
                                   c(3, slot_state::ready, "c", 256, 5), c(4, slot_state::busy, "d", 256, 1, 1)};
  auto p = schedule(pool, need("e"), 1024);
  REQUIRE(p.kind == placement_kind::evict_and_create);
  CHECK(p.victims == std::vector<std::uint64_t>{2});
  p = schedule(pool, need("e", 512), 1024);
  REQUIRE(p.kind == placement_kind::evict_and_create);
  CHECK(p.victims == std::vector<std::uint64_t>{2, 3});
  // every container busy: nothing to evict
  for (auto& x : pool) {
    x.state = slot_state::busy;
    x.active = 1;
  }
  CHECK(schedule(pool, need("e"), 1024).kind == placement_kind::wait);
  // more memory than the node has: waits (the caller turns that into an error)
  CHECK(schedule({}, need("e", 4096), 1024).kind == placement_kind::wait);
}

TEST_CASE("placement: a full node waits for the action's own busy container instead of evicting another's") {
  std::vector<container_info> pool{c(1, slot_state::busy, "a", 256, 5, 1), c(2, slot_state::ready, "b", 256, 1)};
  CHECK(schedule(pool, need("a"), 512).kind == placement_kind::wait);
  auto p = schedule(pool, need("c"), 512); // no container of its own: evicting is the only way
  CHECK(p.kind == placement_kind::evict_and_create);
  CHECK(p.victims == std::vector<std::uint64_t>{2});
  CHECK(schedule(pool, need("a"), 1024).kind == placement_kind::create); // room left: grow
}

TEST_CASE("placement: concurrency lets several runs share one container") {
  std::vector<container_info> pool{c(1, slot_state::busy, "a", 256, 1, 2)};
  pool[0].concurrency = 3;
  auto p = schedule(pool, need("a"), 256);
  CHECK(p.kind == placement_kind::warm);
  pool[0].active = 3;
  CHECK(schedule(pool, need("a"), 256).kind == placement_kind::wait);
}

TEST_CASE("placement: missing stem cells are started within the memory") {
  std::vector<stem_cell_config> wanted{{"nodejs:20", 256, 2}, {"python:3", 256, 1}};
  std::vector<container_info> pool{c(1, slot_state::stem, "")};
  auto m = missing_stem_cells(pool, wanted, 2048);
  REQUIRE(m.size() == 2);
  CHECK(m[0].kind == "nodejs:20");
  CHECK(m[1].kind == "python:3");
  CHECK(missing_stem_cells(pool, wanted, 512).size() == 1);
  CHECK(memory_in_use({c(1, slot_state::ready, "a"), c(2, slot_state::removing, "b")}) == 256);
}

TEST_CASE("policy: --stem-cells items are parsed whole, and every malformed one is an error") {
  auto two = parse_stem_cells("nodejs:20:256:2,python:3:128:1");
  REQUIRE(two);
  REQUIRE(two->size() == 2);
  CHECK((*two)[0].kind == "nodejs:20");
  CHECK((*two)[0].memory_mb == 256);
  CHECK((*two)[0].count == 2);
  CHECK((*two)[1].kind == "python:3");
  CHECK((*two)[1].memory_mb == 128);
  auto none = parse_stem_cells("none");
  REQUIRE(none);
  CHECK(none->empty());
  for (auto bad : {"nodejs:20", "nodejs:20:256:x", "nodejs:20:256MB:1", "nodejs:20:256:", "cobol:256:1",
                   "nodejs:20:64:1", "nodejs:20:1024:1", "nodejs:20:256:-1", ":256:1", "nodejs:20:256:1,junk"}) {
    INFO(bad);
    auto r = parse_stem_cells(bad);
    REQUIRE(!r);
    CHECK_THAT(r.err().message, Catch::Contains("--stem-cells"));
  }
}
