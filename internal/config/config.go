// Package config is the room for opsdeck's configuration file: named
// profiles (which tenant, which cache, how often to sync, how to get the API
// token), the theme and key remaps. It keeps the line of every setting so a
// mistake is reported as file:line, and it fetches a profile's token only
// when asked, as a Secret that never prints, logs or marshals its value.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Providers a profile may name.
const (
	ProviderVeza    = "veza"
	ProviderSocotra = "socotra"
)

// EnvProfile is the name of the profile built from VEZA_URL and VEZA_TOKEN
// when no configured profile is chosen.
const EnvProfile = "env"

// Defaults.
const (
	DefaultInterval     = 60 * time.Second
	MinInterval         = 5 * time.Second
	DefaultTokenTimeout = 30 * time.Second
)

// Themes the `theme` setting (and --theme) accepts.
var Themes = []string{"auto", "dark", "light"}

// Config is a parsed configuration file. The zero value (no file) is valid.
type Config struct {
	// Path is the file it was read from; "" when there is none.
	Path           string
	DefaultProfile string
	Theme          string // "" (unset), "auto", "dark" or "light"
	// Keys are the key remaps of the `keys:` section, in file order.
	Keys []KeyRemap
	// Profiles by name; Names lists them in file order.
	Profiles map[string]*Profile
	Names    []string
	// Warnings are problems that do not stop opsdeck (unknown keys): the
	// caller reports them at start-up.
	Warnings []error

	getenv func(string) string
}

// KeyRemap is one `keys:` entry: a binding name and its new keys.
type KeyRemap struct {
	Name string
	Keys []string
	Line int
}

// Error is a configuration problem at a place in a file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File == "":
		return e.Msg
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// DefaultPath is $XDG_CONFIG_HOME/opsdeck/config.yaml, or
// ~/.config/opsdeck/config.yaml.
func DefaultPath(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "opsdeck", "config.yaml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set: pass --config PATH")
	}
	return filepath.Join(home, ".config", "opsdeck", "config.yaml"), nil
}

// DataDir is where caches go by default: $XDG_DATA_HOME/opsdeck, or
// ~/.local/share/opsdeck.
func DataDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "opsdeck"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither XDG_DATA_HOME nor HOME is set: pass --cache PATH")
	}
	return filepath.Join(home, ".local", "share", "opsdeck"), nil
}

// Load reads the file at path. A missing file is not an error when
// mustExist is false: the result is an empty Config (profiles then come from
// the environment). getenv may be nil (os.Getenv).
func Load(path string, mustExist bool, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !mustExist {
		return &Config{Profiles: map[string]*Profile{}, getenv: getenv}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(path, data, getenv)
	if err != nil {
		return nil, err
	}
	if err := c.checkMode(fi.Mode()); err != nil {
		return nil, err
	}
	return c, nil
}

// checkMode refuses a file others could read a token from, or write a
// token_command into.
func (c *Config) checkMode(mode fs.FileMode) error {
	perm := mode.Perm()
	if perm&0o022 != 0 {
		return &Error{File: c.Path, Msg: fmt.Sprintf("is writable by group/others (mode %04o): anyone who can edit it can make opsdeck run a command of theirs (token_command); refusing to use it. Fix: chmod go-w %s", perm, c.Path)}
	}
	if perm&0o044 == 0 {
		return nil
	}
	for _, n := range c.Names {
		if p := c.Profiles[n]; p.inline != nil {
			return &Error{File: c.Path, Line: p.lines["token"], Msg: fmt.Sprintf("holds an API token (profile %q) but is readable by group/others (mode %04o); refusing to use it. Fix: chmod 600 %s (and consider rotating the token), or move the token to token_file, token_env or token_command", n, perm, c.Path)}
		}
	}
	return nil
}

var (
	yamlLine     = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	profileNames = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// Parse parses a configuration file's contents. path is only used in
// messages and to resolve relative paths. Every error is an *Error (several
// are joined); unknown keys become Warnings.
func Parse(path string, data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := &Config{Path: path, Profiles: map[string]*Profile{}, getenv: getenv}
	p := &parser{c: c, dir: filepath.Dir(path), lines: yamlLines(data)}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		if line == 0 {
			line = yamlErrorLine(data, msg)
		}
		return nil, &Error{File: path, Line: min(line, p.lines), Msg: "not valid YAML: " + msg}
	}
	if len(doc.Content) == 0 {
		return c, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, p.errAt(root, "the file must be a mapping (default_profile:, profiles:, keys:, theme:)")
	}
	p.top(root)
	if c.DefaultProfile != "" {
		if _, ok := c.Profiles[c.DefaultProfile]; !ok {
			p.errs = append(p.errs, &Error{File: path, Line: p.defaultLine, Msg: fmt.Sprintf("default_profile %q is not a profile here (profiles: %s)", c.DefaultProfile, strings.Join(c.Names, ", "))})
		}
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return c, nil
}

// yamlErrorLine places a YAML error that came without a line: the
// decoder's reader errors (a control character, invalid UTF-8) are on the
// line of the first such character, and it leaves the line out of
// scanner errors on the first line.
func yamlErrorLine(data []byte, msg string) int {
	if strings.Contains(msg, "control characters") || strings.Contains(msg, "UTF-8") || strings.Contains(msg, "Unicode") {
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if (r == utf8.RuneError && n == 1) || !yamlPrintable(r) {
				return yamlLines(data[:i])
			}
			i += n
		}
	}
	return 1
}

// yamlLines counts lines the way the YAML decoder numbers them: CR LF,
// CR, LF, NEL, LS and PS each end one.
func yamlLines(data []byte) int {
	n := 1
	for i := 0; i < len(data); i++ {
		switch {
		case data[i] == '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			n++
		case data[i] == '\n':
			n++
		case bytes.HasPrefix(data[i:], []byte("\u0085")), bytes.HasPrefix(data[i:], []byte("\u2028")), bytes.HasPrefix(data[i:], []byte("\u2029")):
			n++
		}
	}
	return n
}

// yamlPrintable is YAML 1.2's c-printable (plus the BOM, which the
// decoder accepts).
func yamlPrintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return true
	case r >= 0x20 && r <= 0x7e, r >= 0xa0 && r <= 0xd7ff, r >= 0xe000 && r <= 0xfffd, r >= 0x10000 && r <= 0x10ffff:
		return true
	}
	return false
}

