// Package signature turns an error message into its signature: the message
// with the parts that vary between occurrences of the same failure (ids,
// uuids, numbers, emails, quoted names, timestamps, addresses, user names)
// replaced by placeholders, so that "user jsmith not found in group
// 'Sales-EMEA'" and "user akhan not found in group 'Finance'" both become
// "user <name> not found in group '<name>'". The store computes it at sync
// time for every errored job and task and groups by it.
//
// Normalize is a single left-to-right pass over bytes with bounded
// look-ahead: no regular expressions, linear time, one allocation for the
// output. Its output is valid UTF-8, at most MaxLen bytes, and a fixed point:
// Normalize(Normalize(x)) == Normalize(x).
package signature

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Version names the normalisation rules. The store recomputes stored
// signatures when it changes, so bump it with any change to Normalize's
// output.
const Version = "1"

// MaxLen bounds the length of a signature in bytes: long messages (stack
// traces, response bodies) are cut at a token boundary and end in " …".
const MaxLen = 240

// maxIn is how much of a message is read at all. Everything past it could
// only be cut off again, and it bounds the look-ahead of quotes.
const maxIn = 4096

// ellipsis marks a cut signature.
const ellipsis = " …"

// placeholders are the tokens Normalize emits; found in its input they are
// copied as they are, which is what makes it idempotent.
var placeholders = [...]string{"<name>", "<num>", "<id>", "<hex>", "<uuid>", "<email>", "<ip>", "<ts>", "<path>", "<dn>"}

// nouns are words after which the next word is taken for a name: "user
// jsmith", "group Finance", "manager of Jane Doe".
var nouns = setOf("user", "username", "userid", "login", "account", "group", "identity", "member",
	"manager", "owner", "reviewer", "principal", "employee", "id", "uid", "upn", "sid", "role", "team", "person")

