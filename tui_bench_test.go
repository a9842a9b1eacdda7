package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/opsdeck/opsdeck/internal/config"
	"github.com/opsdeck/opsdeck/store"
	"github.com/opsdeck/opsdeck/ui"
	"github.com/opsdeck/opsdeck/views"
)

// The TUI on a full cache: the first frame with rows, and browsing. Both
// need a large cache, built elsewhere (once, then reused):
//
//	go test ./store -run '^$' -bench 'ErrorGroups/all' -benchtime 1x   # builds the 1M-job cache in $TMPDIR
//	go test -run '^$' -bench 'TUIFirstFrame|TUIBrowse' -benchtime 3x .
//
// OPSDECK_BENCH_CACHE names another cache (say one `scripts/bench.sh`
// synced with KEEP=1); without it the newest $TMPDIR/opsdeck-bench-1m-*.db
// is used, and the benchmarks are skipped when there is none.
func benchTUICache(b *testing.B) string {
	if p := os.Getenv("OPSDECK_BENCH_CACHE"); p != "" {
		return p
	}
	paths, _ := filepath.Glob(filepath.Join(os.TempDir(), "opsdeck-bench-1m-*.db"))
	var newest string
	var newestT time.Time
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(newestT) {
			newest, newestT = p, fi.ModTime()
		}
	}
	if newest == "" {
		b.Skip("no large cache: build one with `go test ./store -run '^$' -bench FirstPage -benchtime 1x`, or set OPSDECK_BENCH_CACHE")
	}
	return newest
}

// tuiSession is the TUI as runTUIOnce builds it for an offline session,
// driven synchronously: commands run and their messages are fed back, timers
// never fire.
type tuiSession struct {
	st  *store.Store
	app *ui.App
}

func noTimer(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }

// openTUI does what runTUIOnce does before the program starts, then Init
// and a first window size.
func openTUI(b *testing.B, path string, w, h int) *tuiSession {
	st, err := store.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &config.Config{}
	keys, _ := buildKeys(cfg)
	theme := buildTheme(io.Discard, "dark", "", false)
	last := lastSyncOf(st)
	common := &views.Common{Theme: theme, Keys: keys, Store: st, Log: slog.New(slog.DiscardHandler), Now: time.Now, Loc: time.UTC,
		Copy: func(string) error { return nil }, Timer: noTimer}
	root, err := views.NewJobs(common, "")
	if err != nil {
		b.Fatal(err)
	}
	app := ui.NewApp(theme, keys, root, views.Commands(common))
	app.Timer = noTimer
	app.SetSource(ui.SourceMsg{Profile: "bench", State: offlineState("--offline", last)})
	s := &tuiSession{st: st, app: app}
	s.run(app.Init())
	s.send(tea.WindowSizeMsg{Width: w, Height: h})
	return s
}

func (s *tuiSession) send(msg tea.Msg) {
	_, cmd := s.app.Update(msg)
	s.run(cmd)
}

func (s *tuiSession) run(cmd tea.Cmd) {
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0 && steps < 10000; steps++ {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch m := c().(type) {
		case nil, tea.QuitMsg, cursor.BlinkMsg:
		case tea.BatchMsg:
			queue = append(queue, m...)
		default:
			_, next := s.app.Update(m)
			queue = append(queue, next)
		}
	}
}