type parser struct {
	c           *Config
	lines       int // in the file, to keep every error's line within it
	dir         string
	errs        []error
	defaultLine int
}

func (p *parser) errAt(n *yaml.Node, format string, args ...any) *Error {
	// The decoder places an empty node (`---` alone) on the line after the
	// last one: point at the last line instead.
	return &Error{File: p.c.Path, Line: max(1, min(n.Line, p.lines)), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) fail(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, p.errAt(n, format, args...))
}

func (p *parser) unknown(k *yaml.Node, where string, known []string) {
	msg := fmt.Sprintf("unknown key %q%s (ignored)", k.Value, where)
	if s := suggest(k.Value, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	p.c.Warnings = append(p.c.Warnings, p.errAt(k, "%s", msg))
}

// pairs walks a mapping node's key/value pairs, rejecting duplicate keys.
func (p *parser) pairs(m *yaml.Node, fn func(k, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if k.Kind != yaml.ScalarNode {
			p.fail(k, "keys must be plain names")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			p.fail(k, "%q is given twice (first on line %d)", k.Value, prev)
			continue
		}
		seen[k.Value] = k.Line
		fn(k, v)
	}
}

func (p *parser) str(k, v *yaml.Node) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.fail(v, "%s must be a string", k.Value)
		return "", false
	}
	return v.Value, true
}

func (p *parser) boolean(k, v *yaml.Node) bool {
	var b bool
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" || v.Decode(&b) != nil {
		p.fail(v, "%s must be true or false", k.Value)
	}
	return b
}