// stopwords never count as a name, even after a noun: "user not found",
// "user group 'x'", "identity with employee_id", "ID value".
var stopwords = setOf(
	// function words
	"a", "an", "the", "this", "that", "these", "those", "not", "no", "is", "are", "was", "were", "be",
	"been", "being", "has", "have", "had", "do", "does", "did", "can", "cannot", "could", "will",
	"would", "shall", "should", "may", "might", "must", "of", "in", "on", "at", "by", "for", "from",
	"to", "with", "without", "within", "into", "onto", "as", "and", "or", "but", "if", "then", "than",
	"so", "such", "via", "per", "already", "also", "still", "yet", "just", "only", "now", "again",
	"which", "who", "whose", "when", "while", "where", "it", "its", "their", "his", "her", "your",
	// words that follow the nouns in error texts
	"lookup", "name", "names", "value", "values", "type", "types", "field", "fields", "attribute",
	"attributes", "membership", "memberships", "record", "records", "object", "objects", "entry",
	"entries", "list", "ids", "identifier", "status", "state", "error", "errors", "failed", "failure",
	"found", "missing", "unknown", "exists", "exist", "disabled", "enabled", "locked", "deleted",
	"invalid", "inactive", "active", "suspended", "expired", "removed", "added", "created", "updated",
	"organization", "org", "domain", "directory", "tenant", "project", "workspace", "table", "service",
	"permission", "permissions", "access", "rights", "request", "policy", "data", "mapping",
	"users", "groups", "accounts", "identities", "members", "roles", "teams",
	"user", "username", "userid", "login", "account", "group", "identity", "member",
	"manager", "owner", "reviewer", "principal", "employee", "id", "uid", "upn", "sid", "role", "team", "person",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// Normalize returns msg's signature (see the package comment).
func Normalize(msg string) string {
	if !utf8.ValidString(msg) {
		msg = strings.ToValidUTF8(msg, "\uFFFD")
	}
	capped := false
	if len(msg) > maxIn {
		cut := maxIn
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg, capped = msg[:cut], true
	}
	n := normalizer{in: msg, out: make([]byte, 0, min(len(msg)+16, MaxLen+32))}
	n.closer = [3]int{-1, -1, -1}
	n.end = textEnd(msg)
	n.run()
	out := n.out
	for len(out) > 0 && out[len(out)-1] == ' ' {
		out = out[:len(out)-1]
	}
	if len(out) > MaxLen || (capped || n.stopped) && len(out) > 0 {
		out = cut(out)
	}
	return string(out)
}

// cut shortens out to at most MaxLen bytes including the ellipsis, at a
// token boundary, so that the shortened signature normalises to itself.
func cut(out []byte) []byte {
	limit := MaxLen - len(ellipsis)
	p := len(out)
	if p > limit {
		p = -1
		for i := limit; i > 0; i-- {
			if out[i] == ' ' {
				p = i
				break
			}
		}
		if p < 0 { // one long token: cut between a letter or digit and anything else
			for i := limit; i > 0; i-- {
				if utf8.RuneStart(out[i]) && !(isAlnumByte(out[i-1]) && isAlnumByte(out[i])) {
					p = i
					break
				}
			}
		}
		if p < 0 {
			// A run of letters this long (digits in it would have made it
			// an <id>): any prefix of it is still a word.
			p = limit
			for p > 0 && !utf8.RuneStart(out[p]) {
				p--
			}
		}
		// Never inside a placeholder.
		if lt := strings.LastIndexByte(string(out[max(0, p-8):p]), '<'); lt >= 0 {
			start := max(0, p-8) + lt
			if gt := strings.IndexByte(string(out[start:p]), '>'); gt < 0 && isPlaceholderStart(out[start:]) {
				p = start
			}
		}
	}
	out = out[:p]
	for len(out) > 0 && out[len(out)-1] == ' ' {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return append(out, ellipsis[1:]...)
	}
	return append(out, ellipsis...)
}

func isAlnumByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func isPlaceholderStart(b []byte) bool {
	for _, p := range placeholders {
		if len(b) >= len(p) && string(b[:len(p)]) == p {
			return true
		}
	}
	return false
}

type normalizer struct {
	in  string
	out []byte
	// closer[q] is the position from which no closing quote of kind q
	// exists (-1: not searched yet): a message with many stray apostrophes
	// costs one scan, not one per apostrophe.
	closer [3]int
	// nounPending: the last word was a noun (or "noun of"), so a name may
	// follow.
	nounPending bool
	// prevFor: the last word was "for".
	prevFor bool
	// stopped: the output outgrew MaxLen and the rest was not read.
	stopped bool
	// end is textEnd(in): a word ending there is the last one.
	end int
}

func (n *normalizer) run() {
	in := n.in
	i := 0
	for i < len(in) {
		if len(n.out) > MaxLen+8 {
			n.stopped = true
			return
		}
		c := in[i]
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(in[i:])
		}
		switch {
		case isSpace(r):
			n.space()
			i += size
		case c == '<':
			if p := placeholderAt(in, i); p != "" {
				n.out = append(n.out, p...)
				n.afterToken()
				i += len(p)
				continue
			}
			n.delim(c)
			i++
		case c == '\'' || c == '"' || c == '`':
			i = n.quote(i)
		case isDelim(c):
			n.delim(c)
			i++
		default:
			i = n.word(i)
		}
	}
}

func (n *normalizer) space() {
	if len(n.out) > 0 && n.out[len(n.out)-1] != ' ' {
		n.out = append(n.out, ' ')
	}
}

func (n *normalizer) delim(c byte) {
	n.out = append(n.out, c)
	n.nounPending, n.prevFor = false, false
}

// afterToken resets the context after a placeholder.
func (n *normalizer) afterToken() { n.nounPending, n.prevFor = false, false }

// isSpace: white space, control and format characters (zero-width and bidi
// marks included) all separate words and collapse to one space.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r <= ' ' || r == 0x7f
	}
	return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}

