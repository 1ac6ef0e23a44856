-- KEYS[1] incident hash. ARGV: ref (the source message), then for each
-- attachment its JSON description and its content. Idempotent per ref, so
-- a message processed again after a crash adds its files once.
local inc = KEYS[1]
if redis.call('EXISTS', inc) == 0 then return -1 end
if redis.call('SADD', inc .. ':attrefs', ARGV[1]) == 0 then return 0 end
local list = inc .. ':attachments'
for i = 2, #ARGV, 2 do
  local index = redis.call('LLEN', list)
  local doc = cjson.decode(ARGV[i])
  doc.index = index
  redis.call('RPUSH', list, cjson.encode(doc))
  redis.call('SET', inc .. ':att:' .. index, ARGV[i + 1])
end
return 1
