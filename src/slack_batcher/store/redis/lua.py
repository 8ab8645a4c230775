"""The Lua scripts of the Redis store: each one state change, atomic on the Redis server.

Key layout under the prefix ``P`` (every key of one channel ``c`` carries the hash tag
``{c}``; ``K`` below is ``P:{c}``):

* ``K:b:<id>``   batch hash: ``head`` (JSON), ``last``, ``seq``, ``part``, ``count``,
  ``size``, ``state`` (``open`` / ``claimed``), ``owner``
* ``K:bm:<id>``  list of message bodies (JSON), arrival order; ``K:bi:<id>`` their ids
* ``K:bp:<id>``  set of distinct grouping profiles: scope, author, type joined by U+001F
* ``K:open``     zset of open batch ids by opening sequence; ``K:seq`` the sequence;
  ``K:pt:<partition>`` the same per grouping partition, ``K:sc:<partition>␟<scope>`` per
  partition and scope (where a message looks for the batch it joins)
* ``K:ids``      hash pending message id → batch id (dedup)
* ``K:o:<id>``   outbox entry hash: ``entry`` (JSON), ``msgs``, ``attempts``, ``next``,
  ``error``, ``state``, ``owner``
* ``K:d:<id>``   dead letter (JSON)
* ``P:due``      zset batch id → due time (µs since the epoch); a claimed batch is listed
  at its lease's end, so a claim whose owner died comes due again
* ``P:batches`` / ``P:outbox`` / ``P:dead``  zsets id → write order (``P:order``)
* ``P:olease``   zset outbox id → lease end (µs) of entries an instance is delivering;
  ``P:ofree`` the entries nobody owns; ``P:inbox:<owner>`` entries handed to an instance
* ``K:dlv``      hash ``owner``, ``until``: the one instance delivering the channel
* ``P:where``    hash id (batch, outbox entry, dead letter) → channel
* ``P:pending``  pending message count; ``P:chans`` hash channel → pending batches
* ``P:t:<key>``  thread map entry
* ``P:d:<key>``  live digest header: ``{"gen": …, "n": …, <the record but its items>}``
  (JSON, expiring with the digest); ``P:di:<key>`` the list of its items (JSON), appended to
  while ``gen`` stays. An older store wrote the whole record there (``messages`` included,
  no ``gen``): still read, and rewritten in this layout by the next write.

The scripts build key names from ``ARGV[1]`` (the prefix) and the channel, so they run on
one Redis server (or a primary with replicas), not across Cluster slots.
"""

from __future__ import annotations

__all__ = ["LIBRARY", "SCRIPTS"]

