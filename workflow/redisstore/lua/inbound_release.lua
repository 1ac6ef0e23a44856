-- KEYS[1] the message's claim hash. ARGV: the outcome that may be released.
-- -1: no claim; 0: another outcome; 1: released.
local outcome = redis.call('HGET', KEYS[1], 'outcome')
if not outcome then return -1 end
if outcome ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
