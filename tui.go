package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/views"
)

// tuiFlags are the flags of the commands that open the TUI.
type tuiFlags struct {
	cache    string
	log      logFlags
	readOnly bool
	insecure bool
	theme    string
	mouse    bool
	offline  bool
}

func (f *tuiFlags) register(fs *flag.FlagSet, g *globals) {
	g.register(fs)
	fs.StringVar(&f.cache, "cache", "", "cache file (default: the profile's, $XDG_DATA_HOME/opsdeck/PROFILE.db)")
	f.log.register(fs)
	fs.BoolVar(&f.readOnly, "read-only", false, "never write to the API (actions disabled)")
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain http:// to a non-loopback host (the token crosses the network unencrypted)")
	fs.StringVar(&f.theme, "theme", "", "colours: auto (from the terminal background), dark or light (default: the config's theme, else auto); NO_COLOR turns colour off")
	fs.BoolVar(&f.mouse, "mouse", false, "mouse support (the wheel scrolls); off by default so the terminal's text selection works")
	fs.BoolVar(&f.offline, "offline", false, "open the cache without syncing (no token needed)")
}

func (f *tuiFlags) validate() error {
	if f.theme != "" && !contains(config.Themes, f.theme) {
		return usageError{fmt.Errorf("--theme %q: want one of %s", f.theme, strings.Join(config.Themes, ", "))}
	}
	return nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// tuiRun is everything runTUI needs.
type tuiRun struct {
	f             tuiFlags
	cfg           *config.Config
	profile       string // header label; "" when nothing is configured
	cache         string
	ep            *endpoint // nil: offline
	initialFilter string
	stderr        io.Writer
	vezaOpts      veza.Options
	// profiles lists what `:profile NAME` can switch to, and open prepares
	// the run of one (endpoint and token fetched: a failure stays in the
	// current session as a flash). nil: no switching.
	profiles []string
	open     func(name string) (tuiRun, error)
}

func cmdTUI(g globals, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsdeck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage, "\nFlags:\n"); fs.PrintDefaults() }
	var f tuiFlags
	f.register(fs, &g)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	t, err := resolve(g, f.cache, stderr)
	if err != nil {
		return err
	}
	r := tuiRun{f: f, cfg: t.cfg, profile: t.profileName(), cache: t.cache, stderr: stderr}
	if t.profile != nil && !f.offline {
		r.ep, err = endpointOf(context.Background(), t.profile, f.insecure)
		if err != nil {
			return fmt.Errorf("%w\n(--offline opens the cache without syncing)", err)
		}
		if w := insecureWarning(t.profile, f.insecure); w != "" {
			fmt.Fprintf(stderr, "opsdeck: %s\n", w) // stays on the screen under the TUI's alternate screen
		}
	}
	r.profiles = t.cfg.SortedNames()
	r.open = func(name string) (tuiRun, error) {
		g2 := g
		g2.profile = name
		ff := f
		ff.cache = "" // each profile has its own cache
		t2, err := resolve(g2, "", io.Discard)
		if err != nil {
			return tuiRun{}, err
		}
		n := tuiRun{f: ff, cfg: t2.cfg, profile: t2.profileName(), cache: t2.cache, stderr: stderr, profiles: r.profiles, open: r.open}
		if t2.profile != nil && !ff.offline {
			if n.ep, err = endpointOf(context.Background(), t2.profile, ff.insecure); err != nil {
				return tuiRun{}, err
			}
		}
		return n, nil
	}
	return runTUI(r)
}