LIBRARY = r"""
local P = ARGV[1]
local function K(c) return P .. ':{' .. c .. '}' end
local function order() return redis.call('INCR', P .. ':order') end

local function split(p)
  local a = string.find(p, '\31', 1, true)
  local b = string.find(p, '\31', a + 1, true)
  return string.sub(p, 1, a - 1), string.sub(p, a + 1, b - 1), string.sub(p, b + 1)
end

-- The index of a channel's open batches in one grouping partition sharing one scope.
local function scope_key(k, part, scope) return k .. ':sc:' .. part .. '\31' .. scope end

local function add_to(c, id, msg_id, body, profile, size, last)
  local k = K(c)
  local bk = k .. ':b:' .. id
  redis.call('RPUSH', k .. ':bm:' .. id, body)
  redis.call('RPUSH', k .. ':bi:' .. id, msg_id)
  if redis.call('SADD', k .. ':bp:' .. id, profile) == 1 then
    local f = redis.call('HMGET', bk, 'seq', 'part', 'state')
    if f[3] == 'open' then
      local scope = split(profile)
      redis.call('ZADD', scope_key(k, f[2], scope), f[1], id)
    end
  end
  redis.call('HSET', k .. ':ids', msg_id, id)
  redis.call('HINCRBY', bk, 'count', 1)
  redis.call('HINCRBY', bk, 'size', size)
  redis.call('HSET', bk, 'last', last)
  redis.call('INCR', P .. ':pending')
end

-- Take batch *id* out of the indexes messages are placed through (it takes no more).
local function unindex(c, id)
  local k = K(c)
  local part = redis.call('HGET', k .. ':b:' .. id, 'part')
  if part then
    for _, profile in ipairs(redis.call('SMEMBERS', k .. ':bp:' .. id)) do
      local scope = split(profile)
      redis.call('ZREM', scope_key(k, part, scope), id)
    end
    redis.call('ZREM', k .. ':pt:' .. part, id)
  end
  redis.call('ZREM', k .. ':open', id)
end

local function open_batch(c, id, head, last, due, part, msg_id, body, profile, size)
  local k = K(c)
  local seq = redis.call('INCR', k .. ':seq')
  redis.call('HSET', k .. ':b:' .. id, 'head', head, 'last', last, 'seq', seq,
    'state', 'open', 'owner', '', 'count', 0, 'size', 0, 'part', part)
  redis.call('ZADD', k .. ':open', seq, id)
  redis.call('ZADD', k .. ':pt:' .. part, seq, id)
  redis.call('ZADD', P .. ':due', due, id)
  redis.call('HSET', P .. ':where', id, c)
  redis.call('ZADD', P .. ':batches', order(), id)
  redis.call('HINCRBY', P .. ':chans', c, 1)
  add_to(c, id, msg_id, body, profile, size, last)
  return seq
end

-- Forget batch *id* of channel *c*; return its message bodies (arrival order).
local function remove_batch(c, id)
  local k = K(c)
  unindex(c, id)
  local bodies = redis.call('LRANGE', k .. ':bm:' .. id, 0, -1)
  local ids = redis.call('LRANGE', k .. ':bi:' .. id, 0, -1)
  for _, mid in ipairs(ids) do
    if redis.call('HGET', k .. ':ids', mid) == id then redis.call('HDEL', k .. ':ids', mid) end
  end
  redis.call('DEL', k .. ':b:' .. id, k .. ':bm:' .. id, k .. ':bi:' .. id, k .. ':bp:' .. id)
  redis.call('ZREM', P .. ':due', id)
  redis.call('ZREM', P .. ':batches', id)
  redis.call('HDEL', P .. ':where', id)
  redis.call('DECRBY', P .. ':pending', #ids)
  if redis.call('HINCRBY', P .. ':chans', c, -1) <= 0 then redis.call('HDEL', P .. ':chans', c) end
  return bodies
end

-- Who delivers channel *c*: its holder while the holder's lease (µs) runs, else *me*, who
-- takes the channel until *lease*. Returns the holder and its lease's end.
local function channel_holder(c, me, now, lease)
  local k = K(c) .. ':dlv'
  local f = redis.call('HMGET', k, 'owner', 'until')
  if f[1] and f[1] ~= me and tonumber(f[2]) > now then return f[1], f[2] end
  redis.call('HSET', k, 'owner', me, 'until', lease)
  return me, lease
end

-- Give outbox entry *id* of channel *c* to whoever delivers the channel (*me* if nobody
-- does): one instance delivers a channel at a time. Returns true when that is *me*;
-- otherwise the holder finds the entry in its inbox, with *before* (the owner that let it
-- go, or the holder itself for a fresh flush) after a unit separator.
local function assign(c, id, me, now, lease, before)
  local holder, till = channel_holder(c, me, now, lease)
  redis.call('HSET', K(c) .. ':o:' .. id, 'owner', holder)
  redis.call('ZREM', P .. ':ofree', id)
  redis.call('ZADD', P .. ':olease', till, id)
  if holder ~= me then
    redis.call('RPUSH', P .. ':inbox:' .. holder, id .. '\31' .. (before or holder))
  end
  return holder == me
end

-- Returns 1 when *owner* ('' for none) delivers the new entry, 2 when another instance does.
local function put_outbox(c, id, entry, attempts, state, owner, now, lease, bodies)
  local ok = K(c) .. ':o:' .. id
  redis.call('HSET', ok, 'entry', entry, 'msgs', '[' .. table.concat(bodies, ',') .. ']',
    'attempts', attempts, 'next', '', 'error', '', 'state', state, 'owner', '')
  local n = order()
  redis.call('ZADD', P .. ':outbox', n, id)
  redis.call('HSET', P .. ':where', id, c)
  if owner == '' then
    redis.call('ZADD', P .. ':ofree', n, id)
    return 1
  end
  if assign(c, id, owner, now, lease) then return 1 end
  return 2
end

local function remove_outbox(c, id)
  redis.call('DEL', K(c) .. ':o:' .. id)
  redis.call('ZREM', P .. ':outbox', id)
  redis.call('ZREM', P .. ':olease', id)
  redis.call('ZREM', P .. ':ofree', id)
  redis.call('HDEL', P .. ':where', id)
end

local function put_letter(c, id, letter)
  redis.call('SET', K(c) .. ':d:' .. id, letter)
  redis.call('ZADD', P .. ':dead', order(), id)
  redis.call('HSET', P .. ':where', id, c)
end

-- True when batch *bk* may be flushed by *owner* ('' = the single-process protocol).
local function may_flush(bk, owner)
  if redis.call('EXISTS', bk) == 0 then return false end
  if owner == '' then return true end
  return redis.call('HGET', bk, 'owner') == owner
end
"""

# ARGV: prefix, channel, id, head, last, due, part, msg_id, body, profile, size
_OPEN = r"""
local c, id = ARGV[2], ARGV[3]
if redis.call('EXISTS', K(c) .. ':b:' .. id) == 1 then
  -- A retry of this very call (its reply was lost) changes nothing.
  if redis.call('HGET', K(c) .. ':ids', ARGV[8]) == id then return 0 end
  return redis.error_reply('batch ' .. id .. ' already exists')
end
return open_batch(c, id, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10],
  ARGV[11])
"""

