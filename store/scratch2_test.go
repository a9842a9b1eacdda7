package store

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestScratchIngest(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	rows := newGen(7).jobs(100000, 37, true)
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range strings.Split(os.Getenv("OPSDECK_EXP"), ",") {
		var q []string
		switch e {
		case "notrig":
			q = []string{"DROP TRIGGER jobs_count_insert", "DROP TRIGGER jobs_count_update"}
		case "noaction":
			q = []string{"DROP INDEX jobs_action"}
		case "nostate":
			q = []string{"DROP INDEX jobs_state_created"}
		case "nocreated":
			q = []string{"DROP INDEX jobs_created"}
		case "ckpt":
			q = []string{"PRAGMA wal_autocheckpoint=10000"}
		case "ckpt4":
			q = []string{"PRAGMA wal_autocheckpoint=4000"}
		}
		for _, x := range q {
			if _, err := s.w.Exec(x); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := time.Now()
	c0 := cpuTime()
	if f := os.Getenv("PROF"); f != "" {
		pf, _ := os.Create(f)
		pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	batch := 1000
	if v := os.Getenv("BATCH"); v != "" {
		fmt.Sscan(v, &batch)
	}
	for i := 0; i < len(rows); i += batch {
		if _, err := s.WriteJobs(ctx, rows[i:i+batch], nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("wall %.0f rows/s, cpu %.0f rows/cpu-s", float64(len(rows))/time.Since(start).Seconds(), float64(len(rows))/(cpuTime()-c0).Seconds())
	var pages, psize int
	s.w.QueryRow("PRAGMA page_count").Scan(&pages)
	s.w.QueryRow("PRAGMA page_size").Scan(&psize)
	t.Logf("db %d pages x %d = %.0f B/row", pages, psize, float64(pages*psize)/float64(len(rows)))
	r, _ := s.w.Query("SELECT name, count(*), sum(pgsize) FROM dbstat GROUP BY name")
	for r != nil && r.Next() {
		var n string
		var c, sz int
		r.Scan(&n, &c, &sz)
		t.Logf("%s %d pages %d bytes", n, c, sz)
	}
	s.Close()
}