// newestJob is the job the first frame must show (the list opens newest
// first), read before the clock starts.
func newestJob(b *testing.B, path string) store.JobRow {
	st, err := store.OpenReadOnly(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Jobs(context.Background(), store.Query{Sort: "created_at", Desc: true}, nil, false, 1)
	if err != nil || len(rows) == 0 {
		b.Fatal("no jobs in the cache", err)
	}
	return rows[0]
}

// showsNewest reports whether frame is the jobs list with the cursor on
// the newest job.
func showsNewest(frame string, newest store.JobRow) bool {
	return strings.Contains(frame, "row 1 of") && strings.Contains(frame, newest.IdentityName)
}

// BenchmarkTUIFirstFrame is process start to the first frame with rows
// on a full cache, minus what happens before main (exec, Go runtime start:
// a few ms, MEASURED-LIMITS §4): open the cache as the TUI does, build the
// jobs view and the app, Init, the window size, every command they start
// (first page, state counts), and View. The frame must hold the newest job.
func BenchmarkTUIFirstFrame(b *testing.B) {
	path := benchTUICache(b)
	want := newestJob(b, path)
	n := countJobs(b, path)
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		s := openTUI(b, path, 160, 45)
		frame := s.app.View()
		total += time.Since(start)
		b.StopTimer()
		if !showsNewest(frame, want) {
			b.Fatalf("the first frame does not show the newest job (%s):\n%s", want.IdentityName, frame)
		}
		s.st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/first-frame")
	b.ReportMetric(float64(n), "jobs")
}

func countJobs(b *testing.B, path string) int {
	st, err := store.OpenReadOnly(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	n, err := st.Count(context.Background(), store.EntityJobs, nil)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkTUIBrowse scrolls the jobs list of the full cache with the real
// store behind it: page down 300 times, jump to the oldest job, page up
// 300 times, back to the newest (g), and line moves in between. It reports the
// time from a keypress to its frame (every command the key starts, such as
// a page load, included) and the memory the process holds afterwards: Go
// heap in use, what the Go runtime took from the OS (MemStats.Sys), and
// the RSS and its peak (VmRSS, VmHWM; SQLite's page caches are in the Go
// heap with the pure-Go driver).
func BenchmarkTUIBrowse(b *testing.B) {
	path := benchTUICache(b)
	s := openTUI(b, path, 160, 45)
	defer s.st.Close()
	var keys []tea.KeyMsg
	for range 300 {
		keys = append(keys, tea.KeyMsg{Type: tea.KeyPgDown}, tea.KeyMsg{Type: tea.KeyDown})
	}
	keys = append(keys, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("G")})
	for range 300 {
		keys = append(keys, tea.KeyMsg{Type: tea.KeyPgUp}, tea.KeyMsg{Type: tea.KeyUp})
	}
	keys = append(keys, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("g")})

	// key: the frame a keypress produces, Update + View, which is what the
	// program does on its event loop; the page fetches a move triggers are
	// commands the program runs on other goroutines, so they run here
	// after the clock. withFetch: the same with those fetches inside the
	// clock (and the frame drawn after their rows arrived), the worst case
	// of a program that fetched synchronously.
	var lat, withFetch []time.Duration
	for b.Loop() {
		for _, k := range keys {
			start := time.Now()
			_, cmd := s.app.Update(k)
			_ = s.app.View()
			lat = append(lat, time.Since(start))
			s.run(cmd)
			_ = s.app.View()
			withFetch = append(withFetch, time.Since(start))
		}
	}
	b.StopTimer()
	if !showsNewest(s.app.View(), newestJob(b, path)) {
		b.Fatal("g did not come back to the newest job")
	}
	slices.Sort(lat)
	slices.Sort(withFetch)
	pct := func(d []time.Duration, p float64) float64 {
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(lat, 0.5), "ms/key-p50")
	b.ReportMetric(pct(lat, 0.99), "ms/key-p99")
	b.ReportMetric(pct(lat, 1), "ms/key-max")
	b.ReportMetric(pct(withFetch, 0.5), "ms/key+fetch-p50")
	b.ReportMetric(pct(withFetch, 0.99), "ms/key+fetch-p99")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MB")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MB")
	rss, hwm := procStatus("VmRSS:"), procStatus("VmHWM:")
	b.ReportMetric(float64(rss)/(1<<20), "rss-MB")
	b.ReportMetric(float64(hwm)/(1<<20), "peak-rss-MB")
}

// procStatus reads a kB field of /proc/self/status, in bytes (0 if none).
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
