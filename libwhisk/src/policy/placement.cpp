#include "whisk/policy/placement.hpp"

#include <algorithm>

namespace whisk::policy {

const char* to_string(slot_state s) {
  switch (s) {
    case slot_state::starting: return "starting";
    case slot_state::stem: return "stem";
    case slot_state::busy: return "busy";
    case slot_state::ready: return "ready";
    case slot_state::paused: return "paused";
    case slot_state::removing: return "removing";
  }
  return "?";
}

pool_view view_of(const std::vector<container_info>& pool) {
  pool_view out;
  out.reserve(pool.size());
  for (auto& c : pool)
    out.push_back(&c);
  return out;
}

std::int64_t memory_in_use(const pool_view& pool) {
  std::int64_t sum = 0;
  for (auto* c : pool)
    if (c->state != slot_state::removing)
      sum += c->memory_mb;
  return sum;
}

std::int64_t memory_in_use(const std::vector<container_info>& pool) { return memory_in_use(view_of(pool)); }

std::vector<std::uint64_t> pick_victims(const pool_view& pool, std::int64_t need_mb, std::int64_t free_mb) {
  std::vector<const container_info*> idle;
  for (auto* c : pool)
    if ((c->state == slot_state::ready || c->state == slot_state::paused) && c->active == 0)
      idle.push_back(c);
  std::sort(idle.begin(), idle.end(), [](auto* a, auto* b) { return a->last_used < b->last_used; });
  std::vector<std::uint64_t> victims;
  for (auto* c : idle) {
    if (free_mb >= need_mb)
      break;
    victims.push_back(c->id);
    free_mb += c->memory_mb;
  }
  if (free_mb < need_mb)
    victims.clear();
  return victims;
}

std::vector<std::uint64_t> pick_victims(const std::vector<container_info>& pool, std::int64_t need_mb, std::int64_t free_mb) {
  return pick_victims(view_of(pool), need_mb, free_mb);
}

placement schedule(const std::vector<container_info>& pool, const run_need& need, std::int64_t user_memory_mb,
                   const victim_picker& pick) {
  auto all = view_of(pool);
  return place(all, need, user_memory_mb, [&] { return user_memory_mb - memory_in_use(all); }, pick);
}

placement place(const pool_view& pool, const run_need& need, std::int64_t user_memory_mb,
                const std::function<std::int64_t()>& free_memory, const victim_picker& pick) {
  // 1. a warm container of this action with room for one more run; busy ones first so
  //    that concurrent actions pack, then the most recently used ready one.
  const container_info* best = nullptr;
  auto rank = [](const container_info& c) { return c.state == slot_state::busy || c.state == slot_state::starting ? 1 : 0; };
  for (auto* cp : pool) {
    auto& c = *cp;
    bool usable = c.state == slot_state::ready || c.state == slot_state::busy || c.state == slot_state::starting;
    if (!usable || c.action_key != need.action_key || c.active >= c.concurrency)
      continue;
    if (!best || rank(c) > rank(*best) || (rank(c) == rank(*best) && c.last_used > best->last_used))
      best = &c;
  }
  if (best)
    return {placement_kind::warm, best->id, {}};
  // 2. a paused container of this action
  for (auto* cp : pool) {
    auto& c = *cp;
    if (c.state == slot_state::paused && c.action_key == need.action_key && c.active < c.concurrency)
      return {placement_kind::resume, c.id, {}};
  }
  // 3. a stem cell of the kind and memory
  for (auto* cp : pool) {
    auto& c = *cp;
    if (c.state == slot_state::stem && c.action_key.empty() && c.kind == need.kind && c.memory_mb == need.memory_mb)
      return {placement_kind::stem_cell, c.id, {}};
  }
  // 4. a new container within the user memory
  auto free_mb = free_memory();
  if (need.memory_mb <= free_mb)
    return {placement_kind::create, 0, {}};
  // 5. the node is full: if this action has a container that is busy or starting, wait
  //    for it (it frees in a moment) rather than evict another action's warm container,
  //    which would only cost that action a cold start next (thrashing).
  for (auto* cp : pool) {
    auto& c = *cp;
    if (c.action_key == need.action_key && (c.state == slot_state::busy || c.state == slot_state::starting))
      return {placement_kind::wait, 0, {}};
  }
  // 6. make room by removing idle containers
  if (need.memory_mb <= user_memory_mb) {
    auto victims = pick ? pick(pool, need.memory_mb, free_mb) : pick_victims(pool, need.memory_mb, free_mb);
    if (!victims.empty())
      return {placement_kind::evict_and_create, 0, std::move(victims)};
  }
  return {placement_kind::wait, 0, {}};
}

std::vector<stem_cell_config> missing_stem_cells(const std::vector<container_info>& pool,
                                                 const std::vector<stem_cell_config>& wanted, std::int64_t user_memory_mb) {
  return missing_stem_cells(view_of(pool), wanted, user_memory_mb);
}

std::vector<stem_cell_config> missing_stem_cells(const pool_view& pool, const std::vector<stem_cell_config>& wanted,
                                                 std::int64_t user_memory_mb) {
  std::vector<stem_cell_config> out;
  auto free_mb = user_memory_mb - memory_in_use(pool);
  for (auto& w : wanted) {
    std::int64_t have = 0;
    for (auto* cp : pool) {
      auto& c = *cp;
      if ((c.state == slot_state::stem || c.state == slot_state::starting) && c.action_key.empty() && c.kind == w.kind &&
          c.memory_mb == w.memory_mb)
        ++have;
    }
    for (auto n = have; n < w.count && w.memory_mb <= free_mb; ++n) {
      out.push_back({w.kind, w.memory_mb, 1});
      free_mb -= w.memory_mb;
    }
  }
  return out;
}

} // namespace whisk::policy