func cmdDemo(g globals, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsdeck demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f tuiFlags
	f.register(fs, &g)
	scale := fs.Int("scale", 30000, "number of integration jobs the emulator serves")
	seed := fs.Int64("seed", 1, "emulator data seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	// The demo's source is its own emulator; the config file still gives
	// the keys and the theme.
	cfg, err := loadConfig(g, stderr)
	if err != nil {
		return err
	}
	if f.cache == "" {
		// A fresh cache every time: the demo shows a first sync.
		dir, err := os.MkdirTemp("", "opsdeck-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		f.cache = filepath.Join(dir, "demo.db")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The demo's data ends just before now, so "what is failing right now"
	// reads true; the standalone emulator pins a date for reproducibility.
	em, err := emulator.Start(ctx, "127.0.0.1:0", emulator.Options{Seed: *seed, Scale: *scale, Token: randomToken(), Now: time.Now().Truncate(time.Hour)})
	if err != nil {
		return fmt.Errorf("start emulator: %w", err)
	}
	defer em.Close()
	// Two profiles on the one emulator: the Veza tenant and the Socotra
	// tenant (`:profile demo-socotra`), each with its own cache.
	demoRun := func(name string) (tuiRun, error) {
		ep := &endpoint{name: name, provider: config.ProviderVeza, url: em.URL, token: config.NewSecret(em.Token),
			interval: config.DefaultInterval, tokenSource: "the demo emulator"}
		r := tuiRun{f: f, cfg: cfg, profile: name, cache: f.cache, ep: ep, initialFilter: `state eq "ERRORED"`, stderr: stderr}
		switch name {
		case "demo":
		case "demo-socotra":
			ep.provider, ep.tenant = config.ProviderSocotra, em.SocotraTenant
			r.cache = strings.TrimSuffix(f.cache, ".db") + "-socotra.db"
			r.initialFilter = ""
		default:
			return tuiRun{}, fmt.Errorf("the demo has the profiles demo and demo-socotra, not %q", name)
		}
		return r, nil
	}
	r, _ := demoRun("demo")
	r.profiles = []string{"demo", "demo-socotra"}
	var open func(string) (tuiRun, error)
	open = func(name string) (tuiRun, error) {
		n, err := demoRun(name)
		n.profiles, n.open = r.profiles, open
		return n, err
	}
	r.open = open
	return runTUI(r)
}

// runTUI runs the TUI for r, and again for each profile the user switches
// to with `:profile NAME` (a new session: cache, client and sync are all
// per profile).
func runTUI(r tuiRun) error {
	for {
		next, err := runTUIOnce(r)
		if err != nil || next == nil {
			return err
		}
		r = *next
	}
}

// runTUIOnce opens the cache, starts the background sync when there is an
// endpoint and runs the program until the user quits, or switches profile
// (the returned run).
func runTUIOnce(r tuiRun) (*tuiRun, error) {
	log, closeLog, err := r.f.log.open(r.cache)
	if err != nil {
		return nil, err
	}
	defer closeLog()
	st, err := store.Open(r.cache)
	if err != nil && r.ep == nil && errors.Is(err, os.ErrPermission) {
		st, err = store.OpenReadOnly(r.cache)
	}
	if err != nil {
		return nil, err
	}
	defer st.Close()
	log.Info("opsdeck start", "cache", r.cache, "profile", r.profile, "online", r.ep != nil, "version", version())

	keys, problems := buildKeys(r.cfg)
	for _, p := range problems {
		fmt.Fprintf(r.stderr, "opsdeck: %s\n", p)
		log.Warn("keymap", "problem", p)
	}
	for _, w := range r.cfg.Warnings {
		problems = append(problems, w.Error())
	}
	theme := buildTheme(os.Stdout, r.f.theme, r.cfg.Theme, os.Getenv("NO_COLOR") != "")
	out := termenv.NewOutput(os.Stdout)
	common := &views.Common{
		Theme: theme, Keys: keys, Store: st, Log: log, Now: time.Now, Loc: time.Local,
		Copy:     func(s string) error { out.Copy(s); return nil },
		ReadOnly: r.f.readOnly || (r.ep != nil && r.ep.readOnly),
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var p *tea.Program
	send := func(m tea.Msg) { p.Send(m) } // used once p exists
	last := lastSyncOf(st)
	var (
		c      *conn
		status *syncStatus
	)
	if r.ep != nil {
		status = newSyncStatus(r.profile, displayURL(r.ep.url), last, send)
		c, err = connect(r.ep, st, connOptions{log: log, watch: status.watch(), vezaOpts: r.vezaOpts})
		if err != nil {
			return nil, err
		}
	}
	if c != nil {
		common.Veza, common.Socotra = c.veza, c.soc
	}
	var root ui.View
	if r.ep != nil && r.ep.provider == config.ProviderSocotra {
		root, err = views.NewSocotraEvents(common, r.initialFilter)
	} else {
		root, err = views.NewJobs(common, r.initialFilter)
	}
	if err != nil {
		return nil, err
	}
	var next *tuiRun
	cmds := views.Commands(common)
	if r.open != nil {
		cmds = append(cmds, ui.Command{Name: "profile", Help: "switch profile: " + strings.Join(r.profiles, ", "),
			Complete: func(string) []string { return r.profiles },
			Action: func(args string) tea.Cmd {
				name := strings.TrimSpace(args)
				if name == "" {
					return ui.Flash(ui.FlashInfo, "profile %s; others: %s", r.profile, strings.Join(r.profiles, ", "))
				}
				if name == r.profile {
					return ui.Flash(ui.FlashInfo, "already on profile %s", name)
				}
				n, err := r.open(name)
				if err != nil {
					return ui.Flash(ui.FlashError, "profile %s: %v", name, err)
				}
				log.Info("switching profile", "from", r.profile, "to", name)
				next = &n
				return tea.Quit
			}})
	}
	app := ui.NewApp(theme, keys, root, cmds)
	opts := []tea.ProgramOption{tea.WithAltScreen(), tea.WithContext(ctx)}
	if r.f.mouse {
		opts = append(opts, tea.WithMouseCellMotion())
	}
	p = tea.NewProgram(app, opts...)
	app.CrashDir = filepath.Dir(cmp.Or(r.f.log.file, r.cache)) // crash reports go beside the log
	// bubbletea restores the terminal on SIGTERM (a QuitMsg); a hangup
	// (kill -HUP, the terminal window closed) gets the same clean exit.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		select {
		case <-hup:
			p.Quit()
		case <-ctx.Done():
		}
	}()

	switch {
	case c != nil:
		resync := make(chan struct{}, 1)
		app.OnResync = func() {
			select {
			case resync <- struct{}{}:
			default:
			}
		}
		app.SetSource(status.msg())
		go status.run(ctx)
		go syncLoop(ctx, loopConfig{conn: c, status: status, send: send, log: log, resync: resync, interval: r.ep.interval})
	case r.f.offline:
		app.SetSource(ui.SourceMsg{Profile: r.profile, State: offlineState("--offline", last)})
	default:
		app.SetSource(ui.SourceMsg{Profile: r.profile, State: offlineState("no profile configured (set VEZA_URL and VEZA_TOKEN, or see opsdeck help)", last)})
	}
	if len(problems) > 0 {
		text := problems[0]
		if len(problems) > 1 {
			text += fmt.Sprintf(" (+%d more: see the log)", len(problems)-1)
		}
		go p.Send(ui.FlashMsg{Text: text, Level: ui.FlashWarn})
	}
	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return next, nil
}

// buildKeys applies the config file's remaps to the default keymap and
// returns every problem as "file:line: message": unknown names, refused
// remaps (a destructive binding on an accident key) and conflicts.
func buildKeys(cfg *config.Config) (*keymap.Map, []string) {
	keys := keymap.Default()
	var problems []string
	at := func(line int) string {
		if cfg.Path == "" {
			return "config"
		}
		return fmt.Sprintf("%s:%d", cfg.Path, line)
	}
	names := keys.Names()
	lineOf := map[string]int{}
	for _, r := range cfg.Keys {
		if !contains(names, r.Name) {
			msg := fmt.Sprintf("%s: keys: unknown binding %q", at(r.Line), r.Name)
			if s := config.Suggest(r.Name, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			problems = append(problems, msg)
			continue
		}
		if err := keys.Rebind(map[string][]string{r.Name: r.Keys}); err != nil {
			problems = append(problems, fmt.Sprintf("%s: keys: %s", at(r.Line), strings.TrimPrefix(err.Error(), "keymap: ")))
			continue
		}
		lineOf[r.Name] = r.Line
	}
	for _, c := range keys.ConflictList() {
		line, ok := lineOf[c.Second]
		if l2, ok2 := lineOf[c.First]; ok2 && (!ok || l2 > line) {
			line, ok = l2, true
		}
		if !ok {
			problems = append(problems, "keymap: "+c.String())
			continue
		}
		problems = append(problems, fmt.Sprintf("%s: keys: %s", at(line), c))
	}
	return keys, problems
}

// buildTheme picks the theme: NO_COLOR wins (no colour, attributes kept);
// then --theme, the config's theme, and auto, which asks the terminal for
// its background now, before the program owns the input.
func buildTheme(w io.Writer, flagTheme, cfgTheme string, noColor bool) *ui.Theme {
	r := lipgloss.NewRenderer(w)
	if noColor {
		if f, ok := w.(*os.File); ok && term.IsTerminal(f.Fd()) {
			r.SetColorProfile(termenv.ANSI) // bold and reverse video, no colour
		}
		return ui.NewThemeMode(r, ui.ThemeNone)
	}
	mode := flagTheme
	if mode == "" {
		mode = cfgTheme
	}
	if mode == "" {
		mode = ui.ThemeAuto
	}
	if mode == ui.ThemeAuto {
		r.HasDarkBackground() // query once, now
	}
	return ui.NewThemeMode(r, mode)
}

// displayURL is u without credentials or query: safe for the header.
func displayURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return ""
	}
	pu.User, pu.RawQuery, pu.Fragment = nil, "", ""
	return pu.String()
}

func lastSyncOf(st *store.Store) time.Time {
	v, _, _ := st.GetMeta(context.Background(), store.MetaLastSync)
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}
	}
	return t
}