// isDelim: characters that end a word. Quotes and '<' have their own cases.
func isDelim(c byte) bool {
	switch c {
	case '(', ')', '[', ']', '{', '}', ',', ';', '<', '>', '\'', '"', '`':
		return true
	}
	return false
}

// wordish reports whether r continues a word for the quote rules; '<' and
// '>' count because a placeholder may take the place of a word.
func wordish(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '<' || r == '>'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func placeholderAt(s string, i int) string {
	for _, p := range placeholders {
		if strings.HasPrefix(s[i:], p) {
			return p
		}
	}
	return ""
}

// quote handles a quote character at i: a quoted stretch becomes the quote,
// <name>, the quote. It opens only where a word could start (after a
// non-word character) and closes at the next same quote that a word
// character does not follow, so apostrophes in "can't" or "users'" open
// nothing.
func (n *normalizer) quote(i int) int {
	in := n.in
	q := in[i]
	prev := rune(' ')
	if len(n.out) > 0 {
		prev, _ = utf8.DecodeLastRune(n.out)
	}
	if !wordish(prev) {
		if j := n.closing(q, i+1); j >= 0 {
			if j == i+1 {
				n.out = append(n.out, q, q)
			} else {
				n.out = append(n.out, q)
				n.out = append(n.out, "<name>"...)
				n.out = append(n.out, q)
			}
			n.afterToken()
			return j + 1
		}
	}
	n.delim(q)
	return i + 1
}

func quoteIndex(q byte) int {
	switch q {
	case '\'':
		return 0
	case '"':
		return 1
	}
	return 2
}

// closing finds the closing quote q at or after from, or -1.
func (n *normalizer) closing(q byte, from int) int {
	in := n.in
	qi := quoteIndex(q)
	if c := n.closer[qi]; c >= 0 && from >= c {
		return -1
	}
	for j := from; j < len(in); {
		k := strings.IndexByte(in[j:], q)
		if k < 0 {
			break
		}
		j += k
		if j+1 >= len(in) {
			return j
		}
		r, _ := utf8.DecodeRuneInString(in[j+1:])
		if !wordish(r) {
			return j
		}
		j++
	}
	n.closer[qi] = from
	return -1
}

// wordEnd is the end of the word starting at i.
func wordEnd(in string, i int) int {
	for j := i; j < len(in); {
		c := in[j]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f || isDelim(c) {
				return j
			}
			j++
			continue
		}
		r, size := utf8.DecodeRuneInString(in[j:])
		if isSpace(r) {
			return j
		}
		j += size
	}
	return len(in)
}

// splitTail separates trailing sentence punctuation from a word.
func splitTail(w string) (stem, tail string) {
	k := len(w)
	for k > 0 && strings.IndexByte(".:!?", w[k-1]) >= 0 {
		k--
	}
	return w[:k], w[k:]
}

