package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// checkpointer copies committed WAL frames back into the database file on
// its own connection, so the writer never waits for a checkpoint: with
// synchronous=NORMAL a checkpoint is also where SQLite fsyncs, and doing it
// inline cost the ingest ~20% of its wall time (measured against
// synchronous=OFF). PASSIVE checkpoints never block the writer or readers.
//
// A sustained ingest keeps appending while a checkpoint runs, so the WAL only
// restarts when the writer's own wal_autocheckpoint backstop fires; by then
// almost everything is already copied and that inline checkpoint is short.
type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// checkpointEvery spaces checkpoints during a sustained ingest: each one
// writes every page dirtied since the last, so waiting lets hot index pages
// be written once for many transactions.
const checkpointEvery = 250 * time.Millisecond

func startCheckpointer(path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, "",
		"busy_timeout("+fmt.Sprint(busyTimeoutMS)+")",
		"synchronous(NORMAL)",
		"cache_size(-2048)",
	))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

// poke tells the checkpointer that a transaction committed. It never blocks.
func (c *checkpointer) poke() {
	if c == nil {
		return
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		// Errors (SQLITE_BUSY while another process checkpoints, say) are
		// not worth reporting: the next poke retries and the writer's
		// autocheckpoint is the backstop.
		_, _ = c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
		select {
		case <-c.stop:
			return
		case <-time.After(checkpointEvery):
		}
	}
}

func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}