func offlineState(why string, last time.Time) string {
	s := "offline: " + why
	if !last.IsZero() {
		s += " · cache from " + last.Local().Format("2006-01-02 15:04")
	}
	return s
}

// syncStatus is the header's sync segment. Updates come from the sync
// loop, the progress callback and the connection watch, on different
// goroutines; one sender goroutine (run) delivers the latest state, so the
// UI never sees them out of order.
type syncStatus struct {
	mu           gosync.Mutex
	profile, url string
	syncing      bool
	progress     string    // "jobs 12,300"
	offlineSince time.Time // zero when online
	offlineWhy   string
	errText      string
	lastSync     time.Time
	flash        *ui.FlashMsg

	now  func() time.Time
	send func(tea.Msg)
	kick chan struct{}
}

func newSyncStatus(profile, url string, lastSync time.Time, send func(tea.Msg)) *syncStatus {
	return &syncStatus{profile: profile, url: url, lastSync: lastSync, now: time.Now, send: send, kick: make(chan struct{}, 1)}
}

// update changes the state under the lock and wakes the sender.
func (s *syncStatus) update(f func()) {
	s.mu.Lock()
	f()
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// refreshEvery re-sends an idle status so "last synced 2 min ago" ages.
const refreshEvery = 30 * time.Second

func (s *syncStatus) run(ctx context.Context) {
	t := time.NewTicker(refreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		case <-t.C:
		}
		s.mu.Lock()
		m, fl := s.msgLocked(), s.flash
		s.flash = nil
		s.mu.Unlock()
		s.send(m)
		if fl != nil {
			s.send(*fl)
		}
	}
}

