"""Lua scripts for instances sharing one Redis: placing, claiming and leasing.

Key layout: see :mod:`._redis_lua`. A *claim* marks a batch being flushed by one instance
(``state`` ``claimed``, ``owner``): it leaves the channel's open batches (no message joins
it any more) and its ``P:due`` score becomes the claim's end, so if the owner dies the batch
comes due again and another instance claims it. An outbox entry's *lease* works the same
way through ``P:olease``.

A batch handed back to Python is a flat array: ``id, channel, head, last, seq, exp,
body...`` (``exp``: a sliding window's moved due time in µs, or empty).
"""

from __future__ import annotations

from .lua import LIBRARY

__all__ = ["SHARED_SCRIPTS"]

_CLAIMS = r"""
local function claim(c, id, owner, lease)
  local k = K(c)
  unindex(c, id)
  redis.call('HSET', k .. ':b:' .. id, 'state', 'claimed', 'owner', owner)
  redis.call('ZADD', P .. ':due', lease, id)
end

local function batch_data(c, id)
  local k = K(c)
  local f = redis.call('HMGET', k .. ':b:' .. id, 'head', 'last', 'seq', 'exp')
  local out = {id, c, f[1], f[2], f[3], f[4] or ''}
  for _, body in ipairs(redis.call('LRANGE', k .. ':bm:' .. id, 0, -1)) do
    out[#out + 1] = body
  end
  return out
end

-- True when batch *id* may be claimed at *now*: open, or claimed by an owner whose claim
-- has run out.
local function claimable(c, id, now)
  local state = redis.call('HGET', K(c) .. ':b:' .. id, 'state')
  if not state then return false end
  if state == 'open' then return true end
  local score = redis.call('ZSCORE', P .. ':due', id)
  return score ~= false and tonumber(score) <= now
end

"""