func (p *parser) duration(k, v *yaml.Node) (time.Duration, bool) {
	if v.Kind != yaml.ScalarNode {
		p.fail(v, "%s must be a duration such as 60s or 5m", k.Value)
		return 0, false
	}
	if v.Tag == "!!int" {
		n, err := strconv.Atoi(v.Value)
		if err == nil {
			return time.Duration(n) * time.Second, true
		}
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil {
		p.fail(v, "%s: %q is not a duration such as 60s or 5m", k.Value, v.Value)
		return 0, false
	}
	return d, true
}

var topKeys = []string{"default_profile", "theme", "keys", "profiles"}

func (p *parser) top(root *yaml.Node) {
	c := p.c
	p.pairs(root, func(k, v *yaml.Node) {
		switch k.Value {
		case "default_profile":
			if s, ok := p.str(k, v); ok {
				c.DefaultProfile, p.defaultLine = s, k.Line
			}
		case "theme":
			if s, ok := p.str(k, v); ok {
				if !contains(Themes, s) {
					p.fail(v, "theme %q: want one of %s", s, strings.Join(Themes, ", "))
				} else {
					c.Theme = s
				}
			}
		case "keys":
			p.keys(v)
		case "profiles":
			if v.Kind != yaml.MappingNode {
				p.fail(v, "profiles must be a mapping of profile names to settings")
				return
			}
			p.pairs(v, func(nk, nv *yaml.Node) { p.profile(nk, nv) })
		default:
			p.unknown(k, "", topKeys)
		}
	})
}

func (p *parser) keys(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		p.fail(v, "keys must map binding names to keys, e.g. `down: [j, ctrl+n]`")
		return
	}
	p.pairs(v, func(k, v *yaml.Node) {
		r := KeyRemap{Name: k.Value, Line: k.Line}
		switch v.Kind {
		case yaml.ScalarNode:
			r.Keys = []string{v.Value}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					p.fail(e, "keys of %q must be strings", k.Value)
					return
				}
				r.Keys = append(r.Keys, e.Value)
			}
		default:
			p.fail(v, "keys of %q must be a key or a list of keys", k.Value)
			return
		}
		if len(r.Keys) == 0 || slicesHasEmpty(r.Keys) {
			p.fail(v, "binding %q: no keys given (an empty key would never fire)", k.Value)
			return
		}
		p.c.Keys = append(p.c.Keys, r)
	})
}

func slicesHasEmpty(ks []string) bool {
	for _, k := range ks {
		if k == "" {
			return true
		}
	}
	return false
}

var profileKeys = []string{"provider", "url", "tenant", "cache", "interval", "token_env", "token_file", "token_command", "token", "token_timeout", "insecure", "read_only"}

func (p *parser) profile(nk, nv *yaml.Node) {
	name := nk.Value
	if !profileNames.MatchString(name) {
		p.fail(nk, "profile name %q: use letters, digits, '.', '_' or '-' (it names the cache file)", name)
		return
	}
	if nv.Kind != yaml.MappingNode {
		p.fail(nv, "profile %q must be a mapping (provider:, url:, ...)", name)
		return
	}
	pr := &Profile{Name: name, File: p.c.Path, Line: nk.Line, lines: map[string]int{}, getenv: p.c.getenv}
	var tokenSources []string
	p.pairs(nv, func(k, v *yaml.Node) {
		pr.lines[k.Value] = k.Line
		switch k.Value {
		case "provider":
			if s, ok := p.str(k, v); ok {
				if s != ProviderVeza && s != ProviderSocotra {
					p.fail(v, "provider %q: want veza or socotra", s)
				}
				pr.Provider = s
			}
		case "url":
			if s, ok := p.str(k, v); ok {
				pr.URL = strings.TrimRight(strings.TrimSpace(s), "/")
			}
		case "tenant":
			pr.Tenant, _ = p.str(k, v)
		case "cache":
			if s, ok := p.str(k, v); ok {
				pr.Cache = p.path(s)
			}
		case "interval":
			if d, ok := p.duration(k, v); ok {
				if d < MinInterval {
					p.fail(v, "interval %s is shorter than the minimum %s", d, MinInterval)
				}
				pr.Interval = d
			}
		case "token_timeout":
			if d, ok := p.duration(k, v); ok {
				if d <= 0 {
					p.fail(v, "token_timeout must be positive")
				}
				pr.TokenTimeout = d
			}
		case "token_env":
			tokenSources = append(tokenSources, k.Value)
			pr.TokenEnv, _ = p.str(k, v)
		case "token_file":
			tokenSources = append(tokenSources, k.Value)
			if s, ok := p.str(k, v); ok {
				pr.TokenFile = p.path(s)
			}
		case "token_command":
			tokenSources = append(tokenSources, k.Value)
			pr.TokenCommand, _ = p.str(k, v)
		case "token":
			tokenSources = append(tokenSources, k.Value)
			// Never echo the value, even in an error.
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				p.fail(v, "token must be a non-empty string")
				return
			}
			s := Secret{v.Value}
			pr.inline = &s
		case "insecure":
			pr.Insecure = p.boolean(k, v)
		case "read_only":
			pr.ReadOnly = p.boolean(k, v)
		default:
			p.unknown(k, fmt.Sprintf(" in profile %q", name), profileKeys)
		}
	})
	if len(tokenSources) > 1 {
		p.fail(nk, "profile %q: give one of token_env, token_file, token_command or token, not %s", name, strings.Join(tokenSources, " and "))
	}
	if pr.Provider == "" {
		pr.Provider = ProviderVeza
	}
	if pr.URL == "" {
		p.fail(nk, "profile %q: url is required", name)
	} else if err := checkURLSyntax(pr.URL); err != nil {
		p.errs = append(p.errs, &Error{File: p.c.Path, Line: pr.lines["url"], Msg: fmt.Sprintf("profile %q: url: %v", name, err)})
	}
	switch {
	case pr.Provider == ProviderSocotra && pr.Tenant == "":
		p.fail(nk, "profile %q: a socotra profile needs tenant (the tenant locator)", name)
	case pr.Provider == ProviderVeza && pr.Tenant != "":
		p.c.Warnings = append(p.c.Warnings, &Error{File: p.c.Path, Line: pr.lines["tenant"], Msg: fmt.Sprintf("profile %q: tenant is only used by socotra profiles (ignored)", name)})
	}
	pr.fillDefaults()
	p.c.Profiles[name] = pr
	p.c.Names = append(p.c.Names, name)
}