func (s *syncStatus) msg() ui.SourceMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgLocked()
}

func (s *syncStatus) msgLocked() ui.SourceMsg {
	m := ui.SourceMsg{Profile: s.profile, URL: s.url, Online: true}
	switch {
	case !s.offlineSince.IsZero():
		m.Online = false
		m.State = "offline since " + s.offlineSince.Local().Format("15:04") + " (retrying)"
	case s.syncing:
		m.Syncing = true
		m.State = "syncing " + s.progress
	case s.errText != "":
		m.Error = true
		m.State = "error: " + s.errText
	case s.lastSync.IsZero():
		m.State = "not synced yet"
	default:
		m.State = "last synced " + ago(s.now().Sub(s.lastSync))
	}
	return m
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Minute:
		return "1 min ago"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// goOffline records the first failure to reach the tenant.
func (s *syncStatus) goOffline(why string) {
	s.update(func() {
		if !s.offlineSince.IsZero() {
			return
		}
		s.offlineSince, s.offlineWhy = s.now(), why
		s.flash = &ui.FlashMsg{Text: "offline: cannot reach " + s.url + " (" + why + "); showing the cache, retrying in the background", Level: ui.FlashWarn}
	})
}

func (s *syncStatus) goOnline() {
	s.mu.Lock()
	was := !s.offlineSince.IsZero()
	s.mu.Unlock()
	if !was {
		return // the common case: no wake-up per request
	}
	s.update(func() {
		s.offlineSince, s.offlineWhy = time.Time{}, ""
		s.flash = &ui.FlashMsg{Text: "back online: " + s.url, Level: ui.FlashInfo}
	})
}

func (s *syncStatus) watch() *connWatch {
	return &connWatch{down: func(err error) { s.goOffline(connectCause(err)) }, up: s.goOnline}
}

func (s *syncStatus) offline() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.offlineSince.IsZero()
}

