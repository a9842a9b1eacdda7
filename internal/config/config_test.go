package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const example = `# opsdeck configuration
default_profile: prod
theme: dark
keys:
  down: [j, ctrl+n]
  quit: Q
profiles:
  prod:
    provider: veza
    url: https://acme.vezacloud.com/
    token_command: pass show veza/prod
    interval: 2m
    read_only: true
  staging:
    url: https://acme-staging.vezacloud.com
    token_env: STAGING_TOKEN
    cache: ~/caches/staging.db
  billing:
    provider: socotra
    url: https://api.sandbox.socotra.com
    tenant: 6b1f6c2a-tenant
    token_file: socotra.token
    interval: 300
`

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseExample(t *testing.T) {
	c, err := Parse("/etc/x/config.yaml", []byte(example), env(map[string]string{"HOME": "/home/u"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Fatalf("warnings: %v", c.Warnings)
	}
	if c.DefaultProfile != "prod" || c.Theme != "dark" {
		t.Fatalf("top: %+v", c)
	}
	if fmt.Sprint(c.Names) != "[prod staging billing]" {
		t.Fatalf("names %v", c.Names)
	}
	if fmt.Sprint(c.Keys) != "[{down [j ctrl+n] 5} {quit [Q] 6}]" {
		t.Fatalf("keys %v", c.Keys)
	}
	prod := c.Profiles["prod"]
	if prod.URL != "https://acme.vezacloud.com" || prod.Interval != 2*time.Minute || !prod.ReadOnly || prod.TokenCommand != "pass show veza/prod" || prod.Line != 8 {
		t.Fatalf("prod %+v", prod)
	}
	st := c.Profiles["staging"]
	if st.Provider != ProviderVeza || st.Cache != "/home/u/caches/staging.db" || st.Interval != DefaultInterval || st.TokenEnv != "STAGING_TOKEN" {
		t.Fatalf("staging %+v", st)
	}
	b := c.Profiles["billing"]
	if b.Provider != ProviderSocotra || b.Tenant != "6b1f6c2a-tenant" || b.TokenFile != "/etc/x/socotra.token" || b.Interval != 5*time.Minute {
		t.Fatalf("billing %+v", b)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"yaml syntax", "profiles:\n  a: [\n", "c.yaml:2: not valid YAML"},
		{"provider", "profiles:\n  a:\n    provider: jira\n    url: https://x\n", `c.yaml:3: provider "jira": want veza or socotra`},
		{"interval", "profiles:\n  a:\n    url: https://x\n    interval: soon\n", `c.yaml:4: interval: "soon" is not a duration`},
		{"short interval", "profiles:\n  a:\n    url: https://x\n    interval: 1s\n", "c.yaml:4: interval 1s is shorter than the minimum 5s"},
		{"two token sources", "profiles:\n  a:\n    url: https://x\n    token_env: A\n    token_file: /f\n", `c.yaml:2: profile "a": give one of token_env, token_file, token_command or token, not token_env and token_file`},
		{"no url", "profiles:\n  a:\n    provider: veza\n", `c.yaml:2: profile "a": url is required`},
		{"bad scheme", "profiles:\n  a:\n    url: ftp://x\n", `c.yaml:3: profile "a": url: scheme "ftp"`},
		{"userinfo", "profiles:\n  a:\n    url: https://me:pw@x\n", "credentials in the URL are not allowed"},
		{"socotra tenant", "profiles:\n  s:\n    provider: socotra\n    url: https://x\n", `c.yaml:2: profile "s": a socotra profile needs tenant`},
		{"default unknown", "default_profile: nope\nprofiles:\n  a:\n    url: https://x\n", `c.yaml:1: default_profile "nope" is not a profile here (profiles: a)`},
		{"duplicate", "profiles:\n  a:\n    url: https://x\n    url: https://y\n", `c.yaml:4: "url" is given twice (first on line 3)`},
		{"theme", "theme: pink\n", `c.yaml:1: theme "pink": want one of auto, dark, light`},
		{"bool", "profiles:\n  a:\n    url: https://x\n    insecure: maybe\n", "c.yaml:4: insecure must be true or false"},
		{"keys shape", "keys:\n  down: {a: b}\n", `c.yaml:2: keys of "down" must be a key or a list of keys`},
		{"empty key", "keys:\n  down: []\n", `c.yaml:2: binding "down": no keys given`},
		{"profile name", "profiles:\n  ../x:\n    url: https://x\n", `c.yaml:2: profile name "../x"`},
		{"not a mapping", "- a\n- b\n", "c.yaml:1: the file must be a mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.src), env(nil))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse("c.yaml", []byte("theme: pink\nprofiles:\n  a:\n    provider: jira\n"), env(nil))
	for _, want := range []string{"c.yaml:1: theme", "c.yaml:4: provider", "c.yaml:3: profile \"a\": url is required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want %q", err, want)
		}
	}
}

func TestUnknownKeysAreWarnings(t *testing.T) {
	c, err := Parse("c.yaml", []byte("them: dark\nprofiles:\n  a:\n    url: https://x\n    tokn_env: X\n    colour: red\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(c.Warnings)
	for _, want := range []string{
		`c.yaml:1: unknown key "them" (ignored); did you mean "theme"?`,
		`c.yaml:5: unknown key "tokn_env" in profile "a" (ignored); did you mean "token_env"?`,
		`c.yaml:6: unknown key "colour" in profile "a" (ignored)`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %s\nmissing %q", got, want)
		}
	}
}

func TestDefaultTokenEnvPerProvider(t *testing.T) {
	c, err := Parse("c.yaml", []byte("profiles:\n  v:\n    url: https://x\n  s:\n    provider: socotra\n    url: https://y\n    tenant: t\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Profiles["v"].TokenEnv != "VEZA_TOKEN" || c.Profiles["s"].TokenEnv != "SOCOTRA_TOKEN" {
		t.Fatalf("%q %q", c.Profiles["v"].TokenEnv, c.Profiles["s"].TokenEnv)
	}
}

func TestSelect(t *testing.T) {
	two := "default_profile: b\nprofiles:\n  a:\n    url: https://a\n  b:\n    url: https://b\n"
	noDefault := "profiles:\n  a:\n    url: https://a\n  b:\n    url: https://b\n"
	one := "profiles:\n  a:\n    url: https://a\n"
	cases := []struct {
		name, src, pick string
		env             map[string]string
		want, err       string
	}{
		{"explicit", two, "a", nil, "a https://a", ""},
		{"default", two, "", nil, "b https://b", ""},
		{"env beats default", two, "", map[string]string{"VEZA_URL": "https://e/"}, "env https://e", ""},
		{"explicit beats env", two, "a", map[string]string{"VEZA_URL": "https://e"}, "a https://a", ""},
		{"only profile", one, "", nil, "a https://a", ""},
		{"ambiguous", noDefault, "", nil, "", "several profiles (a, b)"},
		{"nothing", "", "", nil, "<nil>", ""},
		{"env only", "", "", map[string]string{"VEZA_URL": "http://127.0.0.1:9"}, "env http://127.0.0.1:9", ""},
		{"explicit env without VEZA_URL", "", "env", nil, "", "needs VEZA_URL"},
		{"unknown", two, "zzz", nil, "", `unknown profile "zzz" (c.yaml has a, b)`},
		{"bad VEZA_URL", "", "", map[string]string{"VEZA_URL": "acme.vezacloud.com"}, "", "VEZA_URL: scheme"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("c.yaml", []byte(c.src), env(c.env))
			if err != nil {
				t.Fatal(err)
			}
			p, err := cfg.Select(c.pick)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := "<nil>"
			if p != nil {
				got = p.Name + " " + p.URL
			}
			if got != c.want {
				t.Fatalf("got %q want %q", got, c.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	cases := []struct {
		url      string
		insecure bool // in the profile
		flag     bool // --insecure
		ok       bool
	}{
		{"https://acme.vezacloud.com", false, false, true},
		{"http://acme.vezacloud.com", false, false, false},
		{"http://acme.vezacloud.com", true, false, true},
		{"http://acme.vezacloud.com", false, true, true},
		{"http://127.0.0.1:8089", false, false, true},
		{"http://[::1]:8089", false, false, true},
		{"http://localhost:8089", false, false, true},
		{"http://10.0.0.5", false, false, false},
	}
	for _, c := range cases {
		p := &Profile{Name: "p", URL: c.url, Insecure: c.insecure}
		err := p.CheckURL(c.flag)
		if (err == nil) != c.ok {
			t.Errorf("%s insecure=%v flag=%v: %v", c.url, c.insecure, c.flag, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--insecure") {
			t.Errorf("message should say how to override: %v", err)
		}
	}
}

func TestCachePathDefaults(t *testing.T) {
	p := &Profile{Name: "prod", getenv: env(map[string]string{"XDG_DATA_HOME": "/data", "HOME": "/home/u"})}
	if got, _ := p.CachePath(); got != "/data/opsdeck/prod.db" {
		t.Fatal(got)
	}
	p.getenv = env(map[string]string{"HOME": "/home/u"})
	if got, _ := p.CachePath(); got != "/home/u/.local/share/opsdeck/prod.db" {
		t.Fatal(got)
	}
	p.Cache = "/x/y.db"
	if got, _ := p.CachePath(); got != "/x/y.db" {
		t.Fatal(got)
	}
	if got, _ := DefaultPath(env(map[string]string{"XDG_CONFIG_HOME": "/cfg", "HOME": "/home/u"})); got != "/cfg/opsdeck/config.yaml" {
		t.Fatal(got)
	}
	if got, _ := DefaultPath(env(map[string]string{"HOME": "/home/u"})); got != "/home/u/.config/opsdeck/config.yaml" {
		t.Fatal(got)
	}
}

const secretTok = "s3cr3t-T0KEN-value"

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
}

func TestLoadRefusesReadableFileWithToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	src := "profiles:\n  a:\n    url: https://x\n    token: " + secretTok + "\n"
	writeFile(t, path, src, 0o644)
	_, err := Load(path, true, env(nil))
	if err == nil {
		t.Fatal("a group/other-readable file with a token was accepted")
	}
	msg := err.Error()
	for _, want := range []string{path + ":4:", "readable by group/others", "mode 0644", "chmod 600 " + path} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, secretTok) {
		t.Fatal("the refusal repeats the token")
	}

	writeFile(t, path, src, 0o600)
	c, err := Load(path, true, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Profiles["a"].Token(context.Background())
	if err != nil || tok.Reveal() != secretTok {
		t.Fatalf("inline token: %v", err)
	}

	// No token in the file: readable is fine.
	writeFile(t, path, "profiles:\n  a:\n    url: https://x\n", 0o644)
	if _, err := Load(path, true, env(nil)); err != nil {
		t.Fatal(err)
	}
	// Writable by others: anyone could plant a token_command.
	writeFile(t, path, "profiles:\n  a:\n    url: https://x\n", 0o666)
	if _, err := Load(path, true, env(nil)); err == nil || !strings.Contains(err.Error(), "chmod go-w") {
		t.Fatalf("group-writable config: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.yaml")
	c, err := Load(path, false, env(nil))
	if err != nil || len(c.Names) != 0 {
		t.Fatalf("%v %v", c, err)
	}
	if _, err := Load(path, true, env(nil)); err == nil {
		t.Fatal("--config with a missing file must fail")
	}
}

func TestTokenSources(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tok")
	writeFile(t, tokFile, "\n"+secretTok+"\nsecond line\n", 0o600)
	loose := filepath.Join(dir, "loose")
	writeFile(t, loose, secretTok, 0o640)
	cases := []struct {
		name, profile string
		env           map[string]string
		want          string // "" = error expected
		errWant       string
	}{
		{"env default", "url: https://x", map[string]string{"VEZA_TOKEN": secretTok}, secretTok, ""},
		{"env named", "url: https://x\n    token_env: MY_TOK", map[string]string{"MY_TOK": " " + secretTok + "\n"}, secretTok, ""},
		{"env missing", "url: https://x", nil, "", "$VEZA_TOKEN is empty or unset"},
		{"file", "url: https://x\n    token_file: " + tokFile, nil, secretTok, ""},
		{"file loose", "url: https://x\n    token_file: " + loose, nil, "", "chmod 600 " + loose},
		{"file missing", "url: https://x\n    token_file: " + filepath.Join(dir, "nope"), nil, "", "token_file:"},
		{"command", "url: https://x\n    token_command: printf '%s\\n' " + secretTok + " second; echo " + secretTok + " >&2", nil, secretTok, ""},
		{"command fails", "url: https://x\n    token_command: echo " + secretTok + " >&2; echo " + secretTok + "; exit 3", nil, "", "c.yaml:4) failed with exit status 3 (its 19 bytes of error output are not shown"},
		{"command empty", "url: https://x\n    token_command: 'true'", nil, "", "printed no token"},
		{"command timeout", "url: https://x\n    token_command: echo " + secretTok + " >&2; exec sleep 30\n    token_timeout: 50ms", nil, "", "did not finish within 50ms"},
		{"spaces", "url: https://x", map[string]string{"VEZA_TOKEN": "two words"}, "", "contains spaces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse(filepath.Join(dir, "c.yaml"), []byte("profiles:\n  p:\n    "+c.profile+"\n"), env(c.env))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cfg.Profiles["p"].Token(context.Background())
			if c.want != "" {
				if err != nil || tok.Reveal() != c.want {
					t.Fatalf("token %v err %v", tok.Reveal() == c.want, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.errWant) {
				t.Fatalf("err %v, want %q", err, c.errWant)
			}
			if strings.Contains(err.Error(), secretTok) {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := NewSecret(secretTok)
	p := &Profile{Name: "p", inline: &s}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "tok", s, "profile", p)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "tok", s)
	js, _ := json.Marshal(map[string]any{"t": s})
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%v %s %q %x %+v %#v %d", s, s, s, s, s, s, s),
		fmt.Sprintf("%+v %#v", p, p), fmt.Sprintf("%+v", *p), logBuf.String(), string(js),
		fmt.Errorf("wrap: %w", errors.New(s.String())).Error(),
	}
	for _, o := range outs {
		if strings.Contains(o, secretTok) {
			t.Fatalf("secret printed: %s", o)
		}
	}
	if !strings.Contains(outs[0], "REDACTED") {
		t.Fatalf("%q", outs[0])
	}
}
