// Command opsdeck is a terminal dashboard for the engineers who run identity
// lifecycle automation: it syncs the Veza Lifecycle Management activity log
// (and Socotra events) into a local SQLite cache and lets a person triage
// from it, online or offline. This file is the front door: subcommands,
// global flags and the choice of profile; tui.go runs the program, synccmd.go
// and prunecmd.go are the headless commands.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/opsdeck/opsdeck/internal/cli"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/sync/emulator"
)

const usage = `opsdeck — triage Veza lifecycle automation from a local cache

Usage:
  opsdeck [--profile P] [flags]        open the TUI over the profile's cache (syncing in the background)
  opsdeck demo [flags]                 start the built-in emulator, sync it into a fresh cache, open the TUI
  opsdeck sync [--profile P] [flags]   sync without the TUI (--follow keeps syncing, --sources picks sources)
  opsdeck prune --older-than 90d       delete cached history older than that (--dry-run first)
  opsdeck emulator [flags]             run the emulator standalone (prints its URL and token)
  opsdeck query SOURCE [flags]         query the cache: tasks actions jobs errors events automations socotra-…
  opsdeck get job|task|action|automation ID   one object as JSON (--remote: fresh from the API)
  opsdeck export jobs|actions|tasks -o FILE   CSV/JSON from the cache, or --remote via the API's export
  opsdeck restart TASK… | unblock --run|--abandon TASK… | push JOB --any-changes …
  opsdeck socotra resume|delete --trigger NAME --group GROUP
  opsdeck automations list|get|create|update|delete|attach|detach|attached
  opsdeck completion bash|zsh|fish
  opsdeck version

Global flags (before or after the command):
  --profile NAME   a profile of the config file, or "env" (VEZA_URL/VEZA_TOKEN)
  --config FILE    config file (default $XDG_CONFIG_HOME/opsdeck/config.yaml)
  --cpuprofile FILE, --memprofile FILE
                   write a CPU / allocation profile (go tool pprof)

Profiles: without --profile, VEZA_URL in the environment wins, then the
config file's default_profile, then its only profile. The config file is
described in the README ("Profiles and secrets").

Environment:
  VEZA_URL    tenant base URL, e.g. https://acme.vezacloud.com
  VEZA_TOKEN  API key (sent as a Bearer token; never stored, logged or shown)
  NO_COLOR    any value: no colours (selection stays visible in reverse video)

Run 'opsdeck COMMAND -h' for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// globals are the flags every command understands.
type globals struct {
	profile string
	config  string
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.profile, "profile", g.profile, `profile name from the config file, or "env"`)
	fs.StringVar(&g.config, "config", g.config, "config file (default $XDG_CONFIG_HOME/opsdeck/config.yaml)")
}

// leadingGlobals consumes --profile/--config given before the command.
func leadingGlobals(args []string) (globals, []string, error) {
	var g globals
	for len(args) > 0 {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !strings.HasPrefix(args[0], "-") || (name != "profile" && name != "config") {
			break
		}
		if !hasVal {
			if len(args) < 2 {
				return g, nil, usageError{fmt.Errorf("flag needs an argument: -%s", name)}
			}
			val, args = args[1], args[1:]
		}
		args = args[1:]
		if name == "profile" {
			g.profile = val
		} else {
			g.config = val
		}
	}
	return g, args, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	pf, args, err := takeProfileFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "opsdeck: %v\n", err)
		return 2
	}
	defer pf.start(stderr)()
	g, args, err := leadingGlobals(args)
	cmd := ""
	if err == nil && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if err == nil {
		switch cmd {
		case "":
			err = cmdTUI(g, args, stderr)
		case "demo":
			err = cmdDemo(g, args, stderr)
		case "emulator":
			err = cmdEmulator(args, stdout, stderr)
		case "sync":
			err = cmdSync(g, args, stderr)
		case "prune":
			err = cmdPrune(g, args, stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, "opsdeck", version())
			return 0
		case "help":
			fmt.Fprint(stdout, usage)
			return 0
		default:
			if contains(cli.Commands(), cmd) {
				return cmdCLI(g, append([]string{cmd}, args...), os.Stdin, stdout, stderr)
			}
			fmt.Fprintf(stderr, "opsdeck: unknown command %q\n\n%s", cmd, usage)
			return 2
		}
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var fe flagError
		if errors.As(err, &fe) {
			return 2
		}
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintf(stderr, "opsdeck: %s\n", ee.msg)
			}
			return ee.code
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

// exitError ends the program with code after printing msg (if any).
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return flagError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

// loadConfig reads the config file (--config, or the default path, which
// may be absent) and prints its warnings.
func loadConfig(g globals, stderr io.Writer) (*config.Config, error) {
	path, mustExist := g.config, g.config != ""
	if path == "" {
		p, err := config.DefaultPath(nil)
		if err != nil {
			return config.Parse("", nil, nil) // no home: no config file
		}
		path = p
	}
	cfg, err := config.Load(path, mustExist, nil)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "opsdeck: warning: %v\n", w)
	}
	return cfg, nil
}

// target is what a command works on: the chosen profile (nil when nothing
// is configured) and its cache file.
type target struct {
	cfg     *config.Config
	profile *config.Profile
	cache   string
}

// resolve picks the profile and the cache path (--cache wins).
func resolve(g globals, cacheFlag string, stderr io.Writer) (*target, error) {
	cfg, err := loadConfig(g, stderr)
	if err != nil {
		return nil, err
	}
	p, err := cfg.Select(g.profile)
	if err != nil {
		return nil, usageError{err}
	}
	t := &target{cfg: cfg, profile: p, cache: cacheFlag}
	if t.cache == "" {
		if p != nil {
			t.cache, err = p.CachePath()
		} else {
			var dir string
			dir, err = config.DataDir(nil)
			t.cache = filepath.Join(dir, config.EnvProfile+".db")
		}
		if err != nil {
			return nil, usageError{err}
		}
	}
	return t, nil
}

func (t *target) profileName() string {
	if t.profile == nil {
		return ""
	}
	return t.profile.Name
}

// logFlags are the log options of every command that syncs.
type logFlags struct {
	file  string
	debug bool
}

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.file, "log", "", "log file (default: opsdeck.log next to the cache)")
	fs.BoolVar(&f.debug, "debug", false, "log at debug level")
}

// open opens the log file: the terminal belongs to the UI or the progress
// display. The log never sees a token (clients redact, config.Secret
// prints as [REDACTED]).
func (f *logFlags) open(cache string) (*slog.Logger, func(), error) {
	path := f.file
	if path == "" {
		path = filepath.Join(filepath.Dir(cache), "opsdeck.log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil && f.file == "" && errors.Is(err, os.ErrPermission) {
		// A cache in a directory we may not write still opens (read-only,
		// offline): without the log beside it rather than not at all.
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("log: %w", err)
	}
	level := slog.LevelInfo
	if f.debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(fh, &slog.HandlerOptions{Level: level})), func() { fh.Close() }, nil
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
	hostileMode := fs.Bool("hostile", false, "append a hostile string (terminal escapes, bidi, invalid UTF-8…) to every free-text field: for testing")
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
	// The emulator allocates a payload's worth of garbage per job it
	// serves, while its live heap stays small: collecting four times less
	// often cut its CPU per job by a third (scripts/bench.sh). GOGC in the
	// environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fl, err := emulator.ParseFaults(*faults)
	if err != nil {
		return usageError{fmt.Errorf("--faults: %v", err)}
	}
	em, err := emulator.Start(ctx, *addr, emulator.Options{Seed: *seed, Scale: *scale, Token: *token, Now: now, Faults: fl, Live: *live, Hostile: *hostileMode})
	if err != nil {
		return err
	}
	defer em.Close()
	fmt.Fprintf(stdout, "opsdeck emulator serving %d jobs (seed %d)\n  VEZA_URL=%s\n  VEZA_TOKEN=%s\n  Socotra tenant locator: %s\n", *scale, *seed, em.URL, em.Token, em.SocotraTenant)
	<-ctx.Done()
	return nil
}

// insecureWarning is what --insecure (or a profile's insecure: true)
// prints on every start that connects: "" when neither is set.
func insecureWarning(p *config.Profile, flag bool) string {
	if p == nil || !(flag || p.Insecure) {
		return ""
	}
	why := "--insecure"
	if !flag {
		why = fmt.Sprintf("insecure: true in profile %q", p.Name)
	}
	u, err := url.Parse(p.URL)
	if err == nil && u.Scheme == "http" && !config.IsLoopback(u.Hostname()) {
		return fmt.Sprintf("warning: %s: the API token goes to %s unencrypted (plain http://): anyone on the network path can read it", why, u.Hostname())
	}
	return fmt.Sprintf("warning: %s allows plain http:// to hosts other than this machine, which would send the API token unencrypted", why)
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
