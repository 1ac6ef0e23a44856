-- Moves one term's index of the former layout (one sorted set, id ->
-- incident number) into buckets (search.go). KEYS: 1 the former index, 2
-- the term's set of buckets. ARGV[1]: the numbers one bucket spans. The
-- buckets are named from KEYS[2] (same hash tag, same slot). Moving twice
-- moves nothing: the former index is gone after the first.
local span = tonumber(ARGV[1])
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  local b = math.floor(tonumber(all[i + 1]) / span)
  redis.call('ZADD', KEYS[2] .. ':' .. b, all[i + 1], all[i])
  redis.call('ZADD', KEYS[2], b, b)
end
redis.call('DEL', KEYS[1])
return #all / 2