// loopConfig is what syncLoop needs.
type loopConfig struct {
	conn     *conn
	status   *syncStatus
	send     func(tea.Msg)
	log      *slog.Logger
	resync   <-chan struct{}
	interval time.Duration
	// after waits between rounds (time.After; tests replace it).
	after func(time.Duration) <-chan time.Time
	// rounds, if set, receives each round's error (tests).
	rounds chan<- error
}

// offlineRetry is the first wait before another round when the tenant is
// unreachable; it doubles up to the profile's interval.
const offlineRetry = 5 * time.Second

// syncLoop syncs now, then every interval or on demand (r), and tells the
// UI what it committed so lists refresh while pages stream in.
func syncLoop(ctx context.Context, l loopConfig) {
	if l.after == nil {
		l.after = time.After
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.interval <= 0 {
		l.interval = config.DefaultInterval
	}
	st := l.status
	backoff := offlineRetry
	for {
		st.update(func() { st.syncing, st.progress = true, "…" })
		err := l.conn.syncer.Run(ctx, func(pr opsync.Progress) {
			if pr.Err != nil {
				return
			}
			text := pr.Source + " " + thousands(pr.Rows)
			if pr.Indexing {
				text += ", indexing"
			}
			st.update(func() { st.progress = text })
			l.send(views.SyncedMsg{Entity: entityOf(pr.Source), Rows: pr.Rows})
		})
		if ctx.Err() != nil {
			return
		}
		wait := l.interval
		switch {
		case err == nil:
			backoff = offlineRetry
			st.update(func() {
				st.syncing, st.errText, st.lastSync = false, "", st.now()
				st.offlineSince, st.offlineWhy = time.Time{}, ""
			})
		case isOffline(err):
			l.log.Warn("sync: tenant unreachable", "err", err)
			st.goOffline(shortErr(err))
			st.update(func() { st.syncing = false })
			wait, backoff = min(backoff, l.interval), min(backoff*2, l.interval)
		default:
			l.log.Error("sync failed", "err", err)
			text := describeSyncError(err, l.conn.ep)
			st.update(func() {
				st.syncing = false
				if text != st.errText {
					st.flash = &ui.FlashMsg{Text: "sync failed: " + text, Level: ui.FlashError}
				}
				st.errText = text
			})
		}
		if l.rounds != nil {
			l.rounds <- err
		}
		select {
		case <-ctx.Done():
			return
		case <-l.resync:
		case <-l.after(wait):
		}
	}
}

// describeSyncError is a sync error in words a user can act on.
func describeSyncError(err error, ep *endpoint) string {
	switch {
	case veza.IsStatus(err, 401):
		return fmt.Sprintf("the tenant refused the API token (HTTP 401): check the %s of profile %q", ep.tokenSource, ep.name)
	case veza.IsStatus(err, 403):
		return fmt.Sprintf("the API token of profile %q lacks a permission (HTTP 403): %s", ep.name, shortErr(err))
	}
	return shortErr(err)
}

func shortErr(err error) string {
	s := err.Error()
	if r := []rune(s); len(r) > 160 {
		s = string(r[:160]) + "…"
	}
	return s
}

// thousands formats n as 1,234,567.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