// word handles the word starting at i and returns where it ends.
func (n *normalizer) word(i int) int {
	in := n.in
	// A word that follows a placeholder is the rest of a word that had a
	// number in it (the second time round): the whole-word shapes were
	// decided the first time and must not be found in a piece of it.
	fresh := len(n.out) == 0 || n.out[len(n.out)-1] != '>'
	if fresh {
		if e, ok := dnEnd(in, i); ok {
			n.out = append(n.out, "<dn>"...)
			n.afterToken()
			return e
		}
	}
	j := wordEnd(in, i)
	stem, tail := splitTail(in[i:j])
	spaced := len(n.out) == 0 || n.out[len(n.out)-1] == ' '
	start := len(n.out)
	switch {
	case fresh && strings.Contains(stem, "://"):
		n.url(stem)
	case fresh && isEmail(stem):
		n.out = append(n.out, "<email>"...)
	default:
		n.segments(stem)
	}
	kept := string(n.out[start:]) == stem
	var buf [24]byte
	lower := lowerASCII(buf[:0], stem)
	// A name stands alone: after a space and before a space, a delimiter or
	// the end, never against a placeholder (which is what the rest of a
	// word that had a number in it looks like the second time round).
	alone := spaced && (j == len(in) || in[j] != '<')
	if kept && alone && stem != "" && !stopwords[string(lower)] && hasAlnum(stem) {
		switch {
		case n.nounPending:
			if isTitle(stem) && tail == "" {
				j = n.absorbTitles(j)
				_, tail = splitTail(in[i:j])
			}
			n.out = append(n.out[:start], "<name>"...)
			n.out = append(n.out, tail...)
			n.afterToken()
			return j
		case n.prevFor && j >= n.end && isLowerIdent(stem):
			n.out = append(n.out[:start], "<name>"...)
			n.out = append(n.out, tail...)
			n.afterToken()
			return j
		}
	}
	n.out = append(n.out, tail...)
	switch {
	case kept && nouns[string(lower)] && (tail == "" || tail == ":"):
		n.nounPending = true
	case kept && string(lower) == "of" && tail == "" && n.nounPending:
		// "manager of Jane Doe": still waiting for the name
	default:
		n.nounPending = false
	}
	n.prevFor = kept && string(lower) == "for" && tail == ""
	return j
}

// lowerASCII appends s lower-cased to buf when it fits (the word lists are
// short ASCII words); a longer s yields a value that matches no list.
func lowerASCII(buf []byte, s string) []byte {
	if len(s) > cap(buf) {
		return append(buf, '\x00')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// maxNameWords bounds how many words absorbTitles adds to a name.
const maxNameWords = 4

// absorbTitles extends a capitalised name over the capitalised words that
// follow it ("Jane Doe", "Mary Ann Smith"), returning the new end.
func (n *normalizer) absorbTitles(j int) int {
	in := n.in
	for words := 0; words < maxNameWords && j+1 < len(in) && in[j] == ' '; words++ {
		k := wordEnd(in, j+1)
		w := in[j+1 : k]
		stem, _ := splitTail(w)
		var buf [24]byte
		lower := lowerASCII(buf[:0], stem)
		if stem == "" || !isTitle(stem) || stopwords[string(lower)] || nouns[string(lower)] {
			break
		}
		for _, r := range stem {
			if !unicode.IsLetter(r) && r != '-' && r != '\'' {
				return j
			}
		}
		j = k
		if len(stem) != len(w) { // punctuation ends the name
			break
		}
	}
	return j
}

func hasAlnum(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// isTitle: a capital letter followed by at least one lower-case letter.
func isTitle(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	if !unicode.IsUpper(r) {
		return false
	}
	for _, r := range s[size:] {
		if unicode.IsLower(r) {
			return true
		}
	}
	return false
}

// isLowerIdent: a login-like word: lower-case letters, digits, '.', '_',
// '-', with a letter, at least 3 bytes.
func isLowerIdent(s string) bool {
	if len(s) < 3 {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			letter = true
		case c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return letter
}

// textEnd is where the text ends but for white space.
func textEnd(in string) int {
	e := len(in)
	for e > 0 {
		r, size := utf8.DecodeLastRuneInString(in[:e])
		if !isSpace(r) {
			break
		}
		e -= size
	}
	return e
}

func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	dot := strings.IndexByte(s[at+1:], '.')
	return dot > 0 && at+1+dot < len(s)-1
}

// url keeps a URL's scheme and host and replaces its path, query and
// fragment by /<path>.
func (n *normalizer) url(s string) {
	k := strings.Index(s, "://")
	scheme := s[:k]
	if scheme == "" {
		n.segments(s)
		return
	}
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-')) {
			n.segments(s)
			return
		}
	}
	rest := s[k+3:]
	h := strings.IndexAny(rest, "/?#")
	if h < 0 {
		h = len(rest)
	}
	n.out = append(n.out, s[:k+3]...)
	n.segments(rest[:h])
	if p := rest[h:]; p == "" || p == "/" {
		n.out = append(n.out, p...)
	} else {
		n.out = append(n.out, "/<path>"...)
	}
}

// maxDNValue bounds the length of one component's value.
const maxDNValue = 128

// dnAttr is the length of an LDAP attribute prefix ("CN=") at s[i:], or 0.
func dnAttr(s string, i int) int {
	for _, a := range [...]string{"cn=", "ou=", "dc=", "uid="} {
		if len(s)-i >= len(a) && strings.EqualFold(s[i:i+len(a)], a) {
			return len(a)
		}
	}
	return 0
}

// dnEnd recognises an LDAP distinguished name starting at i ("CN=Jane
// Doe,OU=Sales,DC=corp,DC=com") and returns where it ends. Values may hold
// spaces when another component follows; the last value may hold up to
// three words when a ')', ']' or ':' closes it, else it ends at a space.
func dnEnd(s string, i int) (int, bool) {
	a := dnAttr(s, i)
	if a == 0 {
		return 0, false
	}
	pos := i
	for {
		v := pos + a
		e := v
		// A value is short; the bound keeps "cn= cn= cn= …" linear.
		for e < len(s) && e-v < maxDNValue && strings.IndexByte(",:)]};\"'`<>\n\r", s[e]) < 0 {
			e++
		}
		if e < len(s) && s[e] == ',' {
			k := e + 1
			for k < len(s) && s[k] == ' ' {
				k++
			}
			if a2 := dnAttr(s, k); a2 > 0 {
				pos, a = k, a2
				continue
			}
		}
		val := s[v:e]
		closed := e < len(s) && strings.IndexByte(":)]", s[e]) >= 0
		if sp := strings.IndexAny(val, " \t"); sp >= 0 && (!closed || strings.Count(strings.TrimSpace(val), " ") > 2) {
			e = v + sp
		}
		// Trailing white space belongs to the text, not the name.
		for e > v && (s[e-1] == ' ' || s[e-1] == '\t') {
			e--
		}
		return e, true
	}
}

// segments writes s with each run of letters and digits classified:
// numbers, hex strings, uuids, IPs, timestamps and id-like mixtures become
// placeholders; words stay.
func (n *normalizer) segments(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf && !isAlnumASCII(c) {
			n.out = append(n.out, c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				n.out = append(n.out, s[i:i+size]...)
				i += size
				continue
			}
		}
		if e, p := special(s, i); e > i {
			n.out = append(n.out, p...)
			i = e
			continue
		}
		e := alnumEnd(s, i)
		n.out = append(n.out, classify(s[i:e])...)
		i = e
	}
}

