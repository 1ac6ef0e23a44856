-- Records that an incident links a known error, as of one version of the
-- incident, and keeps each known error's set of incidents to match.
-- KEYS[1]: the hash incident -> "KE-id|version" of the last link recorded.
-- ARGV: 1 incident id, 2 known error id ('' for none), 3 the incident's
-- version after the change, 4 the prefix of the known errors' sets (same
-- hash tag as KEYS[1]). A version not newer than the one recorded is an
-- older change arriving late: it changes nothing, so concurrent relinks
-- end in the set of the incident's last known error, whatever the order.
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local curKE, curVer = '', -1
if cur then
  local sep = string.find(cur, '|', 1, true)
  curKE, curVer = string.sub(cur, 1, sep - 1), tonumber(string.sub(cur, sep + 1))
end
if tonumber(ARGV[3]) <= curVer then return 0 end
if curKE ~= '' and curKE ~= ARGV[2] then redis.call('SREM', ARGV[4] .. curKE, ARGV[1]) end
if ARGV[2] ~= '' then redis.call('SADD', ARGV[4] .. ARGV[2], ARGV[1]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
return 1
