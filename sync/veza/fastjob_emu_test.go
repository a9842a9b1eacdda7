package veza_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/opsdeck/opsdeck/sync/emulator"
	"github.com/opsdeck/opsdeck/sync/veza"
)

// TestFastJobsOnEmulatorPages: the jobs pages the emulator serves (with
// payloads, plain and hostile) decode on the fast path, exactly as
// encoding/json decodes them. Plain pages must take the fast path: the
// sync's speed depends on it.
func TestFastJobsOnEmulatorPages(t *testing.T) {
	for _, hostile := range []bool{false, true} {
		em := emulator.New(emulator.Options{Seed: 3, Scale: 3000, Hostile: hostile})
		token, fast, pages := "", 0, 0
		for pages < 8 {
			q := "details=true&page_size=100&order_by=created_at+asc"
			if token != "" {
				q += "&page_token=" + token
			}
			req := httptest.NewRequest(http.MethodGet, "/api/private/lifecycle_management/action_job_events?"+q, nil)
			req.Header.Set("Authorization", "Bearer "+emulator.DefaultToken)
			rec := httptest.NewRecorder()
			em.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			body := rec.Body.Bytes()
			var want struct {
				Values        []veza.Record[veza.Job] `json:"values"`
				HasMore       bool                    `json:"has_more"`
				NextPageToken string                  `json:"next_page_token"`
			}
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatal(err)
			}
			pages++
			if got, ok := veza.FastJobPage(body); ok {
				fast++
				if got.HasMore != want.HasMore || got.NextPageToken != want.NextPageToken || len(got.Values) != len(want.Values) {
					t.Fatalf("hostile=%v page %d: envelope differs", hostile, pages)
				}
				for i := range got.Values {
					if string(got.Values[i].Raw) != string(want.Values[i].Raw) || !reflect.DeepEqual(got.Values[i].Value, want.Values[i].Value) {
						t.Fatalf("hostile=%v page %d value %d:\n got %+v\nwant %+v", hostile, pages, i, got.Values[i].Value, want.Values[i].Value)
					}
				}
			}
			if !want.HasMore {
				break
			}
			token = want.NextPageToken
		}
		t.Logf("hostile=%v: %d of %d pages on the fast path", hostile, fast, pages)
		if !hostile && fast != pages {
			t.Errorf("only %d of %d plain emulator pages took the fast path", fast, pages)
		}
	}
}
