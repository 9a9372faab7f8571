"""The Lua scripts that make each step of a distributed run atomic.

Redis runs a script as one step: no other client sees half of it. So a
worker that is killed has either handed a batch on completely (results added
to every output stream, inputs acknowledged and deleted, counters moved) or
not at all. Every script that writes first checks that the run is still
``running``, so nothing is written into a run that ended (its keys deleted).

Stream entries have a fixed layout: data is ``s <seqs> n <count> i <blob>``,
an end marker is ``e <replica>``. A link's counters hash holds ``n`` (items
added and not yet acknowledged: the backlog, lag plus pending) and ``pk``
(its peak).

- ``STEP``: hand a batch on and acknowledge it, then read the next entry.
  Checks that the caller still owns every input entry (an entry taken over by
  another worker is not handed on twice) and that no output is at capacity
  (all or nothing). Returns ``{"O", next}``, ``{"F", output}`` (full: nothing
  done), ``{"L"}`` (lost ownership) or ``{"S"}`` (the run is not running).
- ``ADD``: a source's batch, idempotent by batch number (a retried call after
  a lost reply does not add it twice); ``O``, ``F``, ``D`` (done before), ``S``.
- ``JOIN``: a zip input's batch: each item meets its partners (same sequence
  number) in the other inputs' buffers, or waits in its own; complete tuples
  go to the zip's internal link.
- ``FINISH``: mark a node finished once its input streams are empty (the
  caller has checked that they ended); what is left in a zip's buffers is
  counted as dropped.
- ``RECLAIM``: ``XAUTOCLAIM`` entries idle too long, with their delivery counts.
- ``KEEP``: reset the idle time of entries the caller still owns (``XCLAIM JUSTID``).
- ``END``, ``REGISTER``, ``EVENT``, ``FAIL``: end markers, a replica joining,
  a worker's event, a run's failure: only while the run is running.
"""

from __future__ import annotations

__all__ = [
    "ADD",
    "END",
    "EVENT",
    "FAIL",
    "FINISH",
    "JOIN",
    "KEEP",
    "RECLAIM",
    "REGISTER",
    "STEP",
]

_RUNNING = "if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return {'S'} end\n"

_OWNED = """
local function owned(stream, group, consumer, first, count)
  for i = first, first + count - 1 do
    if #redis.call('XPENDING', stream, group, ARGV[i], ARGV[i], 1, consumer) == 0 then
      return false
    end
  end
  return true
end
local function freed(link, wake, count, cap)
  -- acknowledged items leave the backlog; if the link was full, wake a producer
  local n = redis.call('HINCRBY', link, 'n', -count)
  if cap > 0 and n + count >= cap then
    redis.call('LPUSH', wake, 1)
    redis.call('LTRIM', wake, 0, 7)
  end
end
local function added(link, count)
  local n = redis.call('HINCRBY', link, 'n', count)
  if n > tonumber(redis.call('HGET', link, 'pk') or '0') then
    redis.call('HSET', link, 'pk', n)
  end
end
"""

# KEYS: meta, in stream, in link, in ends, node stats, in wake-up list,
#       then (stream, link) per output.
# ARGV: group, consumer, nids, ids..., acked items, in capacity, nends, ends..., nouts,
#       per output: capacity, nentries, per entry: count, seqs, blob;
#       received, emitted, failed, retried, in flight, read count.
STEP = (
    _RUNNING
    + _OWNED
    + """
local group, consumer = ARGV[1], ARGV[2]
local nids = tonumber(ARGV[3])
if not owned(KEYS[2], group, consumer, 4, nids) then return {'L'} end
local ids0 = 4
local a = 4 + nids
local acked, capin = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
local nends = tonumber(ARGV[a + 2])
local ends0 = a + 3
a = a + 3 + nends
local nouts = tonumber(ARGV[a])
a = a + 1
local outs0 = a
local k = 7
for o = 1, nouts do
  local cap, nent = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  if cap > 0 and nent > 0 and tonumber(redis.call('HGET', KEYS[k + 1], 'n') or '0') >= cap then
    return {'F', o}
  end
  a = a + 2 + 3 * nent
  k = k + 2
end
local stats0 = a
a, k = outs0, 7
for o = 1, nouts do
  local nent = tonumber(ARGV[a + 1])
  a = a + 2
  local total = 0
  for e = 1, nent do
    redis.call('XADD', KEYS[k], '*', 's', ARGV[a + 1], 'n', ARGV[a], 'i', ARGV[a + 2])
    total = total + tonumber(ARGV[a])
    a = a + 3
  end
  if total > 0 then added(KEYS[k + 1], total) end
  k = k + 2
end
if nids > 0 then
  redis.call('XACK', KEYS[2], group, unpack(ARGV, ids0, ids0 + nids - 1))
  redis.call('XDEL', KEYS[2], unpack(ARGV, ids0, ids0 + nids - 1))
end
if acked > 0 then freed(KEYS[3], KEYS[6], acked, capin) end
if nends > 0 then redis.call('SADD', KEYS[4], unpack(ARGV, ends0, ends0 + nends - 1)) end
local names = {'received', 'emitted', 'failed', 'retried'}
for s = 1, 4 do
  local v = tonumber(ARGV[stats0 + s - 1])
  if v ~= 0 then redis.call('HINCRBY', KEYS[5], names[s], v) end
end
local inflight = tonumber(ARGV[stats0 + 4])
if inflight > tonumber(redis.call('HGET', KEYS[5], 'peak_in_flight') or '0') then
  redis.call('HSET', KEYS[5], 'peak_in_flight', inflight)
end
local rc = tonumber(ARGV[stats0 + 5])
if rc > 0 then
  return {'O', redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', rc, 'STREAMS', KEYS[2], '>')}
end
return {'O'}
"""
)

