package emulator

import (
	"encoding/hex"
	"strings"
)

// Everything the emulator serves is derived from (Seed, stream, index) with
// the functions in this file, so a record can be rebuilt at any time from its
// index alone and nothing per record has to stay in memory.

// mix64 is the splitmix64 finaliser: a cheap, well-mixed 64-bit hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Streams keep the random draws for different purposes independent, so that
// e.g. building a job's payload never shifts the draws that decide its state.
const (
	streamPlan uint64 = iota + 1
	streamFate
	streamTask
	streamJobErr
	streamPayload
	streamIdentity
	streamJitter
	streamTarget
	streamIDKey
	streamMAC
	streamRequestID
	streamFault
	streamEvent
	streamEventTime
	streamAutomation
	streamSocotra
	streamSocotraTime
	streamSocotraSchedule
	streamSocotraFailed
	streamLive
)

// rng is a splitmix64 generator. The zero value is usable but every caller
// seeds it through newRNG.
type rng struct{ s uint64 }

func newRNG(seed int64, stream, index uint64) rng {
	return rng{s: mix64(mix64(uint64(seed)^stream*0x9e3779b97f4a7c15) ^ (index+1)*0xd1b54a32d192ed03)}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// intn returns a value in [0, n); n <= 0 yields 0.
func (r *rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.next() % uint64(n))
}

// between returns a value in [lo, hi].
func (r *rng) between(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.intn(hi-lo+1)
}

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rng) chance(p float64) bool { return r.float() < p }

// hex returns n lower-case hex digits.
func (r *rng) hex(n int) string {
	var b strings.Builder
	b.Grow(n)
	for b.Len() < n {
		v := r.next()
		for i := 0; i < 16 && b.Len() < n; i++ {
			b.WriteByte(hexDigits[v&0xf])
			v >>= 4
		}
	}
	return b.String()
}

// weighted picks an index of weights with probability proportional to its
// weight.
func (r *rng) weighted(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.intn(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

const hexDigits = "0123456789abcdef"

// Kinds of identifier. The kind is encrypted into the id, so a task id can
// never be mistaken for a job id.
const (
	kindTask uint64 = iota + 1
	kindJob
	kindPolicy
	kindDataSource
	kindIdentity
	kindExtraction
	kindAccessPlan
	kindEntity
	kindEvent        // Veza system event
	kindProvider     // Veza integration provider
	kindVezaUser     // a user of the Veza tenant itself
	kindAPIKey       // a Veza API key
	kindRule         // a Veza alert rule
	kindReviewFlow   // an access-review workflow
	kindAutomation   // an access-review automation created through the API
	kindTenant       // the Socotra tenant
	kindSocEvent     // a Socotra event
	kindSocRequest   // a Socotra API request
	kindSocUser      // a Socotra user
	kindSocPolicy    // a Socotra policy
	kindSocAccount   // a Socotra account
	kindSocTxn       // a Socotra policy transaction
	kindInsightPoint // a Veza Insight Point
)

// idCodec turns (kind, index) into a random-looking version-4 UUID and back,
// so that "GET by id" needs no map from ids to records: 64 of the UUID's 122
// free bits are a 4-round Feistel encryption of kind<<40|index keyed by the
// seed, the other 58 are a MAC of those 64 bits that rejects made-up ids.
type idCodec struct {
	keys [5]uint64
}

func newIDCodec(seed int64) idCodec {
	var c idCodec
	r := newRNG(seed, streamIDKey, 0)
	for i := range c.keys {
		c.keys[i] = r.next()
	}
	return c
}

func (c *idCodec) round(x uint32, k uint64) uint32 { return uint32(mix64(uint64(x) ^ k)) }

func (c *idCodec) encrypt(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for i := 0; i < 4; i++ {
		l, r = r, l^c.round(r, c.keys[i])
	}
	return uint64(l)<<32 | uint64(r)
}

func (c *idCodec) decrypt(x uint64) uint64 {
	l, r := uint32(x>>32), uint32(x)
	for i := 3; i >= 0; i-- {
		l, r = r^c.round(l, c.keys[i]), l
	}
	return uint64(l)<<32 | uint64(r)
}

const indexBits = 40

// uuid returns the id of record index of the given kind.
func (c *idCodec) uuid(kind uint64, index int) string {
	x := c.encrypt(kind<<indexBits | uint64(index))
	m := mix64(x ^ c.keys[4])
	var b [16]byte
	for i := 0; i < 6; i++ {
		b[i] = byte(x >> (56 - 8*i))
	}
	b[6] = 0x40 | byte(m&0x0f)
	b[7] = byte(m >> 8)
	b[8] = 0x80 | byte((m>>16)&0x3f)
	b[9] = byte(x >> 8)
	b[10] = byte(x)
	for i := 0; i < 5; i++ {
		b[11+i] = byte(m >> (24 + 8*i))
	}
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// parse returns the index encoded in id if id is a well-formed id of kind.
// The caller still checks the index against the number of records.
func (c *idCodec) parse(kind uint64, id string) (int, bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return 0, false
	}
	var b [16]byte
	src := id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:36]
	if _, err := hex.Decode(b[:], []byte(src)); err != nil {
		return 0, false
	}
	var x uint64
	for i := 0; i < 6; i++ {
		x |= uint64(b[i]) << (56 - 8*i)
	}
	x |= uint64(b[9])<<8 | uint64(b[10])
	m := mix64(x ^ c.keys[4])
	if b[6] != 0x40|byte(m&0x0f) || b[7] != byte(m>>8) || b[8] != 0x80|byte((m>>16)&0x3f) {
		return 0, false
	}
	for i := 0; i < 5; i++ {
		if b[11+i] != byte(m>>(24+8*i)) {
			return 0, false
		}
	}
	p := c.decrypt(x)
	if p>>indexBits != kind {
		return 0, false
	}
	index := int(p & (1<<indexBits - 1))
	if c.uuid(kind, index) != id { // only the canonical lower-case spelling
		return 0, false
	}
	return index, true
}
