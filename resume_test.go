package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opsdeck/opsdeck/store"
	opsync "github.com/opsdeck/opsdeck/sync"
	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// startEmulatorProcess runs `opsdeck emulator` and returns its URL.
func startEmulatorProcess(t *testing.T, bin string, args ...string) string {
	t.Helper()
	em := exec.Command(bin, append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := em.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Process.Kill(); em.Wait() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "VEZA_URL="); ok {
			go io.Copy(io.Discard, stdout)
			return v
		}
	}
	t.Fatalf("emulator banner: %v", sc.Err())
	return ""
}

// syncProcess starts `opsdeck sync` on cache and delivers its progress
// lines on a channel, closed when the process has exited (err then holds
// its exit error).
type syncProcess struct {
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
	err   error
}

func startSync(t *testing.T, bin, url, cache string, extra ...string) *syncProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"sync", "--plain", "--cache", cache}, extra...)...)
	cmd.Env = append(os.Environ(), "VEZA_URL="+url, "VEZA_TOKEN="+emuToken, "XDG_CONFIG_HOME="+t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &syncProcess{cmd: cmd, lines: make(chan string, 1<<16), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		p.err = cmd.Wait()
		close(p.lines)
		close(p.done)
	}()
	return p
}

// tableSums hashes every column but rowid and synced_at (local
// bookkeeping) of the LCM tables, in key order, and counts the rows.
func tableSums(t *testing.T, path string) map[string]string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string]string{}
	for table, order := range map[string]string{"jobs": "job_id", "actions": "policy_task, action_name", "tasks": "id"} {
		rows, err := db.Query(fmt.Sprintf("SELECT * FROM %s ORDER BY %s", table, order))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		h := sha256.New()
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, c := range cols {
				if c != "rowid" && c != "synced_at" {
					fmt.Fprintf(h, "%s=%v\x00", c, vals[i])
				}
			}
			n++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		out[table] = fmt.Sprintf("%d rows, sha256 %s", n, hex.EncodeToString(h.Sum(nil))[:16])
	}
	return out
}

// TestSyncResumesAfterKill9 kills `opsdeck sync` with SIGKILL at random
// pages, several times, then lets a last sync finish: the cache must hold
// exactly the emulator's tasks, actions and jobs (counts and every column),
// as a sync that was never interrupted does.
func TestSyncResumesAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes during a 50k-job sync; skipped in -short")
	}
	const scale, seed = 50000, 7
	bin := buildBinary(t)
	url := startEmulatorProcess(t, bin, "--scale", fmt.Sprint(scale), "--seed", fmt.Sprint(seed), "--token", emuToken)
	cache := filepath.Join(t.TempDir(), "c.db")
	sources := []string{"--sources", "jobs,actions,tasks"}

	rng := rand.New(rand.NewPCG(2026, 3))
	kills := 0
	for round := 0; round < 6 && kills < 4; round++ {
		p := startSync(t, bin, url, cache, sources...)
		target := 1 + rng.IntN(400) // progress lines before the kill: 4 kills reach into actions and tasks
		seen := 0
		for l := range p.lines {
			if !strings.Contains(l, ": page ") {
				continue
			}
			if seen++; seen == target {
				p.cmd.Process.Kill() // SIGKILL: no chance to clean up
				kills++
				break
			}
		}
		for range p.lines { // drain until exit
		}
		<-p.done
		t.Logf("round %d: %d progress lines, killed=%v", round, seen, seen == target)
		if seen < target {
			break // it finished first: the sync is complete
		}
	}
	if kills == 0 {
		t.Fatal("no sync was ever killed: the test proved nothing")
	}
	final := startSync(t, bin, url, cache, sources...)
	var out []string
	for l := range final.lines {
		out = append(out, l)
	}
	<-final.done
	if final.err != nil {
		t.Fatalf("final sync: %v\n%s", final.err, strings.Join(out, "\n"))
	}

	// The same data set in-process: its counts, and a sync that was never
	// interrupted as the reference for every column.
	emu := emulator.New(emulator.Options{Seed: seed, Scale: scale, Token: emuToken, Now: emulator.DefaultNow})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	refPath := filepath.Join(t.TempDir(), "ref.db")
	ref, err := store.Open(refPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := veza.New(srv.URL, emuToken, veza.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := opsync.New(ref, c, opsync.Options{Sources: []string{"jobs", "actions", "tasks"}}).Run(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ref.Close()

	tasks, actions, jobs := emu.Counts()
	st, err := store.OpenReadOnly(cache)
	if err != nil {
		t.Fatal(err)
	}
	for ent, want := range map[string]int{"tasks": tasks, "actions": actions, "jobs": jobs} {
		n, err := st.Count(context.Background(), ent, nil)
		if err != nil || n != want {
			t.Errorf("%s: cache has %d, emulator %d (%v)", ent, n, want, err)
		}
	}
	got, _ := st.StateCounts(context.Background(), store.EntityJobs)
	if fmt.Sprint(got) != fmt.Sprint(emu.StateCounts()) {
		t.Errorf("job states: cache %v, emulator %v", got, emu.StateCounts())
	}
	st.Close()
	gotSums, wantSums := tableSums(t, cache), tableSums(t, refPath)
	if fmt.Sprint(gotSums) != fmt.Sprint(wantSums) {
		t.Fatalf("content differs from an uninterrupted sync:\n got %v\nwant %v", gotSums, wantSums)
	}
	t.Logf("after %d kills: %v", kills, gotSums)
}

// TestTwoProcessesShareACache runs two `opsdeck sync` processes on one
// cache at once while this process writes marks to it and reads it: nobody may
// fail with "database is locked".
func TestTwoProcessesShareACache(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs processes; skipped in -short")
	}
	bin := buildBinary(t)
	emu, url := emuServer(t, 4000, nil)
	cache := filepath.Join(t.TempDir(), "shared.db")
	a := startSync(t, bin, url, cache)
	b := startSync(t, bin, url, cache)

	st, err := store.Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	var outs []string
	writes := 0
	// One write and one read per progress line of either process: a third
	// writer, paced by the other two.
	pump := func(p *syncProcess, wg *sync.WaitGroup) {
		defer wg.Done()
		for l := range p.lines {
			mu.Lock()
			outs = append(outs, l)
			// A triage mark, as the TUI writes one while a sync runs.
			if err := st.Ack(context.Background(), "jobs", fmt.Sprintf("job-%d", writes), "seen"); err != nil {
				t.Errorf("this process's write failed: %v", err)
			}
			if _, err := st.Count(context.Background(), store.EntityJobs, nil); err != nil {
				t.Errorf("this process's read failed: %v", err)
			}
			writes++
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go pump(a, &wg)
	go pump(b, &wg)
	wg.Wait()
	<-a.done
	<-b.done
	all := strings.Join(outs, "\n")
	if a.err != nil || b.err != nil {
		t.Fatalf("sync exit: %v / %v\n%s", a.err, b.err, all)
	}
	if strings.Contains(all, "locked") || strings.Contains(all, "SQLITE_BUSY") {
		t.Fatalf("lock error:\n%s", all)
	}
	if writes == 0 {
		t.Fatal("no concurrent writes happened")
	}
	_, _, jobs := emu.Counts()
	if n, err := st.Count(context.Background(), store.EntityJobs, nil); err != nil || n != jobs {
		t.Fatalf("jobs %d, want %d (%v)", n, jobs, err)
	}
}
