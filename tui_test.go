package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/views"
)

// loopHarness runs syncLoop against url and records what it sends.
type loopHarness struct {
	msgs   chan tea.Msg
	rounds chan error
	after  chan time.Time // feeds the wait between rounds
	cancel context.CancelFunc
	done   chan struct{}
}

func startLoop(t *testing.T, url, token string, vo veza.Options) *loopHarness {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &loopHarness{msgs: make(chan tea.Msg, 100000), rounds: make(chan error, 100), after: make(chan time.Time), done: make(chan struct{})}
	send := func(m tea.Msg) { h.msgs <- m }
	ep := &endpoint{name: "t", provider: config.ProviderVeza, url: url, token: config.NewSecret(token), interval: time.Minute, tokenSource: "$VEZA_TOKEN"}
	status := newSyncStatus("t", url, time.Time{}, send)
	c, err := connect(ep, st, connOptions{watch: status.watch(), vezaOpts: vo})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go status.run(ctx)
	go func() {
		defer close(h.done)
		syncLoop(ctx, loopConfig{conn: c, status: status, send: send, interval: time.Minute, rounds: h.rounds,
			after: func(time.Duration) <-chan time.Time { return h.after }})
	}()
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

// waitSource reads messages until a SourceMsg satisfies ok, and returns it
// with every message read on the way.
func (h *loopHarness) waitSource(ok func(ui.SourceMsg) bool) (ui.SourceMsg, []tea.Msg) {
	var seen []tea.Msg
	for m := range h.msgs {
		seen = append(seen, m)
		if s, is := m.(ui.SourceMsg); is && ok(s) {
			return s, seen
		}
	}
	panic("unreachable")
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestTUIGoesOfflineAtFirstConnectFailure(t *testing.T) {
	// Retries back off for an hour: the round cannot end before the test
	// cancels it, so the offline state must come from the first refused
	// connect, not from the round giving up.
	h := startLoop(t, "http://"+closedAddr(t), "tok", veza.Options{BaseBackoff: time.Hour, MaxBackoff: time.Hour})
	s, _ := h.waitSource(func(s ui.SourceMsg) bool { return !s.Syncing })
	if s.Online || !strings.HasPrefix(s.State, "offline since ") || !strings.HasSuffix(s.State, "(retrying)") {
		t.Fatalf("first state after syncing: %+v", s)
	}
	if len(h.rounds) != 0 {
		t.Fatal("the round ended before the status said offline")
	}
	// The flash says why, once.
	for m := range h.msgs {
		if f, ok := m.(ui.FlashMsg); ok {
			if !strings.Contains(f.Text, "connection refused") || f.Level != ui.FlashWarn {
				t.Fatalf("flash %+v", f)
			}
			break
		}
	}
}

func TestTUIBackOnlineAndSynced(t *testing.T) {
	addr := closedAddr(t)
	emu := emulator.New(emulator.Options{Seed: 3, Scale: 400, Token: "tok"})
	h := startLoop(t, "http://"+addr, "tok", veza.Options{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond, MaxRetries: 1})
	h.waitSource(func(s ui.SourceMsg) bool { return !s.Online })
	if err := <-h.rounds; !isOffline(err) {
		t.Fatalf("round error %v is not an offline error", err)
	}
	// The tenant comes up on the same address; the next round finds it.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", addr, err)
	}
	srv := httptest.NewUnstartedServer(emu)
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	h.after <- time.Now()
	s, seen := h.waitSource(func(s ui.SourceMsg) bool { return strings.HasPrefix(s.State, "last synced") })
	if !s.Online || s.Syncing || s.Error || s.State != "last synced just now" {
		t.Fatalf("after a good round: %+v", s)
	}
	var back, synced bool
	for _, m := range seen {
		switch m := m.(type) {
		case ui.FlashMsg:
			back = back || strings.HasPrefix(m.Text, "back online")
		case views.SyncedMsg:
			synced = synced || m.Entity == "jobs" && m.Rows > 0
		}
	}
	if !back || !synced {
		t.Fatalf("back-online flash %v, jobs SyncedMsg %v", back, synced)
	}
	if err := <-h.rounds; err != nil {
		t.Fatal(err)
	}
}

func TestTUIRefusedTokenIsAnErrorNotOffline(t *testing.T) {
	emu := emulator.New(emulator.Options{Seed: 3, Scale: 200, Token: "right"})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	h := startLoop(t, srv.URL, "wrong-t0ken", veza.Options{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	s, seen := h.waitSource(func(s ui.SourceMsg) bool { return !s.Syncing })
	if !s.Error || !s.Online || !strings.Contains(s.State, "refused the API token (HTTP 401)") || !strings.Contains(s.State, `$VEZA_TOKEN of profile "t"`) {
		t.Fatalf("state %+v", s)
	}
	for _, m := range append(seen, <-h.msgs) {
		if strings.Contains(strings.ToLower(fmtMsg(m)), "wrong-t0ken") {
			t.Fatalf("token on screen: %+v", m)
		}
	}
}

func fmtMsg(m tea.Msg) string {
	switch m := m.(type) {
	case ui.SourceMsg:
		return m.State + " " + m.URL
	case ui.FlashMsg:
		return m.Text
	}
	return ""
}

func TestStatusTexts(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.Local)
	s := newSyncStatus("p", "https://x", now.Add(-2*time.Minute-time.Second), nil)
	s.now = func() time.Time { return now }
	if m := s.msg(); m.State != "last synced 2 min ago" || !m.Online {
		t.Fatalf("%+v", m)
	}
	s.lastSync = now.Add(-3 * time.Hour)
	if m := s.msg(); m.State != "last synced 3 h ago" {
		t.Fatalf("%+v", m)
	}
	s.syncing, s.progress = true, "jobs 12,300"
	if m := s.msg(); m.State != "syncing jobs 12,300" || !m.Syncing {
		t.Fatalf("%+v", m)
	}
	s.offlineSince = time.Date(2026, 3, 1, 11, 58, 0, 0, time.Local)
	if m := s.msg(); m.State != "offline since 11:58 (retrying)" || m.Online || m.Syncing {
		t.Fatalf("%+v", m)
	}
	s.offlineSince, s.syncing, s.errText = time.Time{}, false, "HTTP 403"
	if m := s.msg(); m.State != "error: HTTP 403" || !m.Error {
		t.Fatalf("%+v", m)
	}
	s.errText, s.lastSync = "", time.Time{}
	if m := s.msg(); m.State != "not synced yet" {
		t.Fatalf("%+v", m)
	}
}

func TestConnectFailureClassification(t *testing.T) {
	_, err := http.Get("http://" + closedAddr(t))
	if !isConnectFailure(err) || connectCause(err) != "connection refused" {
		t.Fatalf("refused: %v (%q)", err, connectCause(err))
	}
	_, err = http.Get("http://no-such-host.invalid/")
	if !isConnectFailure(err) || !strings.HasPrefix(connectCause(err), "no such host") {
		t.Fatalf("dns: %v (%q)", err, connectCause(err))
	}
	if isConnectFailure(&veza.APIError{Status: 500}) || isOffline(&veza.APIError{Status: 401}) {
		t.Fatal("an HTTP answer is not a connect failure")
	}
}

func TestBuildKeysReportsFileAndLine(t *testing.T) {
	src := "keys:\n  down: [j, ctrl+n]\n  restart: [ctrl+k]\n  dwon: x\n  bottom: [G, ctrl+n]\n  quit: [Q]\n"
	cfg, err := config.Parse("/cfg/config.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, problems := buildKeys(cfg)
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		`/cfg/config.yaml:3: keys: binding "restart" changes things upstream and may not be on "ctrl+k"`,
		`/cfg/config.yaml:4: keys: unknown binding "dwon" (did you mean "down"?)`,
		`/cfg/config.yaml:5: keys: key "ctrl+n" is bound to both "down" and "bottom"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	if len(problems) != 3 {
		t.Errorf("want exactly 3 problems:\n%s", got)
	}
	if k := keys.Get("quit").Keys(); len(k) != 1 || k[0] != "Q" {
		t.Errorf("a good remap was not applied: %v", k)
	}
	if k := keys.Get("restart").Keys(); strings.Join(k, ",") != "R" {
		t.Errorf("a refused remap changed the binding: %v", k)
	}
}

func TestBuildThemeHonoursNoColor(t *testing.T) {
	var buf strings.Builder
	th := buildTheme(&buf, "dark", "light", true)
	if _, ok := th.Accent.(lipgloss.NoColor); !ok {
		t.Fatalf("NO_COLOR: accent %#v", th.Accent)
	}
	th = buildTheme(&buf, "", "light", false)
	if th.R.HasDarkBackground() {
		t.Fatal("config theme light not applied")
	}
	th = buildTheme(&buf, "dark", "light", false)
	if !th.R.HasDarkBackground() {
		t.Fatal("--theme dark must win over the config")
	}
}
