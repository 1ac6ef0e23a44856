-- KEYS[1] incident hash. ARGV: Message-ID, how many to keep. Appends the
-- Message-ID to the incident's space-separated mail_ids once.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ids = redis.call('HGET', KEYS[1], 'mail_ids') or ''
for id in string.gmatch(ids, '%S+') do
  if id == ARGV[1] then return 0 end
end
local list = {}
for id in string.gmatch(ids .. ' ' .. ARGV[1], '%S+') do list[#list + 1] = id end
-- Keep the root (first) and the newest ones.
while #list > tonumber(ARGV[2]) do table.remove(list, 2) end
redis.call('HSET', KEYS[1], 'mail_ids', table.concat(list, ' '))
return 1