// path expands ~ and $VARS and makes a relative path relative to the
// config file's directory.
func (p *parser) path(s string) string {
	return expandPath(s, p.dir, p.c.getenv)
}

func expandPath(s, dir string, getenv func(string) string) string {
	s = os.Expand(s, getenv)
	if s == "~" || strings.HasPrefix(s, "~/") {
		if home := getenv("HOME"); home != "" {
			s = filepath.Join(home, s[1:])
		}
	}
	if !filepath.IsAbs(s) && dir != "" {
		s = filepath.Join(dir, s)
	}
	return filepath.Clean(s)
}

// checkURLSyntax checks what can be checked without flags: the scheme, the
// host, and no credentials in the URL.
func checkURLSyntax(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL (want https://host[/prefix])")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("scheme %q: want https://host[/prefix]", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("no host (want https://host[/prefix])")
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not allowed: use token_env, token_file or token_command")
	}
	return nil
}

// IsLoopback reports whether host (no port) is this machine.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Select picks the profile to use:
//  1. name, when given ("env" builds one from VEZA_URL/VEZA_TOKEN unless the
//     file defines a profile of that name);
//  2. otherwise the environment, when VEZA_URL is set;
//  3. otherwise default_profile;
//  4. otherwise the only profile of the file.
//
// It returns nil and no error when nothing is configured at all.
func (c *Config) Select(name string) (*Profile, error) {
	getenv := c.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if name != "" {
		if p, ok := c.Profiles[name]; ok {
			return p, nil
		}
		if name == EnvProfile {
			return c.envProfile(true)
		}
		where := "no config file at " + c.Path
		if c.Path == "" {
			where = "no config file"
		} else if len(c.Names) > 0 {
			where = c.Path + " has " + strings.Join(c.Names, ", ")
		} else if _, err := os.Stat(c.Path); err == nil {
			where = c.Path + " defines no profiles"
		}
		return nil, fmt.Errorf("unknown profile %q (%s)", name, where)
	}
	if getenv("VEZA_URL") != "" {
		return c.envProfile(false)
	}
	if c.DefaultProfile != "" {
		return c.Profiles[c.DefaultProfile], nil
	}
	switch len(c.Names) {
	case 0:
		return nil, nil
	case 1:
		return c.Profiles[c.Names[0]], nil
	}
	return nil, fmt.Errorf("%s has several profiles (%s): pick one with --profile NAME or set default_profile", c.Path, strings.Join(c.Names, ", "))
}

// envProfile is the profile of VEZA_URL and VEZA_TOKEN.
func (c *Config) envProfile(explicit bool) (*Profile, error) {
	getenv := c.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	u := strings.TrimRight(strings.TrimSpace(getenv("VEZA_URL")), "/")
	if u == "" {
		if explicit {
			return nil, errors.New(`profile "env" needs VEZA_URL (and VEZA_TOKEN) in the environment`)
		}
		return nil, nil
	}
	if err := checkURLSyntax(u); err != nil {
		return nil, fmt.Errorf("VEZA_URL: %v", err)
	}
	p := &Profile{Name: EnvProfile, Provider: ProviderVeza, URL: u, TokenEnv: "VEZA_TOKEN", lines: map[string]int{}, getenv: getenv}
	p.fillDefaults()
	return p, nil
}

// Names of the profiles, sorted, for completion and messages.
func (c *Config) SortedNames() []string {
	out := append([]string(nil), c.Names...)
	sort.Strings(out)
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known word closest to s, if it is close.
func suggest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Suggest is the known word closest to s ("" when none is close): for
// did-you-mean hints on binding names.
func Suggest(s string, known []string) string { return suggest(s, known) }
