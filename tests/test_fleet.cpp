#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "whisk/policy/fleet.hpp"

using namespace whisk::policy;

namespace {
fleet_agent agent(std::string name, std::int64_t mem = 1024, agent_health h = agent_health::healthy) {
  return fleet_agent{std::move(name), h, mem};
}
fleet_container box(std::uint64_t id, std::string at, slot_state s, std::string key, std::int64_t mem = 256,
                    std::uint64_t used = 0, bool leased = false, std::string kind = "nodejs:20") {
  fleet_container c;
  c.id = id;
  c.agent = std::move(at);
  c.state = s;
  c.kind = std::move(kind);
  c.memory_mb = mem;
  c.action_key = std::move(key);
  c.leased = leased;
  c.last_used = used;
  return c;
}
fleet_container stem(std::uint64_t id, std::string at, std::int64_t mem = 256, std::string kind = "nodejs:20") {
  return box(id, std::move(at), slot_state::stem, "", mem, 0, false, std::move(kind));
}
run_need need(std::string key, std::int64_t mem = 256, std::string kind = "nodejs:20") {
  return run_need{std::move(key), std::move(kind), mem, 1};
}
using ids = std::vector<std::uint64_t>;
const auto mfm = agent_choice::most_free_memory;
const auto hh = agent_choice::home_hash;
} // namespace

TEST_CASE("fleet: warm affinity prefers ready then the most recently used") {
  fleet_view v{{agent("a"), agent("b")},
               {box(1, "a", slot_state::paused, "act", 256, 90), box(2, "a", slot_state::ready, "act", 256, 10),
                box(3, "b", slot_state::ready, "act", 256, 20), box(4, "b", slot_state::ready, "other", 256, 99),
                box(5, "b", slot_state::busy, "act", 256, 100), box(6, "a", slot_state::starting, "act", 256, 100)}};
  for (auto choice : {mfm, hh}) {
    auto a = allocate(v, need("act"), choice);
    REQUIRE(a.kind == allocation_kind::warm);
    CHECK(a.container == 3); // ready beats the more recent paused one; 20 beats 10
    CHECK(a.agent == "b");
    CHECK(a.victims.empty());
    CHECK(a.reason.empty());
  }
  v.containers[2].state = slot_state::busy;
  CHECK(allocate(v, need("act"), mfm).container == 2);
  v.containers[1].state = slot_state::busy;
  auto a = allocate(v, need("act"), mfm); // only the paused one is left: resumed, not a new one
  CHECK(a.kind == allocation_kind::warm);
  CHECK(a.container == 1);
  CHECK(a.agent == "a");
  v.containers[0].state = slot_state::busy; // busy and starting ones are never warm
  CHECK(allocate(v, need("act"), mfm).kind == allocation_kind::create);
}

TEST_CASE("fleet: precedence is warm then stem cell then create then evict then reject") {
  // one agent of 768 MB: a warm container of the action, a stem cell and an idle container of another action
  fleet_view v{{agent("a", 768)},
               {box(1, "a", slot_state::ready, "act", 256, 5), stem(2, "a"), box(3, "a", slot_state::ready, "old", 256, 1)}};
  auto a = allocate(v, need("act"), mfm);
  CHECK(a.kind == allocation_kind::warm);
  CHECK(a.container == 1);
  a = allocate(v, need("new"), mfm); // no warm one: the stem cell, although no memory is free
  CHECK(a.kind == allocation_kind::stem_cell);
  CHECK(a.container == 2);
  CHECK(a.agent == "a");
  v.agents[0].user_memory_mb = 1024;
  CHECK(allocate(v, need("act"), mfm).kind == allocation_kind::warm); // warm still beats stem cell and room
  CHECK(allocate(v, need("new"), mfm).kind == allocation_kind::stem_cell); // stem cell beats room
  a = allocate(v, need("new", 256, "python:3"), mfm); // no stem cell of the kind: room for a new one
  CHECK(a.kind == allocation_kind::create);
  CHECK(a.agent == "a");
  CHECK(a.container == 0);
  v.containers[1].last_used = 3;
  a = allocate(v, need("new", 512), mfm); // 256 free: evict the least recently used idle container
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.agent == "a");
  CHECK(a.victims == ids{3});
  for (auto& c : v.containers)
    c.state = slot_state::busy;
  a = allocate(v, need("new", 512), mfm);
  CHECK(a.kind == allocation_kind::reject);
  CHECK(a.agent.empty());
  CHECK_FALSE(a.reason.empty());
}