func isAlnumASCII(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func alnumEnd(s string, i int) int {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if !isAlnumASCII(c) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return i
		}
		i += size
	}
	return i
}

// digits counts the ASCII digits at s[i:], at most max.
func digits(s string, i, max int) int {
	k := 0
	for i+k < len(s) && k < max && isDigit(s[i+k]) {
		k++
	}
	return k
}

func hexRun(s string, i int) int {
	k := 0
	for i+k < len(s) && isHex(s[i+k]) {
		k++
	}
	return k
}

// special recognises the multi-segment shapes at s[i:] (uuid, timestamp,
// time, IPv4, dotted number, 0x hex) and returns their end and
// placeholder.
func special(s string, i int) (int, string) {
	if e := uuidEnd(s, i); e > 0 {
		return e, "<uuid>"
	}
	if !isDigit(s[i]) {
		return 0, ""
	}
	if e := dateEnd(s, i); e > 0 {
		return e, "<ts>"
	}
	if e := timeEnd(s, i); e > 0 {
		return e, "<ts>"
	}
	if s[i] == '0' && i+2 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && isHex(s[i+2]) {
		e := i + 2 + hexRun(s, i+2)
		if e == len(s) || !isAlnumASCII(s[e]) {
			return e, "<hex>"
		}
	}
	// Dotted numbers: an IPv4 address, or a version/decimal.
	e, parts := i, 0
	for {
		d := digits(s, e, 32)
		if d == 0 {
			break
		}
		e += d
		parts++
		if e+1 < len(s) && s[e] == '.' && isDigit(s[e+1]) {
			e++
			continue
		}
		break
	}
	if parts >= 2 && (e == len(s) || !isAlnumASCII(s[e])) {
		if parts == 4 {
			return e, "<ip>"
		}
		return e, "<num>"
	}
	return 0, ""
}

