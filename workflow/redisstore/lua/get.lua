-- KEYS: the incident hash, its actions, comments, surveys, history and
-- attachments.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'NOTFOUND'} end
return {'OK', {
  redis.call('HGETALL', KEYS[1]),
  redis.call('LRANGE', KEYS[2], 0, -1),
  redis.call('LRANGE', KEYS[3], 0, -1),
  redis.call('LRANGE', KEYS[4], 0, -1),
  history_entries(KEYS[5]),
  redis.call('LRANGE', KEYS[6], 0, -1),
}}