TEST_CASE("fleet: a stem cell must match kind and memory and is taken from the freest agent") {
  fleet_view v{{agent("a", 2048), agent("b", 4096), agent("c", 4096)},
               {stem(1, "a"), stem(2, "b", 512), stem(3, "b", 256, "python:3"), stem(4, "c"), stem(5, "b"),
                box(6, "b", slot_state::ready, "", 256), box(7, "c", slot_state::busy, "x", 2048)}};
  // b: 4096 - 1280 = 2816 free, c: 4096 - 2304 = 1792, a: 1792
  auto a = allocate(v, need("act"), mfm);
  REQUIRE(a.kind == allocation_kind::stem_cell);
  CHECK(a.container == 5);
  CHECK(a.agent == "b");
  CHECK(allocate(v, need("act", 512), hh).container == 2);
  CHECK(allocate(v, need("act", 256, "python:3"), mfm).container == 3);
  v.containers[4].state = slot_state::starting; // a starting stem cell is not one yet
  a = allocate(v, need("act"), mfm);
  CHECK(a.kind == allocation_kind::stem_cell);
  CHECK(a.container == 1); // a and c tie on free memory: the name decides
  CHECK(a.agent == "a");
  // no stem cell of 128 MB: a new container (a ready container with no action is not a stem cell)
  CHECK(allocate(v, need("act", 128), mfm).kind == allocation_kind::create);
}

TEST_CASE("fleet: leased containers are never allocated or evicted") {
  fleet_view v{{agent("a", 768)},
               {box(1, "a", slot_state::ready, "act", 256, 9, true), box(2, "a", slot_state::stem, "", 256, 0, true),
                box(3, "a", slot_state::paused, "old", 256, 1, true)}};
  auto a = allocate(v, need("act"), mfm);
  CHECK(a.kind == allocation_kind::reject); // not warm, not the stem cell, and nothing to evict
  CHECK(a.reason.find("leased") != std::string::npos);
  v.containers.push_back(box(4, "a", slot_state::ready, "other", 256, 50));
  v.agents[0].user_memory_mb = 1024;
  a = allocate(v, need("act"), mfm);
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.victims == ids{4}); // the leased ones are older, yet only the unleased one goes
  v.containers[0].leased = false;
  CHECK(allocate(v, need("act"), mfm).container == 1);
}

TEST_CASE("fleet: removing containers are neither used nor counted") {
  fleet_view v{{agent("a", 512)},
               {box(1, "a", slot_state::removing, "act", 256, 9), box(2, "a", slot_state::removing, "", 256)}};
  CHECK(free_memory(v, "a") == 512);
  auto a = allocate(v, need("act"), mfm); // neither the warm container nor the stem cell (both going)
  CHECK(a.kind == allocation_kind::create);
  a = allocate(v, need("act", 512), mfm); // and their memory is free already
  CHECK(a.kind == allocation_kind::create);
  CHECK(a.agent == "a");
}

TEST_CASE("fleet: free_memory subtracts the agent's containers that are not removing") {
  fleet_view v{{agent("a", 1024), agent("b", 2048)},
               {box(1, "a", slot_state::busy, "x", 256), box(2, "a", slot_state::starting, "x", 128),
                box(3, "a", slot_state::removing, "x", 512), box(4, "b", slot_state::ready, "x", 1024),
                box(5, "a", slot_state::paused, "y", 64, 0, true)}};
  CHECK(free_memory(v, "a") == 1024 - 256 - 128 - 64);
  CHECK(free_memory(v, "b") == 1024);
  CHECK(free_memory(v, "nobody") == 0);
  v.containers.push_back(box(6, "a", slot_state::busy, "z", 1024)); // an agent can be overcommitted
  CHECK(free_memory(v, "a") == 1024 - 256 - 128 - 64 - 1024);
}

