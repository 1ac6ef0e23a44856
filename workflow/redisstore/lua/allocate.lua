-- KEYS[1] the incident counter, KEYS[2] (when the report has a key) that
-- key's claim. ARGV: claim ttl seconds, '1' to move a claim whose number
-- was taken. Returns the number to create: the claim's when the report was
-- registered before, else a fresh one, which the claim then keeps. One
-- script, so a keyed report costs one round trip here, not two.
local claim = KEYS[2]
if claim and ARGV[2] ~= '1' then
  local prev = redis.call('GET', claim)
  if prev then return tonumber(prev) end
end
local n = redis.call('INCR', KEYS[1])
if claim then redis.call('SET', claim, n, 'EX', ARGV[1]) end
return n
