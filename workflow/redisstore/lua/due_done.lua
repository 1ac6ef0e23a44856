-- KEYS[1] the shard's due set. ARGV: id, claim score, next due ms ('' for
-- nothing more). Only if the incident did not change meanwhile (its score is
-- still our claim's): a change sets it due at once, and that must stand.
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