TEST_CASE("fleet: unhealthy unresponsive and offline agents are skipped for every kind") {
  for (auto sick : {agent_health::unhealthy, agent_health::unresponsive, agent_health::offline}) {
    CAPTURE(to_string(sick));
    // the sick agent is bigger and holds the warm container, a stem cell and old idle ones
    fleet_view v{{agent("sick", 8192, sick), agent("well", 512)},
                 {box(1, "sick", slot_state::ready, "act", 256, 9), stem(2, "sick"),
                  box(3, "sick", slot_state::ready, "old", 256, 1), box(4, "well", slot_state::ready, "mid", 256, 5)}};
    for (auto choice : {mfm, hh}) {
      auto a = allocate(v, need("act"), choice); // warm on sick: skipped; well has room
      CHECK(a.kind == allocation_kind::create);
      CHECK(a.agent == "well");
      a = allocate(v, need("act", 512), choice); // well is full: evict there, not on sick
      REQUIRE(a.kind == allocation_kind::evict_and_create);
      CHECK(a.agent == "well");
      CHECK(a.victims == ids{4});
      a = allocate(v, need("act", 1024), choice); // only sick is big enough
      CHECK(a.kind == allocation_kind::reject);
    }
    v.agents.pop_back();
    auto a = allocate(v, need("act"), mfm);
    CHECK(a.kind == allocation_kind::reject);
    CHECK(a.reason == "no healthy agent is registered");
    v.agents[0].health = agent_health::healthy; // the same view with the agent healthy again
    a = allocate(v, need("act"), mfm);
    CHECK(a.kind == allocation_kind::warm);
    CHECK(a.agent == "sick");
  }
}

TEST_CASE("fleet: most_free_memory creates on the freest agent and breaks ties by name") {
  fleet_view v{{agent("c", 2048), agent("b", 2048), agent("a", 1024), agent("d", 4096)},
               {box(1, "d", slot_state::busy, "x", 3072), box(2, "c", slot_state::busy, "x", 256)}};
  // free: a 1024, b 2048, c 1792, d 1024
  auto a = allocate(v, need("act"), mfm);
  CHECK(a.kind == allocation_kind::create);
  CHECK(a.agent == "b");
  v.containers[1].state = slot_state::removing; // c is as free as b now: the name decides
  CHECK(allocate(v, need("act"), mfm).agent == "b");
  std::reverse(v.agents.begin(), v.agents.end()); // and not the order of the view
  CHECK(allocate(v, need("act"), mfm).agent == "b");
  for (auto& x : v.agents)
    if (x.name == "c")
      x.user_memory_mb = 2049; // c is the freest by 1 MB
  CHECK(allocate(v, need("act"), mfm).agent == "c");
}

