package encoding

import (
	"encoding/binary"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
)

// A record's attribute keys are nearly always the same few constants of the
// program that logs, record after record, so a pooled state remembers what
// it worked out about each key it met lately: how the envelope places it,
// its hash for the repeated-key table, and the key already written out
// (escaped, quoted, with what follows it in the format). A hit skips the
// classification and the escaping check and costs one copy.
//
// Entries are found by the key's data pointer and length. An entry holds
// the key itself, so the garbage collector cannot free those bytes and
// hand their address to another string while the entry stands: an equal
// pointer and length mean equal contents, since Go strings are immutable.

// keyCacheSlots is the size of the open-addressed table, a power of two;
// it is emptied whenever keyCacheMax keys or keyArenaSize bytes are in it,
// so keys made afresh for every record never cost memory. They would cost
// time, each a miss that does the work of the uncached path and more, so a
// table that fills within keyChurn lookups per key it holds stops caching
// for keyBypass lookups: then a miss costs the uncached path and a
// counter.
const (
	keyCacheSlots = 128
	keyCacheMax   = keyCacheSlots / 2
	keyArenaSize  = 4096
	keyChurn      = 8
	keyBypass     = 8192
	// keyEncMax bounds one written-out key; a longer key is written the
	// slow way every time.
	keyEncMax = 128
)

type keyEntry struct {
	key   attribute.Key
	hash  uint32 // keyHash(key), for the repeated-key table
	off   uint16 // where the written-out key starts in the arena
	n     uint8  // its length; 0 marks an empty slot
	class uint8  // keyData, keyUID, keyContext, keyException or keyBody
	ctx   uint8  // for keyContext, the index in contextKeys
}

type keyCache struct {
	slots  [keyCacheSlots]keyEntry
	count  int
	arena  []byte // the written-out keys, at most keyArenaSize
	seen   int    // lookups since the table was last emptied
	bypass int    // lookups left to answer without caching
}

// hit returns k's entry when k is in its home slot, the common case, small
// enough to be inlined into the walk; miss does the rest. format decides
// what the written-out key holds: `"key":` for the envelope (with the
// exception name mapping applied), `{"key":"key","value":` for OTLP/JSON.
func (c *keyCache) hit(k attribute.Key) *keyEntry {
	c.seen++
	p := unsafe.StringData(string(k))
	e := &c.slots[keySlot(p, len(k))]
	if unsafe.StringData(string(e.key)) == p && len(e.key) == len(k) && e.n != 0 {
		return e
	}
	return nil
}

// miss returns k's entry past its home slot, adding it if absent, or nil
// when k is not cached (empty, needs escaping, too long, or the table is
// stepping aside).
func (c *keyCache) miss(k attribute.Key, format Format) *keyEntry {
	if c.bypass > 0 {
		c.bypass--
		return nil
	}
	return c.probe(keySlot(unsafe.StringData(string(k)), len(k)), k, format)
}

// keySlot spreads the address with a 64-bit multiplicative hash (on every
// platform: a 32-bit uint cannot hold the constant) and keeps the top bits.
func keySlot(p *byte, n int) uint {
	return uint((uint64(uintptr(unsafe.Pointer(p))) ^ uint64(n)) * 0x9E3779B97F4A7C15 >> (64 - 7))
}

func (c *keyCache) probe(h uint, k attribute.Key, format Format) *keyEntry {
	n := len(k)
	if n == 0 {
		return nil
	}
	p := unsafe.StringData(string(k))
	for {
		e := &c.slots[h]
		if e.n == 0 {
			return c.add(h, k, format)
		}
		if len(e.key) == n && unsafe.StringData(string(e.key)) == p {
			return e
		}
		h = (h + 1) & (keyCacheSlots - 1)
	}
}

func (c *keyCache) add(h uint, k attribute.Key, format Format) *keyEntry {
	var class, ctx int
	name := string(k)
	if format != OTLPJSON {
		if class, ctx = classifyKey(k); class == keyException {
			name = exceptionField(name[len(exceptionPrefix):])
		}
	}
	// Only keys that need no escaping are cached, so the length is known
	// before writing and the arena never grows.
	written := len(name) + len(`"":`)
	if format == OTLPJSON {
		written = len(name) + len(`{"key":"","value":`)
	}
	if written > keyEncMax || !plain(name) {
		return nil
	}
	if c.count == keyCacheMax || len(c.arena)+written > keyArenaSize {
		churning := c.seen < keyChurn*c.count
		c.slots = [keyCacheSlots]keyEntry{}
		c.count, c.arena, c.seen = 0, c.arena[:0], 0
		if churning {
			c.bypass = keyBypass
			return nil
		}
	}
	if c.arena == nil {
		c.arena = make([]byte, 0, keyArenaSize)
	}
	for c.slots[h].n != 0 { // after a reset the home slot is free again
		h = (h + 1) & (keyCacheSlots - 1)
	}
	e := &c.slots[h]
	off := len(c.arena)
	if format == OTLPJSON {
		c.arena = append(c.arena, `{"key":"`...)
		c.arena = append(c.arena, name...)
		c.arena = append(c.arena, `","value":`...)
	} else {
		c.arena = append(c.arena, '"')
		c.arena = append(c.arena, name...)
		c.arena = append(c.arena, `":`...)
	}
	*e = keyEntry{key: k, hash: uint32(keyHash(k)), off: uint16(off), n: uint8(written), class: uint8(class), ctx: uint8(ctx)}
	c.count++
	return e
}

// bytes returns e's key as written out.
func (c *keyCache) bytes(e *keyEntry) []byte { return c.arena[e.off : int(e.off)+int(e.n)] }

// appendKey appends e's key as written out. Most are 8 to 32 bytes, copied
// as overlapping words without a call to memmove when dst has room.
func (c *keyCache) appendKey(dst []byte, e *keyEntry) []byte {
	b := c.bytes(e)
	n, start := len(b), len(dst)
	if n < 8 || n > 32 || cap(dst)-start < n {
		return append(dst, b...)
	}
	out := dst[start : start+n]
	for i := 0; i < n-8; i += 8 {
		binary.LittleEndian.PutUint64(out[i:], binary.LittleEndian.Uint64(b[i:]))
	}
	binary.LittleEndian.PutUint64(out[n-8:], binary.LittleEndian.Uint64(b[n-8:]))
	return dst[:start+n]
}