# ARGV: prefix, channel, id, msg_id, body, profile, size, last
_ADD = r"""
local c, id = ARGV[2], ARGV[3]
if redis.call('EXISTS', K(c) .. ':b:' .. id) == 0 then
  return redis.error_reply('no pending batch ' .. id)
end
if redis.call('HGET', K(c) .. ':ids', ARGV[4]) == id then return 0 end  -- a retry
add_to(c, id, ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
return 1
"""

# ARGV: prefix, channel, id, owner, entry ('' = none), attempts, state, now, lease
# Returns 0 when the batch is gone or claimed by another owner; else 1 when flushed and
# *owner* delivers the entry, 2 when the instance delivering the channel does.
_FLUSH = r"""
local c, id, owner = ARGV[2], ARGV[3], ARGV[4]
if not may_flush(K(c) .. ':b:' .. id, owner) then return 0 end
local bodies = remove_batch(c, id)
if ARGV[5] == '' then return 1 end
return put_outbox(c, id, ARGV[5], ARGV[6], ARGV[7], owner, tonumber(ARGV[8]), ARGV[9], bodies)
"""

# ARGV: prefix, channel, id, owner, letter id, letter JSON
_DEAD_BATCH = r"""
local c, id, owner = ARGV[2], ARGV[3], ARGV[4]
if not may_flush(K(c) .. ':b:' .. id, owner) then return 0 end
remove_batch(c, id)
put_letter(c, ARGV[5], ARGV[6])
return 1
"""

# ARGV: prefix, id, owner ('' = anyone)
_ACK = r"""
local id, owner = ARGV[2], ARGV[3]
local c = redis.call('HGET', P .. ':where', id)
if not c or redis.call('EXISTS', K(c) .. ':o:' .. id) == 0 then return 0 end
remove_outbox(c, id)
return 1
"""

# ARGV: prefix, id, attempts, next, error, state, owner ('' = anyone), lease
# Returns 1 when saved, 0 when the entry is gone, -1 when another owner holds it.
_UPDATE = r"""
local id, owner = ARGV[2], ARGV[7]
local c = redis.call('HGET', P .. ':where', id)
if not c then return 0 end
local ok = K(c) .. ':o:' .. id
if redis.call('EXISTS', ok) == 0 then return 0 end
if owner ~= '' then
  if redis.call('HGET', ok, 'owner') ~= owner then return -1 end
  redis.call('ZADD', P .. ':olease', ARGV[8], id)
end
redis.call('HSET', ok, 'attempts', ARGV[3], 'next', ARGV[4], 'error', ARGV[5], 'state', ARGV[6])
return 1
"""

# ARGV: prefix, id, letter id, letter JSON
_DEAD_OUTBOX = r"""
local id = ARGV[2]
local c = redis.call('HGET', P .. ':where', id)
if not c or redis.call('EXISTS', K(c) .. ':o:' .. id) == 0 then return 0 end
remove_outbox(c, id)
put_letter(c, ARGV[3], ARGV[4])
return 1
"""

# ARGV: prefix, letter id. Returns the letter JSON, or nil.
_REMOVE_LETTER = r"""
local id = ARGV[2]
local c = redis.call('HGET', P .. ':where', id)
if not c then return nil end
local key = K(c) .. ':d:' .. id
local letter = redis.call('GET', key)
if not letter then return nil end
redis.call('DEL', key)
redis.call('ZREM', P .. ':dead', id)
redis.call('HDEL', P .. ':where', id)
return letter
"""

# ARGV: prefix, header key, items key, header, px, expected header start ('' = replace the
#       items), items stored, item...
# Appends the items when the header still starts with the expected text (the generation)
# and holds that many items, else (returns 0) changes nothing; with '' replaces them.
# The items outlive the header by a minute, so a header never names items already gone.
_PUT_DIGEST = r"""
local hk, ik, expect = ARGV[2], ARGV[3], ARGV[6]
if expect ~= '' then
  local head = redis.call('GET', hk)
  if not head or string.sub(head, 1, #expect) ~= expect
      or redis.call('LLEN', ik) ~= tonumber(ARGV[7]) then
    return 0
  end
else
  redis.call('DEL', ik)
end
for i = 8, #ARGV, 500 do
  redis.call('RPUSH', ik, unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
local px = tonumber(ARGV[5])
redis.call('SET', hk, ARGV[4], 'PX', px)
redis.call('PEXPIRE', ik, px + 60000)
return 1
"""

SCRIPTS: dict[str, str] = {
    name: LIBRARY + body
    for name, body in {
        "open": _OPEN,
        "add": _ADD,
        "flush": _FLUSH,
        "dead_batch": _DEAD_BATCH,
        "ack": _ACK,
        "update": _UPDATE,
        "dead_outbox": _DEAD_OUTBOX,
        "remove_letter": _REMOVE_LETTER,
        "put_digest": _PUT_DIGEST,
    }.items()
}
