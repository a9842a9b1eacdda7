package veza_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

func emulatorClient(t *testing.T, scale int) (*emulator.Server, *veza.Client) {
	t.Helper()
	em := emulator.New(emulator.Options{Seed: 5, Scale: scale})
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	c, err := veza.New(srv.URL, emulator.DefaultToken, veza.Options{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return em, c
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestExportRoundTrip(t *testing.T) {
	_, c := emulatorClient(t, 3000)
	ctx := context.Background()
	const flt = `state eq "ERRORED"`
	e, err := c.StartExport(ctx, "jobs", veza.ExportRequest{Filter: flt, OrderBy: "created_at desc"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Phase() != veza.ExportPending || e.ExportID == "" {
		t.Fatalf("started: %+v", e)
	}
	var seen []string
	done, err := c.WaitExport(ctx, e.ExportID, veza.WaitOptions{Sleep: noSleep, OnStatus: func(x veza.Export) { seen = append(seen, x.Status) }})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "PROCESSING,FINISHED" {
		t.Errorf("statuses seen: %v", seen)
	}
	var buf bytes.Buffer
	n, err := c.DownloadExport(ctx, done, &buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs)-1 != done.RowCount || done.RowCount == 0 {
		t.Fatalf("%d data rows, status says %d", len(recs)-1, done.RowCount)
	}
	// The same rows as the list endpoint, in the same order.
	var want []string
	p := veza.ListParams{Filter: flt, OrderBy: "created_at desc"}
	for {
		page, err := c.ListJobs(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Values {
			want = append(want, j.JobID)
		}
		if !page.HasMore {
			break
		}
		p.PageToken = page.NextPageToken
	}
	for i, id := range want {
		if recs[i+1][0] != id {
			t.Fatalf("row %d is %s, want %s", i+1, recs[i+1][0], id)
		}
	}
}

func TestExportFailed(t *testing.T) {
	em, c := emulatorClient(t, 3000)
	em.SetExportLimit(10)
	ctx := context.Background()
	e, err := c.StartExport(ctx, "tasks", veza.ExportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.WaitExport(ctx, e.ExportID, veza.WaitOptions{Sleep: noSleep})
	var fe *veza.ExportFailedError
	if !errors.As(err, &fe) || fe.Status != "FAILED" || !strings.Contains(fe.Message, "more than 10 tasks") {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), e.ExportID) {
		t.Errorf("error %q does not name the export", err)
	}
}

func TestExportBadFilter(t *testing.T) {
	_, c := emulatorClient(t, 1000)
	_, err := c.StartExport(context.Background(), "actions", veza.ExportRequest{Filter: `colour eq "red"`})
	var ae *veza.APIError
	if !errors.As(err, &ae) || ae.Status != 400 || ae.RequestID == "" || len(ae.Violations) == 0 || ae.Violations[0].Field != "body.filter" {
		t.Fatalf("err %#v", err)
	}
	if _, err := c.StartExport(context.Background(), "events", veza.ExportRequest{}); err == nil {
		t.Error("exporting an unknown entity should fail before sending")
	}
	if _, err := c.StartExport(context.Background(), "jobs", veza.ExportRequest{Format: "XLSX"}); err == nil {
		t.Error("an unknown format should fail before sending")
	}
}

func TestExportPhase(t *testing.T) {
	for status, want := range map[string]veza.ExportPhase{
		"CREATED": veza.ExportPending, "pending": veza.ExportPending,
		"PROCESSING": veza.ExportRunning, "RUNNING": veza.ExportRunning, "SOMETHING_NEW": veza.ExportRunning,
		"FINISHED": veza.ExportDone, "COMPLETED": veza.ExportDone, "succeeded": veza.ExportDone,
		"FAILED": veza.ExportFailed, "CANCELLED": veza.ExportFailed, "EXPIRED": veza.ExportFailed,
	} {
		if got := (veza.Export{Status: status}).Phase(); got != want {
			t.Errorf("%s: %v, want %v", status, got, want)
		}
	}
}

// A download_url on another host (a pre-signed storage URL) must not
// receive the API token; one on the tenant must.
func TestDownloadSendsTokenOnlyToTenant(t *testing.T) {
	var storageAuth, tenantAuth []string
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		storageAuth = append(storageAuth, r.Header.Get("Authorization"))
		w.Write([]byte("a,b\n1,2\n"))
	}))
	defer storage.Close()
	tenant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenantAuth = append(tenantAuth, r.Header.Get("Authorization"))
		w.Write([]byte("x\n"))
	}))
	defer tenant.Close()
	c, err := veza.New(tenant.URL+"/prefix", "tok-1234567890", veza.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var buf bytes.Buffer
	if _, err := c.DownloadExport(ctx, veza.Export{ExportID: "e", DownloadURL: storage.URL + "/bucket/e.csv?sig=abc"}, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "a,b\n1,2\n" || len(storageAuth) != 1 || storageAuth[0] != "" {
		t.Errorf("storage got %q with auth %q", buf.String(), storageAuth)
	}
	for _, u := range []string{tenant.URL + "/prefix/exports/e/download", "/exports/e/download"} {
		if _, err := c.DownloadExport(ctx, veza.Export{ExportID: "e", DownloadURL: u}, &buf); err != nil {
			t.Fatal(err)
		}
	}
	if len(tenantAuth) != 2 || tenantAuth[0] != "Bearer tok-1234567890" || tenantAuth[1] != tenantAuth[0] {
		t.Errorf("tenant auth %q", tenantAuth)
	}
	if _, err := c.DownloadExport(ctx, veza.Export{ExportID: "e", DownloadURL: "file:///etc/passwd"}, &buf); err == nil {
		t.Error("a file: URL was followed")
	}
}

func TestDownloadErrorCarriesEnvelope(t *testing.T) {
	em, c := emulatorClient(t, 1000)
	em.SetExportLimit(1)
	ctx := context.Background()
	e, err := c.StartExport(ctx, "jobs", veza.ExportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Not finished: the emulator refuses the download with 409.
	e.DownloadURL = "/api/private/lifecycle_management/exports/" + e.ExportID + "/download"
	_, err = c.DownloadExport(ctx, e, &bytes.Buffer{})
	var ae *veza.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "only a FINISHED export") || ae.RequestID == "" {
		t.Fatalf("err %v", err)
	}
}

// The write methods against the emulator's state rules.
func TestWritesAgainstEmulator(t *testing.T) {
	_, c := emulatorClient(t, 4000)
	ctx := context.Background()
	first := func(flt string) veza.Task {
		p, err := c.ListTasks(ctx, veza.ListParams{Filter: flt, PageSize: 100})
		for err == nil && len(p.Values) == 0 && p.HasMore {
			p, err = c.ListTasks(ctx, veza.ListParams{PageToken: p.NextPageToken})
		}
		if err != nil || len(p.Values) == 0 {
			t.Fatalf("no task for %s: %v", flt, err)
		}
		return p.Values[0]
	}
	errored := first(`state eq "ERRORED"`)
	task, err := c.Restart(ctx, errored.ID)
	if err != nil || task == nil || task.State != "RUNNING" || task.ID != errored.ID {
		t.Fatalf("restart: %+v %v", task, err)
	}
	_, err = c.Restart(ctx, errored.ID)
	var ae *veza.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.Contains(ae.Message, "only ERRORED or COMPLETED") || ae.RequestID == "" {
		t.Fatalf("second restart: %v", err)
	}
	if !strings.Contains(err.Error(), "request_id "+ae.RequestID) {
		t.Errorf("error text %q lacks the request id", err)
	}
	blocked := first(`state eq "BLOCKED"`)
	if err := c.Unblock(ctx, []string{blocked.ID}, "ABANDON"); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetTask(ctx, blocked.ID); err != nil || got.Value.State != "ABANDONED" {
		t.Fatalf("after ABANDON: %+v %v", got.Value.State, err)
	}
	if err := c.Unblock(ctx, []string{blocked.ID}, "RUN"); !veza.IsStatus(err, http.StatusConflict) {
		t.Fatalf("unblocking an abandoned task: %v", err)
	}
	// Push: a SYNC_IDENTITIES job is not webhook-based.
	jobs, err := c.ListJobs(ctx, veza.ListParams{Filter: `action_type eq "SYNC_IDENTITIES"`, PageSize: 1})
	if err != nil || len(jobs.Values) == 0 {
		t.Fatalf("no job: %v", err)
	}
	err = c.PushResult(ctx, jobs.Values[0].JobID, veza.PushBody{ActionType: "SYNC_IDENTITIES"})
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "webhook") {
		t.Fatalf("push to a non-webhook job: %v", err)
	}
}
