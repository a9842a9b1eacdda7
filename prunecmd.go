package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opsdeck/opsdeck/store"
)

// cmdPrune is `opsdeck prune --older-than 90d`: the one way history leaves
// the cache (sync never deletes it).
func cmdPrune(g globals, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsdeck prune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs)
	cache := fs.String("cache", "", "cache file (default: the profile's)")
	olderThan := fs.String("older-than", "", "delete rows older than this: 90d, 12w, 36h (required)")
	dryRun := fs.Bool("dry-run", false, "only count what would be deleted")
	vacuum := fs.Bool("vacuum", false, "then rewrite the file to give the freed space back (slow on big caches; other opsdeck processes wait)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *olderThan == "" {
		return usageError{errors.New("prune needs --older-than, e.g. --older-than 90d")}
	}
	age, err := parseAge(*olderThan)
	if err != nil {
		return usageError{fmt.Errorf("--older-than: %v", err)}
	}
	path := *cache
	if path == "" {
		t, err := resolve(g, "", stderr)
		if err != nil {
			return err
		}
		path = t.cache
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("cache %s: %w", path, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var st *store.Store
	if *dryRun {
		st, err = store.OpenReadOnly(path)
	} else {
		st, err = store.Open(path)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	before := time.Now().Add(-age)
	n, err := st.Prune(ctx, before, *dryRun)
	verb := "deleted"
	if *dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(stdout, "%s rows older than %s (%s) from %s:\n", verb, before.Local().Format("2006-01-02 15:04"), *olderThan, path)
	total := 0
	for _, t := range []string{"tasks", "actions", "jobs", "events", "socotra_events"} {
		if c, ok := n[t]; ok {
			fmt.Fprintf(stdout, "  %-15s %10s\n", t, thousands(c))
			total += c
		}
	}
	if err != nil {
		return fmt.Errorf("prune stopped: %w (what was deleted before is committed, counters included)", err)
	}
	if *dryRun || total == 0 {
		return nil
	}
	if *vacuum {
		if err := st.Vacuum(ctx); err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
		if fi, err := os.Stat(path); err == nil {
			fmt.Fprintf(stdout, "vacuumed: the cache is now %s\n", mib(fi.Size()))
		}
		return nil
	}
	if free, err := st.FreeBytes(ctx); err == nil && free > 0 {
		fmt.Fprintf(stdout, "%s inside the file are now free: later syncs reuse them; `opsdeck prune --older-than %s --vacuum` gives them back to the disk\n", mib(free), *olderThan)
	}
	return nil
}

// parseAge reads 90d, 12w, 36h, 1h30m.
func parseAge(s string) (time.Duration, error) {
	var d time.Duration
	switch {
	case strings.HasSuffix(s, "d"), strings.HasSuffix(s, "w"):
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil {
			return 0, fmt.Errorf("%q: want a number of days (90d), weeks (12w) or a duration (36h)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
		if strings.HasSuffix(s, "w") {
			d *= 7
		}
	default:
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: want a number of days (90d), weeks (12w) or a duration (36h)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be positive", s)
	}
	return d, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
