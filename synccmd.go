package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	gosync "sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
)

// cmdSync is `opsdeck sync`: one pass over every source (or --sources),
// or with --follow one pass every profile interval until interrupted.
// Progress goes to stderr: bars on a terminal, one line per page otherwise.
func cmdSync(g globals, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("opsdeck sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs)
	cache := fs.String("cache", "", "cache file (default: the profile's, $XDG_DATA_HOME/opsdeck/PROFILE.db)")
	sources := fs.String("sources", "", "comma-separated sources to sync (default all): "+strings.Join(sourceNames("veza"), ",")+" for Veza profiles, socotra-events,socotra-failed for Socotra ones")
	follow := fs.Bool("follow", false, "keep syncing every profile interval until interrupted")
	insecure := fs.Bool("insecure", false, "allow plain http:// to a non-loopback host (the token crosses the network unencrypted)")
	plain := fs.Bool("plain", false, "one line per page even on a terminal")
	var lf logFlags
	lf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !*follow {
		syncGC()
	}
	t, err := resolve(g, *cache, stderr)
	if err != nil {
		return err
	}
	if t.profile == nil {
		return usageError{errors.New("sync needs a profile: set VEZA_URL and VEZA_TOKEN, or add one to the config file (see opsdeck help)")}
	}
	only, err := parseSources(*sources, t.profile.Provider)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ep, err := endpointOf(ctx, t.profile, *insecure)
	if err != nil {
		return err
	}
	if w := insecureWarning(t.profile, *insecure); w != "" {
		fmt.Fprintf(stderr, "opsdeck: %s\n", w)
	}
	log, closeLog, err := lf.open(t.cache)
	if err != nil {
		return err
	}
	defer closeLog()
	st, err := store.Open(t.cache)
	if err != nil {
		return err
	}
	defer st.Close()
	notes := &noteSink{}
	c, err := connect(ep, st, connOptions{log: log, sources: only, watch: outageNotes(notes.note, displayURL(ep.url))})
	if err != nil {
		return err
	}
	log.Info("sync start", "profile", ep.name, "url", c.url, "cache", t.cache, "sources", only, "follow", *follow, "token", ep.tokenSource)

	tty := false
	if f, ok := stderr.(*os.File); ok && !*plain {
		tty = term.IsTerminal(f.Fd())
	}
	for round := 1; ; round++ {
		var pv progressView = newPlainProgress(stderr, time.Now)
		if tty {
			pv = newBarProgress(stderr, time.Now)
		}
		notes.set(pv)
		res := runSync(ctx, c.syncer, pv)
		if ctx.Err() != nil {
			if *follow {
				return nil
			}
			return exitError{130, "interrupted: the next sync resumes from the last committed page"}
		}
		res.summary(stderr, ep.name, t.cache)
		if !*follow {
			if res.failed() > 0 {
				return exitError{1, fmt.Sprintf("%d of %d sources failed", res.failed(), len(res.order))}
			}
			return nil
		}
		next := time.Now().Add(ep.interval)
		fmt.Fprintf(stderr, "next sync at %s (every %s); Ctrl-C stops\n", next.Format("15:04:05"), ep.interval)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(ep.interval):
		}
	}
}

// outageNotes says at once when the tenant cannot be reached (the client
// keeps retrying for a while before a source fails) and when it answers
// again.
func outageNotes(note func(string), url string) *connWatch {
	var mu gosync.Mutex
	down := false
	return &connWatch{
		down: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if !down {
				down = true
				note(fmt.Sprintf("cannot reach %s (%s): retrying (Ctrl-C stops; the next sync resumes)", url, connectCause(err)))
			}
		},
		up: func() {
			mu.Lock()
			defer mu.Unlock()
			if down {
				down = false
				note(url + " answers again")
			}
		},
	}
}

// noteSink passes notes from the HTTP transport's goroutines to the
// current round's progress view.
type noteSink struct {
	mu gosync.Mutex
	pv progressView
}

func (n *noteSink) set(pv progressView) {
	n.mu.Lock()
	n.pv = pv
	n.mu.Unlock()
}

func (n *noteSink) note(s string) {
	n.mu.Lock()
	pv := n.pv
	n.mu.Unlock()
	if pv != nil {
		pv.note(s)
	}
}

// sourceResult is one source's outcome in a run.
type sourceResult struct {
	name  string
	rows  int
	pages int
	stats store.WriteStats
	err   error
	dur   time.Duration
	done  bool
}

type syncResult struct {
	order   []string
	by      map[string]*sourceResult
	runErr  error
	elapsed time.Duration
}

func (r *syncResult) failed() int {
	n := len(r.failedNames())
	if n == 0 && r.runErr != nil {
		n = 1 // a failure no source reported (e.g. recording last_sync)
	}
	return n
}

