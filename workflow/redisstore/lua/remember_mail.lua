-- KEYS[1] incident hash. ARGV: Message-ID ('' for none), how many to keep,
-- then the addresses on the mail (lower case). Each address becomes a
-- participant: a field 'p:ADDRESS' of the hash (issue 11: a set of its
-- own cost ~230 bytes of every incident; an incident stored before keeps
-- its set, which IsParticipant still reads). The Message-ID joins the
-- incident's space-separated mail_ids once.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #ARGV > 2 then
  local people = {'HSET', KEYS[1]}
  for i = 3, #ARGV do people[#people + 1] = 'p:' .. ARGV[i]; people[#people + 1] = '' end
  redis.call(unpack(people))
end
if ARGV[1] == '' then return 1 end
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
