// Package cli is opsdeck's headless front door: the subcommands scripts and
// tickets use instead of the TUI (query, get, export, push, restart,
// unblock, completion, ...). It reads the same cache through the same
// filter parser and field rules as the views, and writes through the same
// client, so what a script sees is what the screen shows.
//
// main.go owns the global flags (profile, cache, read-only, logging) and
// hands each command an Env; Run does the rest and returns the exit code:
// 0 success, 1 a runtime failure (cache, network, server), 2 a usage error
// (bad flag, filter or field, a refused confirmation, --read-only).
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/sync/socotra"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// Env is everything a command needs from the process around it.
type Env struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	// OpenStore opens the selected profile's cache: read-only for reads
	// (a query never creates a cache), read-write to write results back.
	OpenStore func(readOnly bool) (*store.Store, error)
	// Veza returns the API client; nil (or an error) means offline.
	Veza func() (*veza.Client, error)
	// Socotra returns the Socotra client; nil (or an error) means none is
	// configured.
	Socotra func() (*socotra.Client, error)
	// ReadOnly is --read-only: every write to the API is refused.
	ReadOnly bool
	// Interactive says stdin is a terminal: confirmations ask. Otherwise
	// a destructive command needs --yes.
	Interactive bool
	// Width is the terminal width for table output; 0 means unlimited
	// (not a terminal).
	Width int
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// Loc is the zone table output shows times in; nil means time.Local.
	// JSON and CSV always carry UTC RFC 3339 times.
	Loc *time.Location
	// Sleep paces the export status polls; nil sleeps for real. Tests
	// replace it so no test waits on the clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// MainCommands are the commands main.go handles itself (tui, demo,
	// sync, version...), offered by shell completion besides these.
	MainCommands []string
	// Globals, when set, registers main.go's global flags (--profile,
	// --config, ...) on every command's flag set, so they are accepted
	// after the command too and listed in its help. main has usually
	// parsed them already; registering the same variables is harmless.
	Globals func(fs *flag.FlagSet)
}

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// usageError is a mistake in how the command was called: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// command is one row of the command table: the help, the completion and
// the dispatch all come from it.
type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	long    string // extra help paragraphs
	// more, when set, adds help computed at run time (e.g. the sources).
	more    func() string
	example string
	// words are the completion candidates of the first positional argument.
	words []string
	// setup registers the flags and returns the command body.
	setup func(fs *flag.FlagSet) func(ctx context.Context, r *runner, args []string) error
}

// commands is the command table; files append to it from init, so adding
// a command touches no shared list.
var commands []*command

func register(c *command) { commands = append(commands, c) }

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// Commands returns the names of the subcommands Run handles, for main.go's
// dispatch.
func Commands() []string {
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	slices.Sort(names)
	return names
}

// runner carries the Env through a command.
type runner struct {
	env  Env
	cmd  *command
	out  *bufio.Writer
	log  *slog.Logger
	loc  *time.Location
	veza *veza.Client // set by client()
}

// Run runs args[0] with the rest of args and returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Stderr == nil {
		env.Stderr = io.Discard
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	if len(args) == 0 {
		fmt.Fprintf(env.Stderr, "opsdeck: no command (one of %s)\n", strings.Join(Commands(), ", "))
		return ExitUsage
	}
	c := lookup(args[0])
	if c == nil {
		fmt.Fprintf(env.Stderr, "opsdeck: unknown command %q (one of %s)\n", args[0], strings.Join(Commands(), ", "))
		return ExitUsage
	}
	r := &runner{env: env, cmd: c, out: bufio.NewWriterSize(env.Stdout, 64<<10), log: env.Logger, loc: env.Loc}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.loc == nil {
		r.loc = time.Local
	}
	fs := flag.NewFlagSet("opsdeck "+c.name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	body := c.setup(fs)
	if env.Globals != nil {
		env.Globals(fs)
	}
	fs.Usage = func() { writeHelp(env.Stderr, c, fs) }
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		// The flag package printed the problem and the usage.
		return ExitUsage
	}
	err = body(ctx, r, rest)
	if ferr := r.out.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write output: %w", ferr)
	}
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "opsdeck %s: %s\n", c.name, oneLine(err.Error()))
	var ue *usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	return ExitFailure
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// parseInterspersed parses flags wherever they appear ("query jobs
// --limit 5" as well as "query --limit 5 jobs"); everything after "--" is
// positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, tail []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, tail = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, tail...), nil
}

func writeHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: opsdeck %s %s\n\n%s\n", c.name, c.args, c.summary)
	if c.long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.long))
	}
	if c.more != nil {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.more(), "\n"))
	}
	var any bool
	fs.VisitAll(func(*flag.Flag) { any = true })
	if any {
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
	if c.example != "" {
		fmt.Fprintf(w, "\nExample:\n%s\n", indent(strings.TrimSpace(c.example), "  "))
	}
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}

// openCache opens the cache for reading; a missing cache is a clear
// runtime error, never a new empty file.
func (r *runner) openCache(readOnly bool) (*store.Store, error) {
	if r.env.OpenStore == nil {
		return nil, errors.New("no cache configured")
	}
	st, err := r.env.OpenStore(readOnly)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no cache yet (%v): run 'opsdeck sync' first, or pick another --profile/--cache", err)
		}
		return nil, fmt.Errorf("open cache: %w", err)
	}
	return st, nil
}

// client returns the API client, or a clear error when offline.
func (r *runner) client() (*veza.Client, error) {
	if r.veza != nil {
		return r.veza, nil
	}
	if r.env.Veza == nil {
		return nil, errors.New("offline: no API configured (set VEZA_URL and VEZA_TOKEN)")
	}
	c, err := r.env.Veza()
	if err != nil {
		return nil, fmt.Errorf("offline: %w", err)
	}
	if c == nil {
		return nil, errors.New("offline: no API configured (set VEZA_URL and VEZA_TOKEN)")
	}
	r.veza = c
	return c, nil
}

// guardWrite refuses API writes under --read-only.
func (r *runner) guardWrite(what string) error {
	if r.env.ReadOnly {
		return usagef("%s refused: --read-only is set, writes to the API are disabled", what)
	}
	return nil
}

// confirm asks before a write. --yes skips the question; without a
// terminal on stdin there is nobody to ask, so the write is refused.
func (r *runner) confirm(yes bool, question string) error {
	if yes {
		return nil
	}
	if !r.env.Interactive {
		return usagef("not confirmed: %s; pass --yes to confirm without a terminal", question)
	}
	fmt.Fprintf(r.env.Stderr, "%s? [y/N] ", question)
	line, err := bufio.NewReader(r.env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return usagef("not confirmed: no answer")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return usagef("not confirmed; nothing was changed")
}

// stringList is a repeatable or comma-separated flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}
