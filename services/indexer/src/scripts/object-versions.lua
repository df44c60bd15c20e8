-- Object versions (@loupe/shared object-version.ts): 8-byte big-endian integers, larger = newer.
-- Functions shared by index-object.lua and delete-object.lua, prepended after KEY_MAP_LUA (u32);
-- they expect TAG and PAGE (PAGE_BYTES) to be set.

-- 8 bytes -> number (exact below 2^53); a missing or short value (never written) is version 0.
local function decodeVersion(s)
  if not s or #s < 8 then return 0 end
  return u32(string.sub(s, 1, 4)) * 4294967296 + u32(string.sub(s, 5, 8))
end

-- Page and byte offset of id's version (ShardKeys.versions, pageSlot(8, id)).
local function versionSlot(id)
  local per = math.floor(PAGE / 8)
  return TAG .. ':ver:' .. math.floor(id / per), (id % per) * 8
end

-- Version of the object indexed under id.
local function heldVersion(id)
  local page, at = versionSlot(id)
  return decodeVersion(redis.call('GETRANGE', page, at, at + 7))
end

-- Key of the record of a recent delete of key (ShardKeys.deletedKey).
local function deletedKey(key)
  return TAG .. ':gone:' .. key
end