# ``place_message(A, unit, index)``: place one message. *A* holds the ``place`` script's
# ARGV (below); *unit* is nil, or the delivery unit being placed (``place_unit``): the
# message then joins the batch the unit's first message in its channel joined, when it has
# the same partition, and a trigger is held for the unit's end instead of claiming.
# Returns {'dup', batch id} | {'added', batch id, opened, due (µs) if opened else ''} |
#         {'flush', reason, batch...}
_PLACING = r"""
-- A unit: joined (channel -> batch id), owed (batch id -> {reason, last}), order (batch ids).
local function held(unit, c, id, reason, index)
  if unit.joined[c] == nil then unit.joined[c] = id end
  local owed = unit.owed[id]
  if owed == nil then
    unit.owed[id] = {reason = reason, last = index}
    unit.order[#unit.order + 1] = id
  else
    if owed.reason == nil then owed.reason = reason end
    owed.last = index
  end
end

local function place_message(A, unit, index)
  local c, mid = A[2], A[3]
  local k = K(c)
  local holder = redis.call('HGET', k .. ':ids', mid)
  if holder then return {'dup', holder} end
  local profile, part = A[5], A[6]
  local now, window, cap = tonumber(A[23]), tonumber(A[24]), tonumber(A[25])
  -- flush_leading: the first message of a channel-and-digest-key quiet for a whole window.
  local leading = false
  if A[26] == '1' then
    local qk = k .. ':quiet:' .. A[27]
    local last = redis.call('GET', qk)
    leading = (not last) or (now - tonumber(last) >= window)
    redis.call('SET', qk, A[23], 'PX', math.floor(window / 1000) + 60000)
  end
  local enabled, by_sim = A[14] == '1', A[15] == '1'
  local eps = 1e-9
  local threshold = tonumber(A[16]) - eps
  local ws, wa, wt = tonumber(A[19]), tonumber(A[20]), tonumber(A[21])
  local chosen = nil
  if enabled and unit then  -- the batch the delivery's first message in c joined, if it fits
    local joined = unit.joined[c]
    if joined and redis.call('HGET', k .. ':b:' .. joined, 'part') == part then
      chosen = joined
    end
  end
  if enabled and chosen == nil then
    local sc, au, ty = split(profile)
    local best = -1.0
    -- When the threshold needs the scope, only batches sharing it can be chosen (as in
    -- grouping.py); else any open batch of the partition.
    local candidates
    if by_sim and A[22] == '1' then
      candidates = redis.call('ZRANGE', scope_key(k, part, sc), 0, -1)
    else
      candidates = redis.call('ZRANGE', k .. ':pt:' .. part, 0, -1)
    end
    -- Opening order: on equal scores the batch opened first wins, as in grouping.py.
    for _, id in ipairs(candidates) do
      if not by_sim then chosen = id; break end
      local score = 0.0
      for _, other in ipairs(redis.call('SMEMBERS', k .. ':bp:' .. id)) do
        local s2, a2, t2 = split(other)
        local cur = (s2 == sc and ws or 0.0) + (a2 == au and wa or 0.0) + (t2 == ty and wt or 0.0)
        if cur > score then score = cur end
      end
      if score >= threshold and score > best + eps then chosen = id; best = score end
    end
  end
  local opened = '0'
  local bk = k .. ':b:' .. A[9]
  if chosen == nil then
    chosen = A[9]
    opened = '1'
    open_batch(c, chosen, A[10], A[8], A[11], part, mid, A[4], profile, A[7])
    redis.call('HSET', bk, 'created', A[23])
  else
    bk = k .. ':b:' .. chosen
    add_to(c, chosen, mid, A[4], profile, A[7], A[8])
    if cap > 0 then  -- a sliding window: the due time moves, up to cap after the opening
      local due = math.min(now + window, tonumber(redis.call('HGET', bk, 'created')) + cap)
      if due > tonumber(redis.call('ZSCORE', P .. ':due', chosen)) then
        redis.call('ZADD', P .. ':due', string.format('%d', due), chosen)
        redis.call('HSET', bk, 'exp', string.format('%d', due))
      end
    end
  end
  local count = tonumber(redis.call('HGET', bk, 'count'))
  local reason = nil
  if not enabled then
    reason = 'disabled'
  elseif count >= tonumber(A[12]) then
    reason = 'size'
  elseif A[13] == '1' then
    reason = 'urgent'
  elseif leading and count == 1 then
    reason = 'leading'
  end
  if unit then  -- the trigger waits for the delivery's last message (see held)
    held(unit, c, chosen, reason, index)
    reason = nil
  end
  -- The due time of a batch it opened: the caller's deadline timer may have to wake sooner.
  if reason == nil then return {'added', chosen, opened, opened == '1' and A[11] or ''} end
  claim(c, chosen, A[17], A[18])
  local out = {'flush', reason}
  for _, v in ipairs(batch_data(c, chosen)) do out[#out + 1] = v end
  return out
end

"""

# ARGV: prefix, channel, msg_id, body, profile, part, size, last, new_id, head, due,
#       max_size, urgent, enabled, by_similarity, threshold, owner, lease,
#       scope weight, author weight, type weight, scope required (1/0), now (µs),
#       window (µs), sliding cap (µs, 0: a fixed window), leading (1/0), quiet key
_PLACE = r"""
return place_message(ARGV, nil, 0)
"""

# ARGV: prefix, owner, lease, count, then *count* groups of ``place``'s ARGV after the
# prefix: one delivery's messages, placed as a unit (see :mod:`slack_batcher.core.units`).
# Then the batches a trigger asked for are claimed, each once, holding the whole delivery.
# Returns {{placed reply (dup / added) per message}, {{reason, index of its last, batch...}}}
_PLACE_UNIT = r"""
local n = tonumber(ARGV[4])
local width = (#ARGV - 4) / n
local unit = {joined = {}, owed = {}, order = {}}
local placed = {}
for i = 0, n - 1 do
  local A = {ARGV[1]}
  local base = 4 + i * width
  for j = 1, width do A[j + 1] = ARGV[base + j] end
  placed[i + 1] = place_message(A, unit, i)
end
local flushes = {}
for _, id in ipairs(unit.order) do
  local owed = unit.owed[id]
  if owed.reason ~= nil then
    local c = redis.call('HGET', P .. ':where', id)
    claim(c, id, ARGV[2], ARGV[3])
    local out = {owed.reason, owed.last}
    for _, v in ipairs(batch_data(c, id)) do out[#out + 1] = v end
    flushes[#flushes + 1] = out
  end
end
return {placed, flushes}
"""

