-- KEYS[1] incident hash, KEYS[2] its attachment refs, KEYS[3] its list of
-- attachments. ARGV: ref (the source message), then for each attachment its
-- JSON description and its content. Idempotent per ref, so a message
-- processed again after a crash adds its files once. An attachment's
-- content key carries the index this call assigns, so it is built here from
-- KEYS[1] (same hash tag).
local inc = KEYS[1]
if redis.call('EXISTS', inc) == 0 then return -1 end
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do
  local index = redis.call('LLEN', KEYS[3])
  local doc = cjson.decode(ARGV[i])
  doc.index = index
  redis.call('RPUSH', KEYS[3], cjson.encode(doc))
  redis.call('SET', inc .. ':att:' .. index, ARGV[i + 1])
end
return 1