TEST_CASE("fleet: stable_hash is FNV-1a 64") {
  CHECK(stable_hash("") == 0xcbf29ce484222325ull);
  CHECK(stable_hash("a") == 0xaf63dc4c8601ec8cull);
  CHECK(stable_hash("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("fleet: home_hash is deterministic and puts an action on its home") {
  fleet_view v{{agent("d"), agent("b"), agent("a"), agent("c")}, {}};
  const std::vector<std::string> sorted{"a", "b", "c", "d"};
  for (std::string key : {"guest/hello", "guest/echo", "ns/pkg/fn", "x"}) {
    CAPTURE(key);
    auto a = allocate(v, need(key), hh);
    REQUIRE(a.kind == allocation_kind::create);
    CHECK(a.agent == sorted[stable_hash(key) % 4]); // the home is the hash over agents sorted by name
    for (int i = 0; i < 5; ++i)
      CHECK(allocate(v, need(key), hh).agent == a.agent);
    auto shuffled = v;
    std::rotate(shuffled.agents.begin(), shuffled.agents.begin() + 1, shuffled.agents.end());
    CHECK(allocate(shuffled, need(key), hh).agent == a.agent);
  }
  // a pinned example, so that a change of hash or of order shows here
  CHECK(allocate(v, need("guest/hello"), hh).agent == sorted[stable_hash("guest/hello") % 4]);
  CHECK(home_hash_order("guest/hello", 4) == home_hash_order("guest/hello", 4));
}

TEST_CASE("fleet: home_hash spreads 100 actions over 4 agents") {
  fleet_view v{{agent("a"), agent("b"), agent("c"), agent("d")}, {}};
  std::map<std::string, int> per_agent;
  for (int i = 0; i < 100; ++i) {
    auto a = allocate(v, need(std::string("guest/action-").append(std::to_string(i))), hh);
    REQUIRE(a.kind == allocation_kind::create);
    ++per_agent[a.agent];
  }
  REQUIRE(per_agent.size() == 4);
  for (auto& [name, n] : per_agent) {
    CAPTURE(name);
    CHECK(n >= 10); // roughly a quarter each, not one agent taking most
  }
  // most_free_memory on an empty fleet sends them all to the same (first) agent
  CHECK(allocate(v, need("guest/action-1"), mfm).agent == "a");
  CHECK(allocate(v, need("guest/action-2"), mfm).agent == "a");
}

TEST_CASE("fleet: home_hash steps to the next agent of its order when the home is full") {
  fleet_view v{{agent("a"), agent("b"), agent("c"), agent("d"), agent("e")}, {}};
  const std::vector<std::string> sorted{"a", "b", "c", "d", "e"};
  const std::string key = "guest/hello";
  auto order = home_hash_order(key, 5);
  REQUIRE(order.size() == 5);
  CHECK(order[0] == stable_hash(key) % 5);
  CHECK(order == std::vector<std::size_t>{4, 3, 2, 1, 0}); // pinned: home 4, step 4 (same on every machine)
  for (std::size_t i = 0; i < 5; ++i) {
    auto a = allocate(v, need(key), hh);
    REQUIRE(a.kind == allocation_kind::create);
    CHECK(a.agent == sorted[order[i]]);
    v.containers.push_back(box(100 + i, a.agent, slot_state::busy, "other", 1024)); // now full
  }
  CHECK(allocate(v, need(key), hh).kind == allocation_kind::reject);
  // a home that has room only for a smaller action is skipped for a bigger one
  v.containers.clear();
  v.containers.push_back(box(1, sorted[order[0]], slot_state::busy, "other", 768));
  CHECK(allocate(v, need(key, 256), hh).agent == sorted[order[0]]);
  CHECK(allocate(v, need(key, 512), hh).agent == sorted[order[1]]);
}

TEST_CASE("fleet: home_hash_order visits every agent once with a step coprime to n") {
  std::set<std::size_t> steps_seen;
  for (std::size_t n = 1; n <= 12; ++n)
    for (int i = 0; i < 50; ++i) {
      auto key = std::string("k").append(std::to_string(i));
      auto order = home_hash_order(key, n);
      auto sorted = order;
      std::sort(sorted.begin(), sorted.end());
      std::vector<std::size_t> all(n);
      for (std::size_t j = 0; j < n; ++j)
        all[j] = j;
      CHECK(sorted == all);
      if (n == 5)
        steps_seen.insert((order[1] + n - order[0]) % n);
    }
  CHECK(steps_seen.size() > 1); // the step comes from the hash, not always 1
  CHECK(home_hash_order("x", 0).empty());
}

TEST_CASE("fleet: eviction frees least recently used idle containers on one agent") {
  fleet_view v{{agent("a", 1280)},
               {box(1, "a", slot_state::ready, "r", 256, 40), box(2, "a", slot_state::paused, "p", 256, 10),
                stem(3, "a"), box(4, "a", slot_state::busy, "b", 256, 1), box(5, "a", slot_state::starting, "s", 256, 2)}};
  v.containers[2].last_used = 20;
  // full; the need is none of theirs: idle ones in LRU order are 2 (10), 3 (20), 1 (40)
  auto a = allocate(v, need("act", 256, "python:3"), mfm);
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.victims == ids{2});
  a = allocate(v, need("act", 512, "python:3"), mfm);
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.victims == ids{2, 3}); // a stem cell is idle too
  a = allocate(v, need("act", 768, "python:3"), hh);
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.victims == ids{2, 3, 1});
  CHECK(a.agent == "a");
  // busy and starting ones never go: 1024 would need them
  a = allocate(v, need("act", 1024, "python:3"), mfm);
  CHECK(a.kind == allocation_kind::reject);
  // free memory counts: with 256 free, 512 needs only the oldest
  v.agents[0].user_memory_mb = 1536;
  a = allocate(v, need("act", 512, "python:3"), mfm);
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.victims == ids{2});
}