# ARGV: prefix, now, owner, lease, limit. Claims due batches; returns a list of batches.
_CLAIM_DUE = r"""
local now = tonumber(ARGV[2])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':due', '-inf', now, 'LIMIT', 0, ARGV[5])) do
  local c = redis.call('HGET', P .. ':where', id)
  if c and redis.call('EXISTS', K(c) .. ':b:' .. id) == 1 then
    claim(c, id, ARGV[3], ARGV[4])
    out[#out + 1] = batch_data(c, id)
  else
    redis.call('ZREM', P .. ':due', id)
  end
end
return out
"""

# ARGV: prefix, now, owner, lease, id... Claims the named batches that are claimable.
_CLAIM_IDS = r"""
local now = tonumber(ARGV[2])
local out = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local c = redis.call('HGET', P .. ':where', id)
  if c and claimable(c, id, now) then
    claim(c, id, ARGV[3], ARGV[4])
    out[#out + 1] = batch_data(c, id)
  end
end
return out
"""

# ARGV: prefix, now, owner, lease, limit. Gives *owner* the outbox entries handed to it
# (its inbox) and leases it the entries nobody holds (free, or whose lease ran out), unless
# their channel is delivered by another live instance (they go to its inbox). Returns
# {id, previous owner, ...}.
_LEASE = r"""
local now, me, lease, limit = tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local out = {}
local inbox = P .. ':inbox:' .. me
for _, item in ipairs(redis.call('LRANGE', inbox, 0, -1)) do
  local cut = string.find(item, '\31', 1, true)
  local id, before = string.sub(item, 1, cut - 1), string.sub(item, cut + 1)
  local c = redis.call('HGET', P .. ':where', id)
  if c and redis.call('HGET', K(c) .. ':o:' .. id, 'owner') == me then
    redis.call('ZADD', P .. ':olease', lease, id)
    out[#out + 1] = id
    out[#out + 1] = before
  end
end
redis.call('DEL', inbox)
local ids = redis.call('ZRANGE', P .. ':ofree', 0, limit - 1)
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':olease', '-inf', now, 'LIMIT', 0, limit)) do
  ids[#ids + 1] = id
end
for _, id in ipairs(ids) do
  local c = redis.call('HGET', P .. ':where', id)
  local ok = c and (K(c) .. ':o:' .. id)
  if ok and redis.call('EXISTS', ok) == 1 then
    local before = redis.call('HGET', ok, 'owner')
    if assign(c, id, me, now, lease, before) then
      out[#out + 1] = id
      out[#out + 1] = before
    end
  else
    redis.call('ZREM', P .. ':ofree', id)
    redis.call('ZREM', P .. ':olease', id)
  end
end
return out
"""

# ARGV: prefix, owner, lease, id... Extends *owner*'s leases on these entries and on their
# channels; returns the ids it lost.
_RENEW = r"""
local owner, lease = ARGV[2], ARGV[3]
local lost = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local c = redis.call('HGET', P .. ':where', id)
  if c and redis.call('HGET', K(c) .. ':o:' .. id, 'owner') == owner then
    redis.call('ZADD', P .. ':olease', 'XX', lease, id)
    if redis.call('HGET', K(c) .. ':dlv', 'owner') == owner then
      redis.call('HSET', K(c) .. ':dlv', 'until', lease)
    end
  else
    lost[#lost + 1] = id
  end
end
return lost
"""