// runSync runs s once, feeding the progress view, and collects per-source
// results.
func runSync(ctx context.Context, s syncer, pv progressView) *syncResult {
	res := &syncResult{by: map[string]*sourceResult{}}
	start := time.Now()
	err := s.Run(ctx, func(p opsync.Progress) {
		pv.update(p)
		if p.Head {
			return // the first sync's head is reported, not summarised
		}
		r := res.by[p.Source]
		if r == nil {
			r = &sourceResult{name: p.Source}
			res.by[p.Source] = r
			res.order = append(res.order, p.Source)
		}
		r.rows, r.pages, r.stats = p.Rows, p.Pages, p.Stats
		if p.Done {
			r.done, r.err = true, p.Err
		}
	})
	pv.finish()
	res.runErr, res.elapsed = err, time.Since(start)
	return res
}

func (r *syncResult) summary(w io.Writer, profile, cache string) {
	fmt.Fprintf(w, "sync of profile %s into %s in %s:\n", profile, cache, roundDur(r.elapsed))
	for _, n := range r.order {
		s := r.by[n]
		if s.err != nil {
			fmt.Fprintf(w, "  %-15s FAILED  %s\n", n, s.err)
			continue
		}
		fmt.Fprintf(w, "  %-15s ok      %s rows (%s new, %s changed, %s unchanged)\n", n, thousands(s.rows),
			thousands(s.stats.Inserted), thousands(s.stats.Updated), thousands(s.stats.Unchanged))
	}
	if r.runErr != nil && len(r.failedNames()) == 0 {
		fmt.Fprintf(w, "  FAILED: %v\n", r.runErr)
	}
}

func (r *syncResult) failedNames() []string {
	var out []string
	for n, s := range r.by {
		if s.err != nil {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// progressView shows a sync's progress. note may be called from any
// goroutine.
type progressView interface {
	update(opsync.Progress)
	note(string)
	finish()
}

// srcProgress is what a view knows about one source.
type srcProgress struct {
	label      string
	start      time.Time
	rows, tot  int
	pages      int
	indexing   bool // the last page is stored; the store builds its indexes
	done       bool
	err        error
	finishedAt time.Time
}

func (s *srcProgress) rate(now time.Time) float64 {
	end := now
	if s.done {
		end = s.finishedAt
	}
	d := end.Sub(s.start).Seconds()
	if d < 0.05 {
		return 0 // too short to mean anything
	}
	return float64(s.rows) / d
}

// tracker turns Progress reports into per-source state. Sources run one
// after another, so a source starts when the previous one finished.
type tracker struct {
	now    func() time.Time
	order  []string
	by     map[string]*srcProgress
	lastAt time.Time
}

// newTracker starts the clock of the first source now.
func newTracker(now func() time.Time) tracker {
	return tracker{now: now, by: map[string]*srcProgress{}, lastAt: now()}
}

func (t *tracker) track(p opsync.Progress) *srcProgress {
	key := p.Source
	label := p.Source
	if p.Head {
		key, label = p.Source+"/head", p.Source+" (newest)"
	}
	s := t.by[key]
	if h := t.by[p.Source+"/head"]; !p.Head && h != nil && !h.done {
		// A head reports no Done of its own: the pass after it ends it.
		h.done, h.finishedAt = true, t.now()
		t.lastAt = h.finishedAt
	}
	if s == nil {
		s = &srcProgress{label: label, start: t.lastAt}
		t.by[key] = s
		t.order = append(t.order, key)
	}
	s.rows, s.pages, s.tot = p.Rows, p.Pages, p.Total
	s.indexing = p.Indexing
	if p.Done {
		s.done, s.err, s.finishedAt = true, p.Err, t.now()
		t.lastAt = s.finishedAt
	}
	return s
}

// plainProgress writes one line per committed page: for logs and pipes.
type plainProgress struct {
	mu  gosync.Mutex // update and note come from different goroutines
	w   io.Writer
	now func() time.Time
	t   tracker
}

func (v *plainProgress) note(s string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintln(v.w, s)
}

func newPlainProgress(w io.Writer, now func() time.Time) *plainProgress {
	return &plainProgress{w: w, now: now, t: newTracker(now)}
}

func (v *plainProgress) update(p opsync.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	s := v.t.track(p)
	now := v.now()
	switch {
	case p.Done && p.Err != nil:
		fmt.Fprintf(v.w, "%s: FAILED after %s rows: %v\n", s.label, thousands(s.rows), p.Err)
	case p.Done:
		fmt.Fprintf(v.w, "%s: done, %s rows in %s%s\n", s.label, thousands(s.rows), roundDur(s.finishedAt.Sub(s.start)), rateNote(s.rate(now)))
	case p.Indexing:
		fmt.Fprintf(v.w, "%s: %s rows stored in %s%s, building indexes\n", s.label, thousands(s.rows), roundDur(now.Sub(s.start)), rateNote(s.rate(now)))
	default:
		line := fmt.Sprintf("%s: page %d, %s rows", s.label, s.pages, thousands(s.rows))
		if s.tot > 0 {
			line += fmt.Sprintf(" of %s", thousands(s.tot))
		}
		line += rateNote(s.rate(now))
		fmt.Fprintln(v.w, line)
	}
}

func (v *plainProgress) finish() {}

// barProgress redraws one line per source in place: a bar when the total
// is known, a spinner otherwise; rows, rows/s and ETA.
type barProgress struct {
	mu    gosync.Mutex
	w     io.Writer
	now   func() time.Time
	t     tracker
	drawn int // lines drawn last time
	last  time.Time
	spin  int
}

func newBarProgress(w io.Writer, now func() time.Time) *barProgress {
	return &barProgress{w: w, now: now, t: newTracker(now)}
}

// redrawEvery throttles redraws: a fast sync commits hundreds of pages a
// second, a terminal needs ten frames.
const redrawEvery = 100 * time.Millisecond

func (v *barProgress) update(p opsync.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.t.track(p)
	if now := v.now(); p.Done || now.Sub(v.last) >= redrawEvery {
		v.last = now
		v.draw()
	}
}

func (v *barProgress) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.draw()
}

// note prints s above the bars: it takes the first bar's line and the
// bars are drawn again below it.
func (v *barProgress) note(s string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.drawn > 0 {
		fmt.Fprintf(v.w, "\x1b[%dA", v.drawn)
	}
	fmt.Fprintf(v.w, "\r\x1b[2K%s\n", s)
	v.drawn = 0 // the bars start again on this line
	v.draw()
}

func rateNote(r float64) string {
	if r <= 0 {
		return ""
	}
	return " (" + thousands(int(r)) + " rows/s)"
}

// roundDur keeps two or three significant digits: 7ms, 340ms, 2.4s, 1m12s.
func roundDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (v *barProgress) draw() {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn) // back to the first line
	}
	v.spin++
	now := v.now()
	for _, k := range v.t.order {
		b.WriteString("\r\x1b[2K")
		b.WriteString(barLine(v.t.by[k], now, spinFrames[v.spin%len(spinFrames)]))
		b.WriteByte('\n')
	}
	v.drawn = len(v.t.order)
	io.WriteString(v.w, b.String())
}

