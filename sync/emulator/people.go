package emulator

import (
	"strconv"
	"strings"
	"unicode"
)

// identity is one person of the generated workforce.
type identity struct {
	idx          int
	name         string
	first, last  string // display parts (Latin names only)
	login        string // jsmith
	email        string // jsmith@example.com
	empID        int    // Workday Employee_ID
	dept, region string
	title        string
	location     string
	managerID    int
	managerName  string
	managerEmail string
	native       bool // name written in a non-Latin script
}

// numIdentities is the size of the workforce tasks are drawn from.
func numIdentities(tasks int) int {
	switch {
	case tasks < 500:
		return 300
	case tasks > 40000:
		return 6000
	}
	return 1500 + tasks/10
}

// empID maps an identity index to a unique six-digit employee id.
func empID(idx int) int { return 100000 + (idx*7919)%900000 }

// person returns the name parts of identity idx.
func (g *gen) person(idx int) (name, first, last, login string, native bool) {
	r := newRNG(g.seed, streamIdentity, uint64(idx))
	if r.chance(0.07) {
		n := pick(&r, nativeNames)
		return n.name, "", "", n.first[:1] + n.last, true
	}
	f, l := r.intn(len(firstNames)), r.intn(len(lastNames))
	first, last = firstNames[f], lastNames[l]
	name = first + " " + last
	login = foldedFirst[f][:1] + foldedLast[l]
	if r.chance(0.1) { // a second John Smith
		login += strconv.Itoa(r.between(2, 4))
	}
	return name, first, last, login, false
}

// identity builds identity idx and what it needs to know of its manager.
func (g *gen) identity(idx int) identity {
	name, first, last, login, native := g.person(idx)
	r := newRNG(g.seed, streamIdentity, uint64(idx)+1<<32)
	id := identity{idx: idx, name: name, first: first, last: last, login: login,
		email: login + "@example.com", empID: empID(idx), native: native,
		dept: pick(&r, departments), region: pick(&r, regions), title: pick(&r, titles), location: pick(&r, locations)}
	mgr := r.intn(g.nIdentities/20 + 1) // managers are the first 5%
	if mgr == idx {
		mgr = (mgr + 1) % g.nIdentities
	}
	mname, _, _, mlogin, _ := g.person(mgr)
	id.managerID, id.managerName, id.managerEmail = empID(mgr), mname, mlogin+"@example.com"
	return id
}

// Logins derive from folded names; fold each list once.
var foldedFirst, foldedLast = foldAll(firstNames), foldAll(lastNames)

func foldAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = asciiFold(n)
	}
	return out
}

var foldReplacer = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "å", "a", "ą", "a",
	"é", "e", "è", "e", "ê", "e", "ë", "e", "ę", "e",
	"í", "i", "ì", "i", "î", "i", "ï", "i", "ı", "i",
	"ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o", "ø", "o",
	"ú", "u", "ù", "u", "û", "u", "ü", "u",
	"ç", "c", "ñ", "n", "ł", "l", "ß", "ss", "þ", "th", "ð", "d", "ř", "r", "ž", "z", "š", "s", "č", "c", "ğ", "g", "ş", "s",
)

// asciiFold lower-cases s and reduces it to ASCII letters, the way an
// identity team derives logins: "Zoë O'Brien" -> "zoe", "obrien".
func asciiFold(s string) string {
	s = foldReplacer.Replace(strings.ToLower(s))
	var b strings.Builder
	for _, c := range s {
		if c < unicode.MaxASCII && unicode.IsLetter(c) {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}