# ARGV: prefix, owner, id... Gives *owner*'s entries back to everyone (a clean stop).
_RELEASE = r"""
local owner = ARGV[2]
local n = 0
for i = 3, #ARGV do
  local id = ARGV[i]
  local c = redis.call('HGET', P .. ':where', id)
  local ok = c and (K(c) .. ':o:' .. id)
  if ok and redis.call('HGET', ok, 'owner') == owner then
    redis.call('HSET', ok, 'owner', '')
    redis.call('ZREM', P .. ':olease', id)
    redis.call('ZADD', P .. ':ofree', redis.call('ZSCORE', P .. ':outbox', id) or 0, id)
    if redis.call('HGET', K(c) .. ':dlv', 'owner') == owner then
      redis.call('DEL', K(c) .. ':dlv')
    end
    n = n + 1
  end
end
return n
"""

# ARGV: prefix, channel, now, channel rate, channel burst, workspace rate, workspace burst,
#       enabled. Token buckets as delivery/pacing.py's, kept in Redis: takes a post and
# returns 0, or returns the time (µs) to ask again.
_PACE = r"""
local c, now, enabled = ARGV[2], tonumber(ARGV[3]), ARGV[8] == '1'
local ck, wk = K(c) .. ':pace', P .. ':pace'
-- Times stay strings when written back: Lua would print a µs count with 14 digits only.
local function refill(key, rate, cap)
  local t = redis.call('HMGET', key, 'tokens', 'updated')
  local tokens = tonumber(t[1])
  if tokens == nil then return cap, ARGV[3] end
  local updated = tonumber(t[2])
  if now > updated then
    return math.min(cap, tokens + (now - updated) / 1e6 * rate), ARGV[3]
  end
  return tokens, t[2]
end
-- A whole token, not one short by float rounding (as Slack counts); the wait is rounded up
-- to the next µs, so a token is there when the caller asks again.
local function ready_at(tokens, rate)
  local missing = 1.0 - tokens
  if missing <= 0 then return now end
  return now + math.floor(missing / rate * 1e6) + 1
end
local ready = now
local blocked = tonumber(redis.call('HGET', ck, 'blocked') or '0')
if blocked > now then ready = blocked end
local crate, cburst = tonumber(ARGV[4]), tonumber(ARGV[5])
local wrate, wburst = tonumber(ARGV[6]), tonumber(ARGV[7])
local ct, cu, wt, wu
if enabled then
  ct, cu = refill(ck, crate, cburst)
  wt, wu = refill(wk, wrate, wburst)
  ready = math.max(ready, ready_at(ct, crate), ready_at(wt, wrate))
end
if ready > now then return ready end
if enabled then
  redis.call('HSET', ck, 'tokens', string.format('%.17g', ct - 1.0), 'updated', cu)
  redis.call('HSET', wk, 'tokens', string.format('%.17g', wt - 1.0), 'updated', wu)
  redis.call('PEXPIRE', ck, 3600000)
  redis.call('PEXPIRE', wk, 3600000)
end
return 0
"""

# ARGV: prefix, channel, until (µs). Blocks posts to the channel until then (Retry-After).
_PACE_BLOCK = r"""
local ck = K(ARGV[2]) .. ':pace'
local current = tonumber(redis.call('HGET', ck, 'blocked') or '0')
if tonumber(ARGV[3]) > current then redis.call('HSET', ck, 'blocked', ARGV[3]) end
redis.call('PEXPIRE', ck, 3600000)
return 1
"""

SHARED_SCRIPTS: dict[str, str] = {
    name: LIBRARY + _CLAIMS + body
    for name, body in {
        "place": _PLACING + _PLACE,
        "place_unit": _PLACING + _PLACE_UNIT,
        "claim_due": _CLAIM_DUE,
        "claim_ids": _CLAIM_IDS,
        "lease": _LEASE,
        "renew": _RENEW,
        "release": _RELEASE,
        "pace": _PACE,
        "pace_block": _PACE_BLOCK,
    }.items()
}
