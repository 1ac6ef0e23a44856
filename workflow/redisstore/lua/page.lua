-- One shard's part of a filtered page, newest first (list.go). KEYS: the
-- index sorted sets of the filter, group after group (an incident matches
-- a group when it is in any of the group's sets: a search word's stems
-- and, for the last word, the terms it starts), then one scratch key per
-- group and one for the result (same shard). ARGV: max score ('+inf' or
-- '(N'), limit, budget, the numbers one bucket of a term's index spans,
-- then for each group the number of its sets and whether they are term
-- indexes (1) or plain sorted sets (0). A term's index is the set of its
-- buckets, each bucket KEY:B a sorted set like the others (search.go):
-- its keys are named from the term's (same hash tag, same slot).
--
-- The cheap way first: walk the smallest group newest first and keep the
-- ids present in every other group; the work is bounded by the page, not
-- by the number of incidents. When budget candidates were read without
-- filling the page (filters that rarely meet), Redis intersects the sets
-- instead (ZUNIONSTORE/ZINTERSTORE into the scratch keys, removed at the
-- end), which costs the smallest group's size, never a full read.
local max, limit, budget, span = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local groups, bucketed, k = {}, {}, 1
for g = 5, #ARGV, 2 do
  local keys = {}
  for _ = 1, tonumber(ARGV[g]) do keys[#keys + 1] = KEYS[k]; k = k + 1 end
  groups[#groups + 1] = keys
  bucketed[#groups] = ARGV[g + 1] == '1'
end
local scratch = k

-- sets is a group's sorted sets: its keys, or their buckets.
local function sets(g)
  if not bucketed[g] then return groups[g] end
  local out = {}
  for _, key in ipairs(groups[g]) do
    for _, b in ipairs(redis.call('ZRANGE', key, 0, -1)) do out[#out + 1] = key .. ':' .. b end
  end
  return out
end

-- range is up to n entries of one set of group g below from ('+inf' or
-- '(N'), newest first, with their scores; a term's buckets are read from
-- the one that holds from down.
local function range(g, key, from, n)
  if not bucketed[g] then return redis.call('ZREVRANGEBYSCORE', key, from, '-inf', 'WITHSCORES', 'LIMIT', 0, n) end
  local top = '+inf'
  if from ~= '+inf' then top = math.floor(tonumber(string.sub(from, 2)) / span) end
  local out = {}
  for _, b in ipairs(redis.call('ZREVRANGEBYSCORE', key, top, '-inf')) do
    local got = redis.call('ZREVRANGEBYSCORE', key .. ':' .. b, from, '-inf', 'WITHSCORES', 'LIMIT', 0, n - #out / 2)
    for _, v in ipairs(got) do out[#out + 1] = v end
    if #out >= 2 * n then break end
  end
  return out
end

local best, bestCard
for g in ipairs(groups) do
  local n = 0
  for _, key in ipairs(sets(g)) do n = n + redis.call('ZCARD', key) end
  if n == 0 then return {} end
  if not bestCard or n < bestCard then best, bestCard = g, n end
end

-- member: is id (number seq) in a set of group g?
local function member(g, id, seq)
  for _, key in ipairs(groups[g]) do
    if bucketed[g] then key = key .. ':' .. math.floor(seq / span) end
    if redis.call('ZSCORE', key, id) then return true end
  end
  return false
end

-- Each set of the smallest group gives its newest matches; the page is
-- the newest of them all. Each batch starts below the last score seen
-- (numbers are unique), so the walk costs what it reads.
local found, seen, read, batch = {}, {}, 0, math.max(limit * 2, 64)
local walked = true
for _, key in ipairs(groups[best]) do
  local from, n = max, 0
  while n < limit do
    local got = range(best, key, from, batch)
    if #got == 0 then break end
    for i = 1, #got, 2 do
      local id = got[i]
      read = read + 1
      -- Found through an earlier set of the group: it counts for this
      -- set's walk too (a group's sets mostly hold the same ids).
      local keep = seen[id]
      if not keep then
        keep = true
        for g = 1, #groups do
          if not keep then break end
          if g ~= best then keep = member(g, id, tonumber(got[i + 1])) end
        end
        if keep then
          seen[id] = true
          -- The score as Redis gave it: a corrupt one reaches Go as it is.
          found[#found + 1] = {id, got[i + 1], tonumber(got[i + 1])}
        end
      end
      if keep then
        n = n + 1
        if n >= limit then break end
      end
    end
    if n < limit and read >= budget then walked = false; break end
    from = '(' .. got[#got]
  end
  if not walked then break end
end

local out = {}
if walked then
  table.sort(found, function(x, y) return x[3] > y[3] end)
  for i = 1, math.min(limit, #found) do
    out[#out + 1] = found[i][1]; out[#out + 1] = found[i][2]
  end
  return out
end

-- (unpack spreads only as the last argument: each call's list is built;
-- a union of many buckets is made 500 sets at a time, unpack has a limit.)
local function store(cmd, dest, keys)
  for from = 1, #keys, 500 do
    local args = {cmd, dest, 0}
    if from > 1 then args[#args + 1] = dest end
    for i = from, math.min(from + 499, #keys) do args[#args + 1] = keys[i] end
    args[3] = #args - 3
    -- MAX: an id's score is its number in every set.
    args[#args + 1] = 'AGGREGATE'; args[#args + 1] = 'MAX'
    redis.call(unpack(args))
  end
end
local inputs = {}
for g in ipairs(groups) do
  local keys = sets(g)
  if #keys == 1 then
    inputs[#inputs + 1] = keys[1]
  else
    local tmp = KEYS[scratch + g - 1]
    store('ZUNIONSTORE', tmp, keys)
    inputs[#inputs + 1] = tmp
  end
end
local result = KEYS[scratch + #groups]
store('ZINTERSTORE', result, inputs)
out = redis.call('ZREVRANGEBYSCORE', result, max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit)
for i = scratch, #KEYS do redis.call('DEL', KEYS[i]) end
return out
