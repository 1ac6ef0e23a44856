-- KEYS[1] the channel's outbox queue, KEYS[2] the message hash, KEYS[3] the
-- incident hash. ARGV: message id, at, channel, kind. Idempotent: only the
-- first call records the delivery in the incident's history. Change notices
-- go to agents, not to the reporter: they are not history.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('DEL', KEYS[2])
  if ARGV[4] ~= 'change' then
    history(KEYS[3], ARGV[2], 'intakebot', 'notified', '', '', ARGV[4], ARGV[3])
  end
end
return 1
