#include "whisk/policy/fleet.hpp"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace whisk::policy {

const char* to_string(agent_health h) {
  switch (h) {
    case agent_health::healthy: return "healthy";
    case agent_health::unhealthy: return "unhealthy";
    case agent_health::unresponsive: return "unresponsive";
    case agent_health::offline: return "offline";
  }
  return "?";
}

const char* to_string(allocation_kind k) {
  switch (k) {
    case allocation_kind::warm: return "warm";
    case allocation_kind::stem_cell: return "stem-cell";
    case allocation_kind::create: return "create";
    case allocation_kind::evict_and_create: return "evict-and-create";
    case allocation_kind::reject: return "reject";
  }
  return "?";
}

const char* to_string(agent_choice c) {
  switch (c) {
    case agent_choice::most_free_memory: return "most-free-memory";
    case agent_choice::home_hash: return "home-hash";
  }
  return "?";
}

bool parse_agent_choice(std::string_view text, agent_choice& out) {
  for (auto c : {agent_choice::most_free_memory, agent_choice::home_hash})
    if (text == to_string(c)) {
      out = c;
      return true;
    }
  return false;
}

std::int64_t free_memory(const fleet_view& v, const std::string& agent) {
  std::int64_t free_mb = 0;
  for (auto& a : v.agents)
    if (a.name == agent) {
      free_mb = a.user_memory_mb;
      break;
    }
  for (auto& c : v.containers)
    if (c.agent == agent && c.state != slot_state::removing)
      free_mb -= c.memory_mb;
  return free_mb;
}

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

std::vector<std::size_t> home_hash_order(std::string_view action_key, std::size_t n) {
  std::vector<std::size_t> order;
  if (n == 0)
    return order;
  std::vector<std::size_t> steps; // every step coprime to n visits all n agents before repeating
  for (std::size_t s = 1; s <= n; ++s)
    if (std::gcd(s, n) == 1)
      steps.push_back(s);
  auto hash = stable_hash(action_key);
  // the upper half picks the step so that it does not follow the home (the lower bits)
  auto step = steps[(hash >> 32) % steps.size()];
  for (std::size_t i = 0, at = hash % n; i < n; ++i, at = (at + step) % n)
    order.push_back(at);
  return order;
}

namespace {

struct candidate {
  const fleet_agent* agent;
  std::int64_t free_mb;
};

allocation reject(std::string reason) {
  allocation a;
  a.reason = std::move(reason);
  return a;
}

bool idle(slot_state s) {
  return s == slot_state::ready || s == slot_state::paused || s == slot_state::stem;
}

} // namespace

allocation allocate(const fleet_view& v, const run_need& need, agent_choice choice) {
  // the healthy agents sorted by name (the order home_hash indexes and ties fall back to)
  std::unordered_map<std::string_view, std::int64_t> used;
  for (auto& c : v.containers)
    if (c.state != slot_state::removing)
      used[c.agent] += c.memory_mb;
  std::vector<candidate> healthy;
  for (auto& a : v.agents)
    if (a.health == agent_health::healthy)
      healthy.push_back({&a, a.user_memory_mb - used[a.name]});
  if (healthy.empty())
    return reject("no healthy agent is registered");
  std::sort(healthy.begin(), healthy.end(), [](auto& a, auto& b) { return a.agent->name < b.agent->name; });
  std::unordered_map<std::string_view, const candidate*> by_name;
  for (auto& h : healthy)
    by_name.emplace(h.agent->name, &h);
  auto agent_of = [&](const fleet_container& c) -> const candidate* {
    if (c.leased || c.state == slot_state::removing)
      return nullptr;
    auto it = by_name.find(c.agent);
    return it == by_name.end() ? nullptr : it->second;
  };

  // 1. a warm container of the action: ready before paused (no resume), then most recent
  const fleet_container* warm = nullptr;
  auto rank = [](const fleet_container& c) { return c.state == slot_state::ready ? 1 : 0; };
  for (auto& c : v.containers) {
    if ((c.state != slot_state::ready && c.state != slot_state::paused) || c.action_key != need.action_key || !agent_of(c))
      continue;
    if (!warm || rank(c) > rank(*warm) ||
        (rank(c) == rank(*warm) && (c.last_used > warm->last_used || (c.last_used == warm->last_used && c.id < warm->id))))
      warm = &c;
  }
  if (warm)
    return {allocation_kind::warm, warm->id, warm->agent, {}, {}};

  // 2. a stem cell of the kind and memory, on the agent with the most free memory
  const fleet_container* stem = nullptr;
  const candidate* stem_at = nullptr;
  for (auto& c : v.containers) {
    auto* at = agent_of(c);
    if (!at || c.state != slot_state::stem || !c.action_key.empty() || c.kind != need.kind || c.memory_mb != need.memory_mb)
      continue;
    bool better = !stem || at->free_mb > stem_at->free_mb ||
                  (at->free_mb == stem_at->free_mb &&
                   (at->agent->name < stem_at->agent->name || (at == stem_at && c.id < stem->id)));
    if (better) {
      stem = &c;
      stem_at = at;
    }
  }
  if (stem)
    return {allocation_kind::stem_cell, stem->id, stem->agent, {}, {}};

  // 3. a new container on an agent with room
  const candidate* room = nullptr;
  if (choice == agent_choice::most_free_memory) {
    for (auto& h : healthy) // sorted by name, so a tie keeps the first name
      if (h.free_mb >= need.memory_mb && (!room || h.free_mb > room->free_mb))
        room = &h;
  } else {
    for (auto i : home_hash_order(need.action_key, healthy.size()))
      if (healthy[i].free_mb >= need.memory_mb) {
        room = &healthy[i];
        break;
      }
  }
  if (room)
    return {allocation_kind::create, 0, room->agent->name, {}, {}};

  // 4. make room on one agent by removing its least recently used idle containers; the agent
  //    that loses the fewest warm containers, then the one with the most free memory
  const candidate* evict_at = nullptr;
  std::vector<std::uint64_t> victims;
  for (auto& h : healthy) {
    if (need.memory_mb > h.agent->user_memory_mb)
      continue;
    std::vector<container_info> pool;
    for (auto& c : v.containers) {
      if (c.agent != h.agent->name || !idle(c.state) || !agent_of(c))
        continue;
      container_info i;
      i.id = c.id;
      // pick_victims takes ready and paused ones; a stem cell is as idle as a ready container
      i.state = c.state == slot_state::stem ? slot_state::ready : c.state;
      i.memory_mb = c.memory_mb;
      i.last_used = c.last_used;
      pool.push_back(std::move(i));
    }
    auto picked = pick_victims(pool, need.memory_mb, h.free_mb);
    if (picked.empty())
      continue;
    if (!evict_at || picked.size() < victims.size() || (picked.size() == victims.size() && h.free_mb > evict_at->free_mb)) {
      evict_at = &h;
      victims = std::move(picked);
    }
  }
  if (evict_at)
    return {allocation_kind::evict_and_create, 0, evict_at->agent->name, std::move(victims), {}};

  // 5. no agent can take it
  std::int64_t largest = 0;
  for (auto& h : healthy)
    largest = std::max(largest, h.agent->user_memory_mb);
  auto mb = std::to_string(need.memory_mb) + " MB";
  if (need.memory_mb > largest)
    return reject("the action needs " + mb + " of memory but the largest healthy agent has " + std::to_string(largest) +
                  " MB in total; lower the action's memory limit or add a larger agent");
  return reject("no healthy agent has " + mb + " free and none can make room: its memory is held by leased, busy or "
                "starting containers; try again when one is released");
}

} // namespace whisk::policy
