-- KEYS[1] the channel's outbox queue, KEYS[2] the message hash, KEYS[3] the
-- incident's history. ARGV: message id, then, when the delivery belongs in
-- the history (Go decides: change notices go to agents, not to the
-- reporter), the entry's at, actor, event, note, via. Idempotent: only the
-- first call records the delivery.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[2])
  if #ARGV > 1 then history(KEYS[3], ARGV[2], ARGV[3], ARGV[4], '', '', ARGV[5], ARGV[6]) end
end
return 1
