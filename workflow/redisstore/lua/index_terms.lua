-- Adds the search terms of several incidents of one shard (a batch's
-- registrations: CreateMany) to the shard's term indexes with one ZADD per
-- term bucket for all the incidents it gains, where create.lua's
-- search_index makes one per incident and term. Adding an incident to a
-- term again changes nothing, so a retry may repeat a call.
-- KEYS: 1 the shard's term dictionary, then the keys ARGV names by index.
-- ARGV[1]: {terms (the dictionary's new members), groups = {{key (KEYS
-- index of a term's bucket), list (KEYS index of that term's set of
-- buckets), bucket (the bucket's number), members ({seq, id, ...})}}}.
local a = cjson.decode(ARGV[1])
for _, g in ipairs(a.groups) do
  local bucket = KEYS[g.key]
  if redis.call('EXISTS', bucket) == 0 then redis.call('ZADD', KEYS[g.list], g.bucket, g.bucket) end
  redis.call('ZADD', bucket, unpack(g.members))
end
-- One call per 500 terms: unpack has a limit.
for start = 1, #a.terms, 500 do
  local dict = {'ZADD', KEYS[1]}
  for i = start, math.min(start + 499, #a.terms) do
    dict[#dict + 1] = 0; dict[#dict + 1] = a.terms[i]
  end
  redis.call(unpack(dict))
end
return 'OK'