# KEYS: meta, stream, link.  ARGV: capacity, producer, batch number, count, seqs, blob.
ADD = (
    _RUNNING.replace("{'S'}", "'S'")
    + _OWNED
    + """
local field = 'b:' .. ARGV[2]
if tonumber(ARGV[3]) <= tonumber(redis.call('HGET', KEYS[3], field) or '-1') then return 'D' end
local cap = tonumber(ARGV[1])
if cap > 0 and tonumber(redis.call('HGET', KEYS[3], 'n') or '0') >= cap then return 'F' end
redis.call('XADD', KEYS[2], '*', 's', ARGV[5], 'n', ARGV[4], 'i', ARGV[6])
added(KEYS[3], tonumber(ARGV[4]))
redis.call('HSET', KEYS[3], field, ARGV[3])
return 'O'
"""
)

# KEYS: meta, in stream, in ends, joined stream, joined link,
#       then the k buffers, the k input links, the k inputs' wake-up lists.
# ARGV: group, consumer, input (1-based), k, capacity (of the joined link and of each
#       input), nids, ids..., nends, ends..., nitems, per item: seq, blob.
JOIN = (
    _RUNNING
    + _OWNED
    + """
local group, consumer = ARGV[1], ARGV[2]
local me, k, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local nids = tonumber(ARGV[6])
if not owned(KEYS[2], group, consumer, 7, nids) then return {'L'} end
if cap > 0 and tonumber(redis.call('HGET', KEYS[5], 'n') or '0') >= cap then return {'F', 1} end
local ids0 = 7
local a = 7 + nids
local nends = tonumber(ARGV[a])
local ends0 = a + 1
a = a + 1 + nends
local nitems = tonumber(ARGV[a])
a = a + 1
local seqs, parts, decr = {}, {}, {}
for j = 1, k do decr[j] = 0 end
for i = 1, nitems do
  local seq, blob = ARGV[a], ARGV[a + 1]
  a = a + 2
  local found, complete = {}, true
  for j = 1, k do
    if j ~= me then
      local v = redis.call('HGET', KEYS[5 + j], seq)
      if not v then complete = false break end
      found[j] = v
    end
  end
  if complete then
    found[me] = blob
    for j = 1, k do
      if j ~= me then redis.call('HDEL', KEYS[5 + j], seq) end
      decr[j] = decr[j] + 1
      parts[#parts + 1] = string.len(found[j]) .. ':' .. found[j]
    end
    seqs[#seqs + 1] = seq
  else
    redis.call('HSET', KEYS[5 + me], seq, blob)
  end
end
if #seqs > 0 then
  redis.call('XADD', KEYS[4], '*', 's', table.concat(seqs, ','), 'n', #seqs, 'i', table.concat(parts))
  added(KEYS[5], #seqs)
end
for j = 1, k do
  if decr[j] > 0 then freed(KEYS[5 + k + j], KEYS[5 + 2 * k + j], decr[j], cap) end
end
if nids > 0 then
  redis.call('XACK', KEYS[2], group, unpack(ARGV, ids0, ids0 + nids - 1))
  redis.call('XDEL', KEYS[2], unpack(ARGV, ids0, ids0 + nids - 1))
end
if nends > 0 then redis.call('SADD', KEYS[3], unpack(ARGV, ends0, ends0 + nends - 1)) end
return {'O', #seqs}
"""
)

# KEYS: meta, fin, node stats, the node's streams..., zip buffers..., zip input links...
# ARGV: node, now (ms), number of streams, number of buffers.
FINISH = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return -2 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
local ns, nb = tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 4, 3 + ns do
  if redis.call('XLEN', KEYS[i]) > 0 then return -1 end
end
local dropped = 0
for i = 4 + ns, 3 + ns + nb do
  dropped = dropped + redis.call('HLEN', KEYS[i])
  redis.call('DEL', KEYS[i])
end
for i = 4 + ns + nb, 3 + ns + 2 * nb do redis.call('HSET', KEYS[i], 'n', 0) end
if dropped > 0 then redis.call('HINCRBY', KEYS[3], 'dropped', dropped) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

# KEYS: stream.  ARGV: group, consumer, min idle (ms), start id, count.
RECLAIM = """
local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local counts = {}
for i, e in ipairs(r[2]) do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
  counts[i] = (p[1] and p[1][4]) or 0
end
return {r[1], r[2], counts}
"""

# KEYS: stream.  ARGV: group, consumer, ids...
KEEP = """
local n = 0
for i = 3, #ARGV do
  if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2]) > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    n = n + 1
  end
end
return n
"""

# KEYS: meta, replicas hash, output streams...  ARGV: replica, its ended mark.
END = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
for i = 3, #KEYS do redis.call('XADD', KEYS[i], '*', 'e', ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

# KEYS: meta, replicas hash, node stats.  ARGV: replica, heartbeat key, now (ms).
REGISTER = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSETNX', KEYS[3], 'started', ARGV[3])
return 1
"""

# KEYS: meta, events.  ARGV: max length, then per event: kind, node, data (json).
EVENT = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
for i = 2, #ARGV, 3 do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'k', ARGV[i], 'n', ARGV[i + 1], 'd', ARGV[i + 2])
end
return 1
"""

# KEYS: meta.  ARGV: error (json).
FAIL = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[1])
return 1
"""