TEST_CASE("fleet: eviction picks the agent needing the fewest victims then the most free memory then the name") {
  // a: two small old ones must go; b: one big newer one is enough
  fleet_view v{{agent("a", 1024), agent("b", 1024)},
               {box(1, "a", slot_state::ready, "x", 256, 1), box(2, "a", slot_state::ready, "y", 256, 2),
                box(3, "a", slot_state::busy, "z", 512, 3), box(4, "b", slot_state::ready, "w", 512, 50),
                box(5, "b", slot_state::busy, "v", 512, 60)}};
  auto a = allocate(v, need("act", 512), mfm);
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.agent == "b");
  CHECK(a.victims == ids{4});
  // one victim on both: the one with more free memory (a: 0 free, b: 128), though its victim is newer
  fleet_view f{{agent("a", 1024), agent("b", 1024)},
               {box(1, "a", slot_state::ready, "x", 512, 1), box(2, "a", slot_state::busy, "y", 512, 2),
                box(3, "b", slot_state::ready, "w", 512, 50), box(4, "b", slot_state::busy, "v", 384, 60),
                box(5, "c", slot_state::ready, "u", 4096, 0)}}; // on an unknown agent: ignored
  a = allocate(f, need("act", 512), mfm);
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.agent == "b");
  CHECK(a.victims == ids{3});
  // equal in count and free memory: the name
  fleet_view t{{agent("b", 512), agent("a", 512)},
               {box(1, "b", slot_state::ready, "x", 512, 1), box(2, "a", slot_state::ready, "y", 512, 99)}};
  a = allocate(t, need("act", 512), hh);
  REQUIRE(a.kind == allocation_kind::evict_and_create);
  CHECK(a.agent == "a");
  CHECK(a.victims == ids{2});
}

TEST_CASE("fleet: every reject reason") {
  SECTION("no agent at all") {
    auto a = allocate(fleet_view{}, need("act"), mfm);
    CHECK(a.kind == allocation_kind::reject);
    CHECK(a.reason == "no healthy agent is registered");
  }
  SECTION("agents but none healthy") {
    fleet_view v{{agent("a", 1024, agent_health::offline), agent("b", 1024, agent_health::unresponsive)}, {}};
    auto a = allocate(v, need("act"), hh);
    CHECK(a.kind == allocation_kind::reject);
    CHECK(a.reason == "no healthy agent is registered");
  }
  SECTION("more memory than any healthy agent has in total") {
    fleet_view v{{agent("a", 1024), agent("b", 2048), agent("big", 8192, agent_health::unhealthy)}, {}};
    auto a = allocate(v, need("act", 4096), mfm);
    CHECK(a.kind == allocation_kind::reject);
    CHECK(a.agent.empty());
    CHECK(a.reason.find("4096 MB") != std::string::npos);
    CHECK(a.reason.find("2048 MB") != std::string::npos); // the largest healthy one, not the unhealthy one
    CHECK(a.reason.find("held") == std::string::npos);
  }
  SECTION("all memory held by leased or busy containers") {
    fleet_view v{{agent("a", 512), agent("b", 512)},
                 {box(1, "a", slot_state::busy, "x", 512), box(2, "b", slot_state::ready, "y", 256, 1, true),
                  box(3, "b", slot_state::ready, "z", 256, 1)}};
    auto a = allocate(v, need("act", 512), mfm);
    CHECK(a.kind == allocation_kind::reject);
    CHECK(a.reason.find("512 MB") != std::string::npos);
    CHECK(a.reason.find("held by leased, busy") != std::string::npos);
    CHECK(a.reason.find("largest") == std::string::npos);
    v.containers[1].leased = false; // b's two idle ones can go now
    a = allocate(v, need("act", 512), mfm);
    REQUIRE(a.kind == allocation_kind::evict_and_create);
    CHECK(a.agent == "b");
    CHECK(a.victims.size() == 2);
  }
}

TEST_CASE("fleet: names of health kinds and choices") {
  CHECK(std::string(to_string(agent_health::healthy)) == "healthy");
  CHECK(std::string(to_string(agent_health::unresponsive)) == "unresponsive");
  CHECK(std::string(to_string(allocation_kind::stem_cell)) == "stem-cell");
  CHECK(std::string(to_string(allocation_kind::evict_and_create)) == "evict-and-create");
  for (auto c : {mfm, hh}) {
    agent_choice out = c == mfm ? hh : mfm;
    CHECK(parse_agent_choice(to_string(c), out));
    CHECK(out == c);
  }
  CHECK(std::string(to_string(hh)) == "home-hash");
  agent_choice out = hh;
  CHECK(parse_agent_choice("most-free-memory", out));
  CHECK(out == mfm);
  CHECK_FALSE(parse_agent_choice("most_free_memory", out));
  CHECK_FALSE(parse_agent_choice("", out));
  CHECK_FALSE(parse_agent_choice("home-hash ", out));
  CHECK(out == mfm); // unchanged on failure
}