func uuidEnd(s string, i int) int {
	e := i
	for k, want := range [...]int{8, 4, 4, 4, 12} {
		if k > 0 {
			if e >= len(s) || s[e] != '-' {
				return 0
			}
			e++
		}
		if hexRun(s, e) < want {
			return 0
		}
		e += want
	}
	if e < len(s) && isAlnumASCII(s[e]) {
		return 0
	}
	return e
}

// dateEnd: YYYY-MM-DD or YYYY/MM/DD, optionally followed by THH:MM[:SS[.f]]
// and a zone (Z or ±HH[:]MM).
func dateEnd(s string, i int) int {
	if digits(s, i, 5) != 4 || i+10 > len(s) {
		return 0
	}
	sep := s[i+4]
	if (sep != '-' && sep != '/') || digits(s, i+5, 3) != 2 || s[i+7] != sep || digits(s, i+8, 3) != 2 {
		return 0
	}
	e := i + 10
	if e+1 < len(s) && (s[e] == 'T' || s[e] == 't') {
		if t := timeEnd(s, e+1); t > 0 {
			e = t
		}
	}
	if e < len(s) && isAlnumASCII(s[e]) {
		return 0
	}
	return e
}

// timeEnd: H:MM or HH:MM[:SS[.fff]] with an optional zone.
func timeEnd(s string, i int) int {
	h := digits(s, i, 3)
	if h < 1 || h > 2 {
		return 0
	}
	e := i + h
	if e >= len(s) || s[e] != ':' || digits(s, e+1, 3) != 2 {
		return 0
	}
	e += 3
	if e+2 < len(s) && s[e] == ':' && digits(s, e+1, 3) == 2 {
		e += 3
		if e+1 < len(s) && (s[e] == '.' || s[e] == ',') && isDigit(s[e+1]) {
			e++
			e += digits(s, e, 32)
		}
	}
	switch {
	case e < len(s) && (s[e] == 'Z' || s[e] == 'z'):
		e++
	case e+2 < len(s) && (s[e] == '+' || s[e] == '-') && digits(s, e+1, 3) == 2:
		z := e + 3
		if z+2 < len(s)+0 && s[z] == ':' && digits(s, z+1, 3) == 2 {
			z += 3
		} else if digits(s, z, 3) == 2 {
			z += 2
		}
		e = z
	}
	if e < len(s) && (isAlnumASCII(s[e]) || s[e] == ':') {
		return 0
	}
	return e
}

// classify maps one run of letters and digits to itself or a placeholder.
func classify(seg string) string {
	var nd, nl, trans int
	hexOnly := true
	prevDigit, first := false, true
	for _, r := range seg {
		d := r >= '0' && r <= '9'
		if d {
			nd++
		} else {
			nl++
		}
		if r >= utf8.RuneSelf || !isHex(byte(r)) {
			hexOnly = false
		}
		if !first && d != prevDigit {
			trans++
		}
		prevDigit, first = d, false
	}
	switch {
	case nd == 0:
		return seg
	case nl == 0:
		return "<num>"
	case trans == 1 && isDigit(seg[0]) && nl <= 3:
		// a number with a unit: 30000ms, 43s, 10KB
		return "<num>" + seg[nd:]
	case hexOnly && len(seg) >= 6:
		return "<hex>"
	case len(seg) >= 8 || trans >= 2 && nd >= 2:
		return "<id>"
	}
	return seg
}
