-- KEYS: the index sorted sets to intersect (same shard). ARGV: max score
-- ('+inf' or '(N'), limit. Walks the smallest index newest first and keeps
-- the ids present in all others: work is bounded by that index, never by
-- the number of incidents.
local limit = tonumber(ARGV[2])
local primary, rest = KEYS[1], {}
local best = redis.call('ZCARD', primary)
for i = 2, #KEYS do
  local n = redis.call('ZCARD', KEYS[i])
  if n < best then
    rest[#rest + 1] = primary
    primary, best = KEYS[i], n
  else
    rest[#rest + 1] = KEYS[i]
  end
end
-- Each batch starts below the last score seen (numbers are unique), so the
-- walk costs what it reads, never a growing offset.
local out, max, batch = {}, ARGV[1], math.max(limit * 2, 64)
while true do
  local got = redis.call('ZREVRANGEBYSCORE', primary, max, '-inf', 'WITHSCORES', 'LIMIT', 0, batch)
  if #got == 0 then return out end
  for i = 1, #got, 2 do
    local keep = true
    for _, k in ipairs(rest) do
      if not redis.call('ZSCORE', k, got[i]) then keep = false; break end
    end
    if keep then
      out[#out + 1] = got[i]; out[#out + 1] = got[i + 1]
      if #out >= limit * 2 then return out end
    end
  end
  max = '(' .. got[#got]
end
