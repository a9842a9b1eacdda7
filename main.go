// Command opsdeck is a terminal dashboard for the engineers who run identity
// lifecycle automation: it syncs the Veza Lifecycle Management activity log
// into a local SQLite cache and lets a person triage from it, online or
// offline. This file is the front door: subcommands and flags, opening the
// store, starting the sync and running the program.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/opsdeck/opsdeck/keymap"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/views"
)

const usage = `opsdeck — triage Veza lifecycle automation from a local cache

Usage:
  opsdeck [flags]             open the TUI over the cache (syncs when VEZA_URL/VEZA_TOKEN are set)
  opsdeck demo [flags]        start the built-in emulator, sync it into a fresh cache, open the TUI
  opsdeck emulator [flags]    run the emulator standalone (prints its URL and token)
  opsdeck sync [flags]        sync once without the TUI (progress on stderr)
  opsdeck version

Environment:
  VEZA_URL    tenant base URL, e.g. https://acme.vezacloud.com
  VEZA_TOKEN  API key (sent as a Bearer token; never stored, logged or shown)

Run 'opsdeck COMMAND -h' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "":
		err = cmdTUI(args, stderr)
	case "demo":
		err = cmdDemo(args, stderr)
	case "emulator":
		err = cmdEmulator(args, stdout, stderr)
	case "sync":
		err = cmdSync(args, stderr)
	case "version":
		fmt.Fprintln(stdout, "opsdeck", version())
		return 0
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "opsdeck: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var fe flagError
		if errors.As(err, &fe) {
			return 2
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "opsdeck: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "opsdeck: %v\n", err)
		return 1
	}
	return 0
}

type usageError struct{ error }

// flagError is a flag parse error the flag package already printed.
type flagError struct{ error }

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return flagError{err}
	}
	return nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

// common flags of the TUI-bearing commands.
type tuiFlags struct {
	cache    string
	logFile  string
	debug    bool
	readOnly bool
	profile  string
}

func (f *tuiFlags) register(fs *flag.FlagSet, defaultProfile string) {
	fs.StringVar(&f.cache, "cache", "", "cache file (default: $XDG_CACHE_HOME/opsdeck/PROFILE.db)")
	fs.StringVar(&f.logFile, "log", "", "log file (default: next to the cache, opsdeck.log)")
	fs.BoolVar(&f.debug, "debug", false, "log at debug level")
	fs.BoolVar(&f.readOnly, "read-only", false, "never write to the API (actions disabled)")
	fs.StringVar(&f.profile, "profile", defaultProfile, "profile name (selects the default cache file)")
}

func (f *tuiFlags) cachePath() (string, error) {
	if f.cache != "" {
		return f.cache, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (%v): pass --cache PATH", err)
	}
	return filepath.Join(dir, "opsdeck", f.profile+".db"), nil
}

// openLog opens the log file: the terminal belongs to the UI.
func (f *tuiFlags) openLog(cache string) (*slog.Logger, func(), error) {
	path := f.logFile
	if path == "" {
		path = filepath.Join(filepath.Dir(cache), "opsdeck.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(fh, &slog.HandlerOptions{Level: level})), func() { fh.Close() }, nil
}

// source is where a sync pulls from; nil means offline.
type source struct {
	URL, Token string
}

func envSource() *source {
	u, t := strings.TrimSpace(os.Getenv("VEZA_URL")), os.Getenv("VEZA_TOKEN")
	if u == "" {
		return nil
	}
	return &source{URL: strings.TrimRight(u, "/"), Token: t}
}

func cmdTUI(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsdeck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage, "\nFlags:\n"); fs.PrintDefaults() }
	var f tuiFlags
	f.register(fs, "default")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	src := envSource()
	if src != nil && src.Token == "" {
		return usageError{errors.New("VEZA_URL is set but VEZA_TOKEN is empty")}
	}
	return runTUI(f, src, "")
}

func cmdDemo(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsdeck demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f tuiFlags
	f.register(fs, "demo")
	scale := fs.Int("scale", 30000, "number of integration jobs the emulator serves")
	seed := fs.Int64("seed", 1, "emulator data seed")
	if err := parseFlags(fs, args); err != nil {
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
	return runTUI(f, &source{URL: em.URL, Token: em.Token}, `state eq "ERRORED"`)
}

func cmdEmulator(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsdeck emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address")
	scale := fs.Int("scale", 100000, "number of integration jobs")
	seed := fs.Int64("seed", 1, "data seed: the same seed and scale always serve the same data")
	token := fs.String("token", "", "bearer token clients must send (default: random)")
	faults := fs.String("faults", "", "inject faults, e.g. 429=0.05,500=0.02,503=0.02,reset=0.01,slow=0.01,truncated=0.01,emptypage=0.02,dup=0.01")
	live := fs.Bool("live", false, "live mode: new jobs keep arriving and RUNNING jobs settle")
	nowFlag := fs.String("now", emulator.DefaultNow.Format(time.RFC3339), "the newest data ends just before this time (RFC 3339)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	now, err := time.Parse(time.RFC3339, *nowFlag)
	if err != nil {
		return usageError{fmt.Errorf("--now: %v", err)}
	}
	if *token == "" {
		*token = randomToken()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fl, err := emulator.ParseFaults(*faults)
	if err != nil {
		return usageError{fmt.Errorf("--faults: %v", err)}
	}
	em, err := emulator.Start(ctx, *addr, emulator.Options{Seed: *seed, Scale: *scale, Token: *token, Now: now, Faults: fl, Live: *live})
	if err != nil {
		return err
	}
	defer em.Close()
	fmt.Fprintf(stdout, "opsdeck emulator serving %d jobs (seed %d)\n  VEZA_URL=%s\n  VEZA_TOKEN=%s\n  Socotra tenant locator: %s\n", *scale, *seed, em.URL, em.Token, em.SocotraTenant)
	<-ctx.Done()
	return nil
}

func cmdSync(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsdeck sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f tuiFlags
	f.register(fs, "default")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	src := envSource()
	if src == nil || src.Token == "" {
		return usageError{errors.New("sync needs VEZA_URL and VEZA_TOKEN")}
	}
	path, err := f.cachePath()
	if err != nil {
		return err
	}
	log, closeLog, err := f.openLog(path)
	if err != nil {
		return err
	}
	defer closeLog()
	st, err := store.Open(path)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	eng, err := newEngine(st, src, log)
	if err != nil {
		return err
	}
	start := time.Now()
	err = eng.Run(ctx, func(p sync.Progress) {
		if p.Err == nil {
			fmt.Fprintf(stderr, "\r%-8s %9d rows  %5d pages", p.Source, p.Rows, p.Pages)
			if p.Done {
				fmt.Fprintln(stderr)
			}
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "synced into %s in %s\n", path, time.Since(start).Round(time.Millisecond))
	return nil
}

func newEngine(st *store.Store, src *source, log *slog.Logger) (*sync.Engine, error) {
	c, err := veza.New(src.URL, src.Token, veza.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	return sync.New(st, c, sync.Options{Logger: log}), nil
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runTUI opens the cache, starts the background sync when there is a source
// and runs the program until the user quits.
func runTUI(f tuiFlags, src *source, initialFilter string) error {
	path, err := f.cachePath()
	if err != nil {
		return err
	}
	log, closeLog, err := f.openLog(path)
	if err != nil {
		return err
	}
	defer closeLog()
	st, err := store.Open(path)
	if err != nil && src == nil && errors.Is(err, os.ErrPermission) {
		st, err = store.OpenReadOnly(path)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("opsdeck start", "cache", path, "online", src != nil, "version", version())

	keys := keymap.Default()
	for _, c := range keys.Conflicts() {
		log.Warn("keymap conflict", "conflict", c)
	}
	out := termenv.NewOutput(os.Stdout)
	theme := ui.NewTheme(lipgloss.NewRenderer(os.Stdout))
	common := &views.Common{
		Theme: theme, Keys: keys, Store: st, Log: log, Now: time.Now, Loc: time.Local,
		Copy: func(s string) error { out.Copy(s); return nil },
	}
	root, err := views.NewJobs(common, initialFilter)
	if err != nil {
		return err
	}
	app := ui.NewApp(theme, keys, root, views.Commands(common))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := tea.NewProgram(app, tea.WithAltScreen(), tea.WithContext(ctx))

	profile := f.profile
	if src == nil {
		last, _, _ := st.GetMeta(context.Background(), "last_sync")
		app.SetSource(ui.SourceMsg{Profile: profile, State: offlineState("no source configured (set VEZA_URL and VEZA_TOKEN)", last)})
	} else {
		eng, err := newEngine(st, src, log)
		if err != nil {
			return err
		}
		resync := make(chan struct{}, 1)
		app.OnResync = func() {
			select {
			case resync <- struct{}{}:
			default:
			}
		}
		go syncLoop(ctx, eng, st, p, profile, src.URL, log, resync)
	}
	_, err = p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		err = nil
	}
	return err
}

func offlineState(why, lastSync string) string {
	s := "offline: " + why
	if lastSync != "" {
		if t, err := time.Parse(time.RFC3339, lastSync); err == nil {
			s += " · cache from " + t.Local().Format("2006-01-02 15:04")
		}
	}
	return s
}

// resyncEvery is how often the background sync refreshes the cache.
const resyncEvery = 60 * time.Second

// syncLoop runs the engine now, then every resyncEvery or on demand, and
// tells the UI what it committed so lists refresh while pages stream in.
func syncLoop(ctx context.Context, eng *sync.Engine, st *store.Store, p *tea.Program, profile, url string, log *slog.Logger, resync <-chan struct{}) {
	for {
		state := func(s string, syncing, online bool) {
			p.Send(ui.SourceMsg{Profile: profile, URL: url, Online: online, State: s, Syncing: syncing})
		}
		state("syncing…", true, true)
		rows := map[string]int{}
		err := eng.Run(ctx, func(pr sync.Progress) {
			if pr.Err != nil {
				return
			}
			rows[pr.Source] = pr.Rows
			state(fmt.Sprintf("syncing %s %d", pr.Source, pr.Rows), true, true)
			p.Send(views.SyncedMsg{Entity: pr.Source, Rows: pr.Rows})
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Error("sync failed", "err", err)
			last, _, _ := st.GetMeta(ctx, "last_sync")
			state(offlineState(shortErr(err), last), false, false)
			p.Send(ui.FlashMsg{Text: "sync failed: " + err.Error(), Level: ui.FlashError})
		} else {
			state("synced "+time.Now().Format("15:04:05"), false, true)
		}
		select {
		case <-ctx.Done():
			return
		case <-resync:
		case <-time.After(resyncEvery):
		}
	}
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
