package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opsdeck/opsdeck/internal/config"
)

// TestTLSVerifiedByDefault: a tenant behind a certificate no trusted CA
// signed (httptest's self-signed one) is refused, for Veza and Socotra
// profiles alike, before a single request (and with it the token) reaches
// it; --insecure, which is about plain http://, does not lift that: there
// is no way to turn certificate checks off.
func TestTLSVerifiedByDefault(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write([]byte(`{"values":[],"has_more":false}`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	socCfg := writeConfig(t, "profiles:\n  billing:\n    provider: socotra\n    url: "+srv.URL+"\n    tenant: t-1\n")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"veza", map[string]string{"VEZA_URL": srv.URL, "VEZA_TOKEN": emuToken}, nil},
		{"veza --insecure", map[string]string{"VEZA_URL": srv.URL, "VEZA_TOKEN": emuToken}, []string{"--insecure"}},
		{"socotra", map[string]string{"XDG_CONFIG_HOME": socCfg, "VEZA_URL": "", "SOCOTRA_TOKEN": emuToken}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"sync", "--cache", filepath.Join(t.TempDir(), "c.db")}, tc.args...)
			code, _, stderr := runMain(t, tc.env, args...)
			if code == 0 || !strings.Contains(stderr, "certificate") {
				t.Fatalf("exit %d, want a certificate error:\n%s", code, stderr)
			}
			if strings.Contains(stderr, emuToken) {
				t.Fatal("the token is in the error")
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("%d requests reached the untrusted server", n)
	}
}

// TestInsecureWarnsOnEveryStart: --insecure (or insecure: true in the
// profile) prints a warning each time a command connects, and says
// plainly when the token would cross the network unencrypted.
func TestInsecureWarnsOnEveryStart(t *testing.T) {
	_, url := emuServer(t, 100, nil)
	env := map[string]string{"VEZA_URL": url, "VEZA_TOKEN": emuToken}
	cache := filepath.Join(t.TempDir(), "c.db")
	for range 2 {
		code, _, stderr := runMain(t, env, "sync", "--insecure", "--cache", cache, "--sources", "jobs")
		if code != 0 || !strings.Contains(stderr, "opsdeck: warning: --insecure allows plain http://") {
			t.Fatalf("exit %d, no warning:\n%s", code, stderr)
		}
	}
	if code, _, stderr := runMain(t, env, "sync", "--cache", cache, "--sources", "jobs"); code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("a warning without --insecure (exit %d):\n%s", code, stderr)
	}
	cfg := writeConfig(t, "profiles:\n  lab:\n    url: "+url+"\n    token_env: LAB_TOKEN\n    insecure: true\n")
	code, _, stderr := runMain(t, map[string]string{"XDG_CONFIG_HOME": cfg, "VEZA_URL": "", "LAB_TOKEN": emuToken}, "sync", "--cache", cache, "--sources", "jobs")
	if code != 0 || !strings.Contains(stderr, `warning: insecure: true in profile "lab"`) {
		t.Fatalf("profile insecure: true (exit %d):\n%s", code, stderr)
	}
	code, _, stderr = runMain(t, map[string]string{"XDG_CONFIG_HOME": cfg, "VEZA_URL": "", "LAB_TOKEN": emuToken}, "get", "job", "nope", "--remote", "--cache", cache)
	if !strings.Contains(stderr, `warning: insecure: true in profile "lab"`) {
		t.Fatalf("get --remote (exit %d) without the warning:\n%s", code, stderr)
	}

	w := insecureWarning(&config.Profile{Name: "far", URL: "http://veza.corp.example:8080"}, true)
	if !strings.Contains(w, "goes to veza.corp.example unencrypted") {
		t.Fatalf("warning for plain http to a remote host: %q", w)
	}
	if w := insecureWarning(&config.Profile{Name: "x", URL: "https://a.example"}, false); w != "" {
		t.Fatalf("warning without insecure: %q", w)
	}
}
