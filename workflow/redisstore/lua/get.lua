-- KEYS[1] incident hash.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOTFOUND'} end
return {'OK', snapshot(KEYS[1])}
