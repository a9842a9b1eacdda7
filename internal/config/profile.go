package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Profile is one tenant opsdeck can sync from.
type Profile struct {
	Name     string
	Provider string // ProviderVeza or ProviderSocotra
	URL      string // base URL, no trailing slash
	Tenant   string // Socotra tenant locator
	// Cache is the cache file ("" until Resolve fills the default).
	Cache    string
	Interval time.Duration
	Insecure bool // http:// to a non-loopback host allowed
	ReadOnly bool // never write upstream

	// Where the token comes from: exactly one, or TokenEnv's default.
	TokenEnv, TokenFile, TokenCommand string
	TokenTimeout                      time.Duration

	// File and Line say where the profile is defined ("" for the
	// environment profile).
	File string
	Line int

	inline *Secret // token: in the file; a pointer so %+v prints an address
	lines  map[string]int
	getenv func(string) string
}

func (p *Profile) fillDefaults() {
	if p.Interval == 0 {
		p.Interval = DefaultInterval
	}
	if p.TokenTimeout == 0 {
		p.TokenTimeout = DefaultTokenTimeout
	}
	if p.TokenEnv == "" && p.TokenFile == "" && p.TokenCommand == "" && p.inline == nil {
		p.TokenEnv = "VEZA_TOKEN"
		if p.Provider == ProviderSocotra {
			p.TokenEnv = "SOCOTRA_TOKEN"
		}
	}
}

// where is "file:line" of a setting of the profile, for messages.
func (p *Profile) where(key string) string {
	if p.File == "" {
		return "environment"
	}
	if l := p.lines[key]; l > 0 {
		return fmt.Sprintf("%s:%d", p.File, l)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// CachePath is the profile's cache file: its cache setting or
// $XDG_DATA_HOME/opsdeck/<name>.db.
func (p *Profile) CachePath() (string, error) {
	if p.Cache != "" {
		return p.Cache, nil
	}
	dir, err := DataDir(p.getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, p.Name+".db"), nil
}

// CheckURL refuses plain http:// to anything but this machine unless the
// profile or the caller (--insecure) allows it: the token would cross the
// network in clear text.
func (p *Profile) CheckURL(insecure bool) error {
	if err := checkURLSyntax(p.URL); err != nil {
		return fmt.Errorf("profile %q (%s): url: %v", p.Name, p.where("url"), err)
	}
	u, _ := url.Parse(p.URL)
	if u.Scheme == "https" || p.Insecure || insecure || IsLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("profile %q (%s): refusing plain http:// to %s: the API token would cross the network unencrypted; use https://, or pass --insecure (insecure: true in the profile) if you really mean it", p.Name, p.where("url"), u.Hostname())
}

// TokenSource describes where the token comes from, for messages (never
// the token itself).
func (p *Profile) TokenSource() string {
	switch {
	case p.inline != nil:
		return "token in " + p.where("token")
	case p.TokenCommand != "":
		return "token_command (" + p.where("token_command") + ")"
	case p.TokenFile != "":
		return "token_file " + p.TokenFile
	}
	return "$" + p.TokenEnv
}

// Token fetches the profile's API token. Errors name the source and never
// contain the token, nor anything a token command printed.
func (p *Profile) Token(ctx context.Context) (Secret, error) {
	getenv := p.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var tok string
	switch {
	case p.inline != nil:
		tok = p.inline.s
	case p.TokenCommand != "":
		t, err := p.runTokenCommand(ctx)
		if err != nil {
			return Secret{}, err
		}
		tok = t
	case p.TokenFile != "":
		t, err := readTokenFile(p.TokenFile)
		if err != nil {
			return Secret{}, fmt.Errorf("profile %q: %w", p.Name, err)
		}
		tok = t
	default:
		tok = strings.TrimSpace(getenv(p.TokenEnv))
		if tok == "" {
			return Secret{}, fmt.Errorf("profile %q: no API token: $%s is empty or unset", p.Name, p.TokenEnv)
		}
	}
	if strings.IndexFunc(tok, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return Secret{}, fmt.Errorf("profile %q: the token from %s contains spaces or control characters", p.Name, p.TokenSource())
	}
	return Secret{tok}, nil
}

// readTokenFile reads the first line of a token file that only its owner
// may read.
func readTokenFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("token_file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("token_file %s is readable or writable by group/others (mode %04o); refusing to use it. Fix: chmod 600 %s", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token_file: %w", err)
	}
	t := firstLine(b)
	if t == "" {
		return "", fmt.Errorf("token_file %s is empty", path)
	}
	return t, nil
}

func firstLine(b []byte) string {
	s := strings.TrimLeft(string(b), " \t\r\n")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// runTokenCommand runs token_command with sh -c and returns the first line
// of its output (what `pass show` prints first). Its stderr is captured and
// never shown: a failing command may well print the secret there.
func (p *Profile) runTokenCommand(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.TokenTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", p.TokenCommand)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second // a grandchild keeping the pipes open must not hang us
	err := cmd.Run()
	what := fmt.Sprintf("profile %q: token_command (%s)", p.Name, p.where("token_command"))
	hidden := ""
	if n := stderr.Len(); n > 0 {
		hidden = fmt.Sprintf(" (its %d bytes of error output are not shown, since they may contain the token: run the command in a shell to see them)", n)
	}
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return "", fmt.Errorf("%s did not finish within %s (token_timeout)%s", what, p.TokenTimeout, hidden)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%s failed with exit status %d%s", what, ee.ExitCode(), hidden)
		}
		return "", fmt.Errorf("%s could not run: %v", what, err)
	}
	t := firstLine(stdout.Bytes())
	if t == "" {
		return "", fmt.Errorf("%s printed no token%s", what, hidden)
	}
	return t, nil
}

// Secret holds a credential. Every way of printing it (fmt verbs, slog,
// text and JSON marshalling) yields "[REDACTED]"; only Reveal returns it.
type Secret struct{ s string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{s} }

const redacted = "[REDACTED]"

// Reveal returns the credential, for the one place that sends it.
func (s Secret) Reveal() string { return s.s }

// Empty reports whether there is no credential.
func (s Secret) Empty() bool { return s.s == "" }

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
