package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/opsdeck/opsdeck/internal/cli"
	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// mainCommands are the commands run() handles itself; the rest of the
// command line belongs to internal/cli.
var mainCommands = []string{"demo", "emulator", "sync", "prune", "version", "help"}

// cliGlobals are the global options a headless command accepts anywhere on
// its command line. They are read before internal/cli parses the rest (it
// needs the read-only guard and the profile up front) and registered on its
// flag sets so that they are accepted and documented there too.
type cliGlobals struct {
	globals
	cache    string
	readOnly bool
	insecure bool
	log      logFlags
}

// scanCLIGlobals picks the global options out of args (all forms: --x v,
// --x=v, -x v). Unknown flags are left for the command to judge.
func scanCLIGlobals(g globals, args []string) cliGlobals {
	cg := cliGlobals{globals: g}
	str := map[string]*string{"profile": &cg.profile, "config": &cg.config, "cache": &cg.cache, "log": &cg.log.file}
	boolean := map[string]*bool{"read-only": &cg.readOnly, "insecure": &cg.insecure, "debug": &cg.log.debug}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if p, ok := str[name]; ok {
			if hasVal {
				*p = val
			} else if i+1 < len(args) {
				*p = args[i+1]
				i++
			}
		}
		if p, ok := boolean[name]; ok {
			*p = !hasVal || val == "true" || val == "1"
		}
	}
	return cg
}

func (cg *cliGlobals) register(fs *flag.FlagSet) {
	var sink cliGlobals
	fs.StringVar(&sink.profile, "profile", cg.profile, `profile name from the config file, or "env"`)
	fs.StringVar(&sink.config, "config", cg.config, "config file (default $XDG_CONFIG_HOME/opsdeck/config.yaml)")
	fs.StringVar(&sink.cache, "cache", cg.cache, "cache file (default: the profile's)")
	fs.BoolVar(&sink.readOnly, "read-only", cg.readOnly, "refuse every write to the API")
	fs.BoolVar(&sink.insecure, "insecure", cg.insecure, "allow plain http:// to a non-loopback host")
	fs.StringVar(&sink.log.file, "log", cg.log.file, "log file (default: opsdeck.log next to the cache)")
	fs.BoolVar(&sink.log.debug, "debug", cg.log.debug, "log at debug level")
}

// cmdCLI runs one of internal/cli's commands.
func cmdCLI(g globals, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cg := scanCLIGlobals(g, args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	// The profile is resolved lazily: `completion` and `--help` need none.
	var (
		tgt    *target
		tgtErr error
		done   bool
	)
	resolveOnce := func() (*target, error) {
		if !done {
			done = true
			tgt, tgtErr = resolve(cg.globals, cg.cache, stderr)
		}
		return tgt, tgtErr
	}
	var logger *slog.Logger
	closeLog := func() {}
	defer func() { closeLog() }()
	getLog := func() *slog.Logger {
		if logger != nil {
			return logger
		}
		logger = slog.New(slog.DiscardHandler)
		if t, err := resolveOnce(); err == nil {
			if l, c, err := cg.log.open(t.cache); err == nil {
				logger, closeLog = l, c
			}
		}
		return logger
	}
	endpoint := func(provider string) (*endpoint, error) {
		t, err := resolveOnce()
		if err != nil {
			return nil, err
		}
		if t.profile == nil {
			return nil, errors.New("offline: no profile configured (set VEZA_URL and VEZA_TOKEN, or --profile NAME)")
		}
		if t.profile.Provider != provider {
			return nil, fmt.Errorf("profile %s is a %s profile, this command needs a %s one", t.profile.Name, t.profile.Provider, provider)
		}
		if w := insecureWarning(t.profile, cg.insecure); w != "" {
			fmt.Fprintf(stderr, "opsdeck: %s\n", w)
		}
		return endpointOf(ctx, t.profile, cg.insecure)
	}
	env := cli.Env{
		Stdout: stdout, Stderr: stderr, Stdin: stdin,
		ReadOnly:     cg.readOnly,
		Interactive:  isTTY(stdin),
		Width:        ttyWidth(stdout),
		Loc:          time.Local,
		MainCommands: mainCommands,
		Globals:      cg.register,
		OpenStore: func(readOnly bool) (*store.Store, error) {
			t, err := resolveOnce()
			if err != nil {
				return nil, err
			}
			if !readOnly {
				return store.Open(t.cache)
			}
			st, err := store.OpenReadOnly(t.cache)
			if errors.Is(err, store.ErrOldSchema) {
				// A cache from an older opsdeck: upgrade it once (the
				// migrations keep every row), then read it as asked.
				rw, uerr := store.Open(t.cache)
				if uerr != nil {
					return nil, err
				}
				rw.Close()
				return store.OpenReadOnly(t.cache)
			}
			return st, err
		},
		Veza: func() (*veza.Client, error) {
			ep, err := endpoint(config.ProviderVeza)
			if err != nil {
				return nil, err
			}
			return veza.New(ep.url, ep.token.Reveal(), veza.Options{Logger: getLog()})
		},
		Socotra: func() (*socotra.Client, error) {
			ep, err := endpoint(config.ProviderSocotra)
			if err != nil {
				return nil, err
			}
			return socotra.New(ep.url, ep.tenant, ep.token.Reveal(), socotra.ClientOptions{Logger: getLog()})
		},
	}
	// A profile marked read_only guards its writes too.
	if t, err := resolveOnce(); err == nil && t.profile != nil && t.profile.ReadOnly {
		env.ReadOnly = true
	}
	env.Logger = getLog()
	return cli.Run(ctx, args, env)
}

func isTTY(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

func ttyWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return 0
	}
	if w, _, err := term.GetSize(f.Fd()); err == nil {
		return w
	}
	return 0
}