func barLine(s *srcProgress, now time.Time, spin string) string {
	const width = 24
	rate := s.rate(now)
	switch {
	case s.done && s.err != nil:
		return fmt.Sprintf("✗ %-16s failed after %s rows: %s", s.label, thousands(s.rows), shortErr(s.err))
	case s.done:
		return fmt.Sprintf("✓ %-16s %s rows in %s%s", s.label, thousands(s.rows), roundDur(s.finishedAt.Sub(s.start)), rateNote(rate))
	case s.indexing:
		return fmt.Sprintf("%s %-16s %s rows stored, building indexes…", spin, s.label, thousands(s.rows))
	case s.tot > 0:
		frac := min(1, float64(s.rows)/float64(s.tot))
		n := int(frac * width)
		bar := strings.Repeat("█", n) + strings.Repeat("░", width-n)
		eta := "ETA —"
		if rate > 0 {
			eta = "ETA " + time.Duration(float64(s.tot-s.rows)/rate*float64(time.Second)).Round(time.Second).String()
		}
		return fmt.Sprintf("%s %-16s %s %3.0f%%  %s rows  %s/s  %s", spin, s.label, bar, frac*100, thousands(s.rows), thousands(int(rate)), eta)
	}
	// No total: the APIs page without counts.
	return fmt.Sprintf("%s %-16s %s rows  %s rows/s  page %d", spin, s.label, thousands(s.rows), thousands(int(rate)), s.pages)
}

// syncGC tunes the collector for a one-shot sync. Its live Go heap is a few
// MB while it allocates about a page's size per page, so the default GOGC
// collected ~120 times a second (gctrace): collecting only near a memory
// limit instead cut a first sync's CPU by ~10% (300k jobs: 19.5 against
// 21-23.8 CPU-s) for ~50 MB more RSS. SQLite's memory is outside the Go
// heap and unaffected. GOGC or GOMEMLIMIT in the environment win; --follow
// keeps the default (it runs for days).
func syncGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(96 << 20)
	debug.SetGCPercent(-1)
}
